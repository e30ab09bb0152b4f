// RecordToJsonLine against protobuf's own JSON printer: the hand-written
// printer must give lines that ParseRecordLine reads back to the same record,
// and, wherever protobuf's output is deterministic, the same bytes.
#include "server/audit/audit_chain.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace chainverify::audit {
namespace {

std::string ProtobufJson(const v1::AuditRecord& record) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  std::string json;
  EXPECT_TRUE(google::protobuf::util::MessageToJsonString(record, &json, options).ok());
  return json;
}

void ExpectRoundTrip(const v1::AuditRecord& record) {
  const std::string line = RecordToJsonLine(record);
  absl::StatusOr<v1::AuditRecord> parsed = ParseRecordLine(line);
  ASSERT_TRUE(parsed.ok()) << parsed.status() << "\n" << line;
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(*parsed, record))
      << line << "\n" << parsed->DebugString() << "\nwant\n" << record.DebugString();
}

// Every field set (one label, so protobuf's map order cannot differ).
v1::AuditRecord FullRecord() {
  v1::AuditRecord r;
  r.set_sequence(18446744073709551615u);
  r.set_previous_record_sha256(std::string(64, 'a'));
  r.set_decision_id("0123456789abcdef0123456789abcdef");
  r.mutable_time()->set_seconds(1700000000);
  r.mutable_time()->set_nanos(123456789);
  r.set_caller("spiffe://fleet/ns/web/sa/api");
  r.set_request_id("req-1");
  (*r.mutable_labels())["team"] = "payments";
  r.add_uploaded_certificate_sha256(std::string(64, 'b'));
  r.add_uploaded_certificate_sha256(std::string(64, 'c'));
  r.set_peer_name("service.example.com");
  r.set_usage(v1::CLIENT_AUTH);
  r.set_policy_name("default");
  r.set_policy_version("v7");
  r.set_verdict(v1::TRUSTED);
  r.set_status(v1::OK);
  r.add_errors("EXPIRED@0");
  r.add_chain_sha256(std::string(64, 'd'));
  r.add_chain_spki_sha256("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
  r.set_duration_micros(-5);
  r.mutable_evaluated_at()->set_seconds(1700000001);
  r.add_revocation("GOOD@0 ocsp");
  r.set_denied_reason("caller \"x\" is not granted policy \"y\"");
  r.set_lineage("4f1c2a9e-7b3d-4e8f-9a10-2b3c4d5e6f70");
  r.set_instance("chainverify-0");
  r.add_issuer_fetches("FETCHED http://ca.example/int.der");
  r.add_fetched_certificate_sha256(std::string(64, 'e'));
  return r;
}

TEST(RecordToJsonLineTest, CoversEveryField) {
  // A new AuditRecord field needs a line in RecordToJsonLine (and FullRecord).
  EXPECT_EQ(v1::AuditRecord::descriptor()->field_count(), 25);
  const v1::AuditRecord record = FullRecord();
  for (int i = 0; i < v1::AuditRecord::descriptor()->field_count(); ++i) {
    const auto* field = v1::AuditRecord::descriptor()->field(i);
    EXPECT_TRUE(field->is_repeated()
                    ? record.GetReflection()->FieldSize(record, field) > 0
                    : record.GetReflection()->HasField(record, field))
        << field->name() << " is not set in FullRecord";
  }
  EXPECT_EQ(RecordToJsonLine(record), ProtobufJson(record));
  ExpectRoundTrip(record);
}

// The writer chains lines rendered ahead of time: the same bytes as rendering
// the chained record whole.
TEST(RecordToJsonLineTest, ChainedLineEqualsTheWholeRecordsLine) {
  v1::AuditRecord whole = FullRecord();
  v1::AuditRecord body = whole;
  body.clear_sequence();
  body.clear_previous_record_sha256();
  EXPECT_EQ(ChainedRecordLine(whole.sequence(), whole.previous_record_sha256(),
                              RecordToJsonLine(body)),
            RecordToJsonLine(whole));
  // A record with nothing else set.
  v1::AuditRecord bare;
  bare.set_sequence(7);
  bare.set_previous_record_sha256(std::string(64, '0'));
  EXPECT_EQ(ChainedRecordLine(7, std::string(64, '0'), RecordToJsonLine(v1::AuditRecord())),
            RecordToJsonLine(bare));
  ExpectRoundTrip(bare);
}

TEST(RecordToJsonLineTest, EmptyRecordAndDefaults) {
  v1::AuditRecord r;
  EXPECT_EQ(RecordToJsonLine(r), ProtobufJson(r));
  r.mutable_time();  // Set but zero: still printed.
  EXPECT_EQ(RecordToJsonLine(r), ProtobufJson(r));
  ExpectRoundTrip(r);
}

TEST(RecordToJsonLineTest, EscapesEveryAsciiCharacterAsProtobufDoes) {
  std::string all;
  for (int c = 1; c < 128; ++c) all.push_back(static_cast<char>(c));
  v1::AuditRecord r;
  r.set_request_id(all);
  r.set_peer_name(std::string("nul\0inside", 10));
  EXPECT_EQ(RecordToJsonLine(r), ProtobufJson(r));
  ExpectRoundTrip(r);
}

TEST(RecordToJsonLineTest, KeepsUnicodeAsProtobufDoes) {
  v1::AuditRecord r;
  r.set_request_id("caf\xC3\xA9 \xE4\xB8\xAD \xF0\x9F\x94\x92 \xE2\x80\xA8 \xE2\x80\xA9 \xEF\xBF\xBF");
  EXPECT_EQ(RecordToJsonLine(r), ProtobufJson(r));
  ExpectRoundTrip(r);
}

TEST(RecordToJsonLineTest, InvalidUtf8BecomesReplacementCharacters) {
  v1::AuditRecord r;
  r.set_request_id("a\xFF" "b\xC3" "c\xED\xA0\x80" "d");  // Stray, truncated, surrogate.
  const std::string line = RecordToJsonLine(r);
  absl::StatusOr<v1::AuditRecord> parsed = ParseRecordLine(line);
  ASSERT_TRUE(parsed.ok()) << parsed.status() << "\n" << line;
  EXPECT_EQ(parsed->request_id(),
            "a\xEF\xBF\xBD" "b\xEF\xBF\xBD" "c\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD" "d");
}

TEST(RecordToJsonLineTest, TimestampFractionsAndUnknownEnums) {
  for (int nanos : {0, 1, 1000, 1000000, 500000000, 120000, 999999999}) {
    v1::AuditRecord r;
    r.mutable_time()->set_seconds(1);
    r.mutable_time()->set_nanos(nanos);
    r.mutable_evaluated_at()->set_seconds(253402300799);  // 9999-12-31T23:59:59Z
    EXPECT_EQ(RecordToJsonLine(r), ProtobufJson(r)) << nanos;
    ExpectRoundTrip(r);
  }
  // Years of fewer than four digits are zero-padded, as protobuf prints them;
  // and leap days.
  for (int64_t seconds : {int64_t{-62135596800} /* 0001-01-01 */, int64_t{-30610224001},
                          int64_t{-30610224000} /* 1000-01-01 */, int64_t{951782400},
                          int64_t{1709164800} /* 2024-02-29 */}) {
    v1::AuditRecord r;
    r.mutable_time()->set_seconds(seconds);
    EXPECT_EQ(RecordToJsonLine(r), ProtobufJson(r)) << seconds;
    ExpectRoundTrip(r);
  }
  v1::AuditRecord r;
  r.set_verdict(static_cast<v1::Verdict>(77));
  r.set_status(static_cast<v1::Status>(-3));
  EXPECT_EQ(RecordToJsonLine(r), ProtobufJson(r));
  ExpectRoundTrip(r);
}

TEST(RecordToJsonLineTest, LabelsAreSortedAndRoundTrip) {
  v1::AuditRecord r;
  for (int i = 0; i < 16; ++i) (*r.mutable_labels())[absl::StrCat("k", 15 - i)] = "v";
  const std::string line = RecordToJsonLine(r);
  EXPECT_LT(line.find("\"k0\""), line.find("\"k1\""));
  EXPECT_LT(line.find("\"k1\""), line.find("\"k15\""));
  ExpectRoundTrip(r);
}

}  // namespace
}  // namespace chainverify::audit
