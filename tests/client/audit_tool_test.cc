#include "client/audit_tool.h"

#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "gtest/gtest.h"

namespace chainverify::client {
namespace {

const std::string kSha(32, '\xab');   // A certificate's SHA-256.
const std::string kSpki(32, '\x01');  // A chain certificate's SPKI SHA-256.

v1::AuditRecord Record() {
  v1::AuditRecord record;
  record.set_peer_name("Service.Example.com");
  record.set_verdict(v1::TRUSTED);
  record.set_status(v1::OK);
  record.mutable_time()->set_seconds(1714564800);  // 2024-05-01T12:00:00Z
  record.add_uploaded_certificate_sha256(std::string(64, 'c'));
  record.add_chain_sha256(absl::BytesToHexString(kSha));
  record.add_chain_spki_sha256(absl::Base64Escape(kSpki));
  return record;
}

TEST(AuditToolTest, FingerprintForms) {
  const std::string hex = absl::BytesToHexString(kSha);
  EXPECT_EQ(*ParseFingerprint(hex), kSha);
  EXPECT_EQ(*ParseFingerprint(absl::AsciiStrToUpper(hex)), kSha);
  std::string colons;
  for (size_t i = 0; i < hex.size(); i += 2) {
    if (i > 0) colons += ':';
    colons += hex.substr(i, 2);
  }
  EXPECT_EQ(*ParseFingerprint(colons), kSha);  // openssl x509 -fingerprint
  EXPECT_EQ(*ParseFingerprint(absl::Base64Escape(kSpki)), kSpki);
  EXPECT_EQ(*ParseFingerprint("pin-sha256=\"" + absl::Base64Escape(kSpki) + "\""), kSpki);
  EXPECT_EQ(*ParseFingerprint("sha256/" + absl::WebSafeBase64Escape(kSpki)), kSpki);
  EXPECT_FALSE(ParseFingerprint("abcd").ok());
  EXPECT_FALSE(ParseFingerprint(std::string(64, 'g')).ok());
}

TEST(AuditToolTest, EmptyFilterMatchesEverything) { EXPECT_TRUE(Matches(AuditFilter(), Record())); }

TEST(AuditToolTest, FilterFields) {
  AuditFilter filter;
  filter.verdict = v1::TRUSTED;
  filter.status = v1::OK;
  filter.peer_name = "service.example.com";
  filter.since = absl::FromUnixSeconds(1714564800);
  filter.until = absl::FromUnixSeconds(1714564801);
  EXPECT_TRUE(Matches(filter, Record()));

  AuditFilter rejected = filter;
  rejected.verdict = v1::REJECTED;
  EXPECT_FALSE(Matches(rejected, Record()));
  AuditFilter expired = filter;
  expired.status = v1::EXPIRED;
  EXPECT_FALSE(Matches(expired, Record()));
  AuditFilter other_peer = filter;
  other_peer.peer_name = "other.example.com";
  EXPECT_FALSE(Matches(other_peer, Record()));
  AuditFilter later = filter;
  later.since = absl::FromUnixSeconds(1714564801);
  EXPECT_FALSE(Matches(later, Record()));
  AuditFilter earlier = filter;
  earlier.until = absl::FromUnixSeconds(1714564800);  // Exclusive.
  EXPECT_FALSE(Matches(earlier, Record()));
}

TEST(AuditToolTest, FingerprintMatchesUploadsChainAndSpki) {
  AuditFilter filter;
  filter.fingerprint = kSha;
  EXPECT_TRUE(Matches(filter, Record()));
  filter.fingerprint = kSpki;
  EXPECT_TRUE(Matches(filter, Record()));
  filter.fingerprint = std::string(32, '\xcc');  // The upload's "cccc..." hex.
  EXPECT_TRUE(Matches(filter, Record()));
  filter.fingerprint = std::string(32, '\x02');
  EXPECT_FALSE(Matches(filter, Record()));
}

TEST(AuditToolTest, FilterFromFlags) {
  absl::FlagSaver saver;
  absl::CommandLineFlag* verdict = absl::FindCommandLineFlag("verdict");
  absl::CommandLineFlag* status = absl::FindCommandLineFlag("status");
  absl::CommandLineFlag* since = absl::FindCommandLineFlag("since");
  ASSERT_NE(verdict, nullptr);
  std::string error;
  ASSERT_TRUE(verdict->ParseFrom("trusted", &error));
  ASSERT_TRUE(status->ParseFrom("NAME_MISMATCH", &error));
  ASSERT_TRUE(since->ParseFrom("2024-05-01T00:00:00Z", &error));
  absl::StatusOr<AuditFilter> filter = AuditFilterFromFlags();
  ASSERT_TRUE(filter.ok()) << filter.status();
  EXPECT_EQ(filter->verdict, v1::TRUSTED);
  EXPECT_EQ(filter->status, v1::NAME_MISMATCH);
  EXPECT_EQ(filter->since, absl::FromUnixSeconds(1714521600));

  ASSERT_TRUE(verdict->ParseFrom("MAYBE", &error));
  EXPECT_FALSE(AuditFilterFromFlags().ok());
  ASSERT_TRUE(verdict->ParseFrom("", &error));
  ASSERT_TRUE(status->ParseFrom("SOMETIMES", &error));
  EXPECT_FALSE(AuditFilterFromFlags().ok());
  ASSERT_TRUE(status->ParseFrom("", &error));
  ASSERT_TRUE(since->ParseFrom("yesterday", &error));
  EXPECT_FALSE(AuditFilterFromFlags().ok());
}

}  // namespace
}  // namespace chainverify::client
