#include "server/audit/audit_chain.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/util/json_util.h"
#include "server/pki/openssl_util.h"

namespace chainverify::audit {

namespace {

// Length of the well-formed UTF-8 sequence at text[i] (RFC 3629 section 4),
// or 0 when it is not one.
size_t Utf8SequenceLength(absl::string_view text, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char c = byte(i);
  size_t length;
  unsigned char low = 0x80, high = 0xBF;  // Bounds of the second byte.
  if (c >= 0xC2 && c <= 0xDF) {
    length = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    length = 3;
    if (c == 0xE0) low = 0xA0;   // No overlong forms.
    if (c == 0xED) high = 0x9F;  // No surrogates.
  } else if (c >= 0xF0 && c <= 0xF4) {
    length = 4;
    if (c == 0xF0) low = 0x90;
    if (c == 0xF4) high = 0x8F;  // Not past U+10FFFF.
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  if (byte(i + 1) < low || byte(i + 1) > high) return 0;
  for (size_t k = 2; k < length; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
  }
  return length;
}

// A JSON string (RFC 8259 section 7) escaped as protobuf's JSON printer
// escapes it, so lines keep the form they had; a byte that is not UTF-8
// becomes U+FFFD.
void AppendString(absl::string_view text, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      const size_t length = Utf8SequenceLength(text, i);
      if (length == 0) {
        out->append("\\ufffd");
        ++i;
        continue;
      }
      // U+2028 and U+2029 end lines in JavaScript.
      if (length == 3 && c == 0xE2 && static_cast<unsigned char>(text[i + 1]) == 0x80 &&
          (static_cast<unsigned char>(text[i + 2]) & 0xFE) == 0xA8) {
        out->append(static_cast<unsigned char>(text[i + 2]) == 0xA8 ? "\\u2028" : "\\u2029");
      } else {
        out->append(text.data() + i, length);
      }
      i += length;
      continue;
    }
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      case '<':
      case '>':
      case 0x7F:
        out->append("\\u00");
        out->push_back(kHex[c >> 4]);
        out->push_back(kHex[c & 0xF]);
        break;
      default:
        if (c < 0x20) {
          out->append("\\u00");
          out->push_back(kHex[c >> 4]);
          out->push_back(kHex[c & 0xF]);
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
    ++i;
  }
  out->push_back('"');
}

// Writes `"name":` preceded by a comma unless it is the first field.
void AppendName(const char* name, std::string* out) {
  if (out->size() > 1) out->push_back(',');
  out->push_back('"');
  out->append(name);
  out->append("\":");
}

void AppendStringField(const char* name, const std::string& value, std::string* out) {
  if (value.empty()) return;  // proto3 JSON omits default values.
  AppendName(name, out);
  AppendString(value, out);
}

void AppendRepeated(const char* name,
                    const google::protobuf::RepeatedPtrField<std::string>& values,
                    std::string* out) {
  if (values.empty()) return;
  AppendName(name, out);
  out->push_back('[');
  for (int i = 0; i < values.size(); ++i) {
    if (i > 0) out->push_back(',');
    AppendString(values.Get(i), out);
  }
  out->push_back(']');
}

// 64-bit integers are JSON strings in the protobuf mapping.
template <typename Int>
void AppendInt64Field(const char* name, Int value, std::string* out) {
  if (value == 0) return;
  AppendName(name, out);
  absl::StrAppend(out, "\"", value, "\"");
}

// An enum by its name; a value the schema does not name, by its number.
void AppendEnumField(const char* name, int value, const std::string& value_name,
                     std::string* out) {
  if (value == 0) return;
  AppendName(name, out);
  if (value_name.empty()) {
    absl::StrAppend(out, value);
  } else {
    AppendString(value_name, out);
  }
}

// RFC 3339 in UTC with 0, 3, 6 or 9 fractional digits, as protobuf prints
// google.protobuf.Timestamp.
void AppendTimestampField(const char* name, const google::protobuf::Timestamp& ts,
                          std::string* out) {
  AppendName(name, out);
  out->push_back('"');
  out->append(absl::FormatTime("%Y-%m-%dT%H:%M:%S", absl::FromUnixSeconds(ts.seconds()),
                               absl::UTCTimeZone()));
  const int32_t nanos = ts.nanos();
  if (nanos != 0) {
    char digits[16];
    if (nanos % 1000000 == 0) {
      std::snprintf(digits, sizeof(digits), ".%03d", nanos / 1000000);
    } else if (nanos % 1000 == 0) {
      std::snprintf(digits, sizeof(digits), ".%06d", nanos / 1000);
    } else {
      std::snprintf(digits, sizeof(digits), ".%09d", nanos);
    }
    out->append(digits);
  }
  out->append("Z\"");
}

}  // namespace

// By hand, field by field in field-number order, because protobuf's
// reflective JSON printer was the largest single cost of a warm request
// (about a sixth of the server's CPU in //bench:service). The output is the
// protobuf JSON mapping with preserve_proto_field_names, which is what
// ParseRecordLine reads; tests/server/audit/audit_chain_test.cc compares the
// two printers. A field added to AuditRecord must be added here too (that
// test fails until it is).
std::string RecordToJsonLine(const v1::AuditRecord& r) {
  std::string out;
  out.reserve(1024);
  out.push_back('{');
  AppendInt64Field("sequence", r.sequence(), &out);
  AppendStringField("previous_record_sha256", r.previous_record_sha256(), &out);
  AppendStringField("decision_id", r.decision_id(), &out);
  if (r.has_time()) AppendTimestampField("time", r.time(), &out);
  AppendStringField("caller", r.caller(), &out);
  AppendStringField("request_id", r.request_id(), &out);
  if (!r.labels().empty()) {
    // Sorted, so that a record always gives the same line.
    std::vector<std::pair<absl::string_view, absl::string_view>> labels(r.labels().begin(),
                                                                        r.labels().end());
    std::sort(labels.begin(), labels.end());
    AppendName("labels", &out);
    out.push_back('{');
    for (size_t i = 0; i < labels.size(); ++i) {
      if (i > 0) out.push_back(',');
      AppendString(labels[i].first, &out);
      out.push_back(':');
      AppendString(labels[i].second, &out);
    }
    out.push_back('}');
  }
  AppendRepeated("uploaded_certificate_sha256", r.uploaded_certificate_sha256(), &out);
  AppendStringField("peer_name", r.peer_name(), &out);
  AppendEnumField("usage", r.usage(), v1::Usage_Name(r.usage()), &out);
  AppendStringField("policy_name", r.policy_name(), &out);
  AppendStringField("policy_version", r.policy_version(), &out);
  AppendEnumField("verdict", r.verdict(), v1::Verdict_Name(r.verdict()), &out);
  AppendEnumField("status", r.status(), v1::Status_Name(r.status()), &out);
  AppendRepeated("errors", r.errors(), &out);
  AppendRepeated("chain_sha256", r.chain_sha256(), &out);
  AppendRepeated("chain_spki_sha256", r.chain_spki_sha256(), &out);
  AppendInt64Field("duration_micros", r.duration_micros(), &out);
  if (r.has_evaluated_at()) AppendTimestampField("evaluated_at", r.evaluated_at(), &out);
  AppendRepeated("revocation", r.revocation(), &out);
  AppendStringField("denied_reason", r.denied_reason(), &out);
  AppendRepeated("issuer_fetches", r.issuer_fetches(), &out);
  AppendRepeated("fetched_certificate_sha256", r.fetched_certificate_sha256(), &out);
  out.push_back('}');
  return out;
}

absl::StatusOr<v1::AuditRecord> ParseRecordLine(absl::string_view line) {
  v1::AuditRecord record;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  const auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(line.data(), line.size()), &record, options);
  if (!status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("not an AuditRecord: ", std::string(status.message())));
  }
  return record;
}

std::string LineSha256(absl::string_view line) { return pki::HexEncode(pki::Sha256(line)); }

absl::StatusOr<AuditFileReader> AuditFileReader::Open(const std::string& path) {
  AuditFileReader reader;
  reader.in_ = std::make_unique<std::ifstream>(path, std::ios::binary);
  if (!reader.in_->is_open()) {
    return absl::NotFoundError(absl::StrCat("cannot read ", path, ": ", std::strerror(errno)));
  }
  return reader;
}

bool AuditFileReader::Next(std::string* line) {
  if (!std::getline(*in_, *line)) return false;
  if (in_->eof()) {
    // getline hit the end before a '\n': an incomplete final line.
    torn_ = true;
    return false;
  }
  ++line_number_;
  return true;
}

bool AuditFileReader::failed() const { return in_->bad(); }

namespace {

// Where a file belongs in the chain: the sequence its first line should
// have, or nullopt when no line of it parses.
absl::StatusOr<std::optional<uint64_t>> FirstSequence(const std::string& path) {
  absl::StatusOr<AuditFileReader> reader = AuditFileReader::Open(path);
  if (!reader.ok()) return reader.status();
  std::string line;
  while (reader->Next(&line)) {
    absl::StatusOr<v1::AuditRecord> record = ParseRecordLine(line);
    if (record.ok() && record->sequence() >= reader->line_number()) {
      return record->sequence() - (reader->line_number() - 1);
    }
  }
  if (reader->failed()) return absl::DataLossError(absl::StrCat("cannot read ", path));
  return std::optional<uint64_t>();
}

std::string Where(const std::string& file, uint64_t line) { return absl::StrCat(file, ":", line); }

}  // namespace

absl::StatusOr<std::vector<std::string>> OrderAuditFiles(const std::vector<std::string>& paths) {
  struct Keyed {
    std::optional<uint64_t> first;
    size_t given;
    std::string path;
  };
  std::vector<Keyed> files;
  std::set<std::string> seen;
  for (const std::string& path : paths) {
    if (!seen.insert(path).second) continue;
    absl::StatusOr<std::optional<uint64_t>> first = FirstSequence(path);
    if (!first.ok()) return first.status();
    files.push_back({*first, files.size(), path});
  }
  std::stable_sort(files.begin(), files.end(), [](const Keyed& a, const Keyed& b) {
    if (a.first.has_value() != b.first.has_value()) return a.first.has_value();
    return a.first.has_value() && *a.first < *b.first;
  });
  std::vector<std::string> ordered;
  for (Keyed& f : files) ordered.push_back(std::move(f.path));
  return ordered;
}

std::string ChainReport::ToString() const {
  std::string text;
  if (broken.has_value()) {
    absl::StrAppend(&text, "audit chain BROKEN at ", Where(broken->file, broken->line),
                    " (sequence ", broken->sequence, "): ", broken->problem, "\n");
    absl::StrAppend(&text, "  ", records, " record(s) before it verified\n");
  } else if (records == 0) {
    absl::StrAppend(&text, "audit chain intact: no records\n");
  } else {
    absl::StrAppend(&text, "audit chain intact: ", records, " record(s) in ", files.size(),
                    " file(s), sequences ", first_sequence, " to ", last_sequence, "\n");
  }
  for (const std::string& note : notes) absl::StrAppend(&text, "  note: ", note, "\n");
  if (files.size() > 1) {
    absl::StrAppend(&text, "  files, oldest first: ", absl::StrJoin(files, ", "), "\n");
  }
  return text;
}

absl::StatusOr<ChainReport> VerifyAuditChain(const std::vector<std::string>& paths,
                                             const ChainCheckOptions& options) {
  ChainReport report;
  absl::StatusOr<std::vector<std::string>> ordered = OrderAuditFiles(paths);
  if (!ordered.ok()) return ordered.status();
  report.files = *ordered;

  // The last record accepted, to check the next one against.
  bool have_previous = false;
  std::string previous_line;
  std::string previous_file;
  uint64_t previous_line_number = 0;
  uint64_t previous_sequence = 0;

  for (size_t f = 0; f < report.files.size(); ++f) {
    const std::string& file = report.files[f];
    absl::StatusOr<AuditFileReader> reader = AuditFileReader::Open(file);
    if (!reader.ok()) return reader.status();
    auto fail = [&](const std::string& where_file, uint64_t line, uint64_t sequence,
                    std::string problem) {
      report.broken = ChainBreak{where_file, line, sequence, std::move(problem)};
      return report;
    };
    std::string line;
    while (reader->Next(&line)) {
      const uint64_t n = reader->line_number();
      const uint64_t expected = have_previous ? previous_sequence + 1 : 0;
      absl::StatusOr<v1::AuditRecord> record = ParseRecordLine(line);
      if (!record.ok()) {
        return fail(
            file, n, expected,
            line.empty() ? std::string("empty line") : std::string(record.status().message()));
      }
      const uint64_t sequence = record->sequence();
      const std::string& claimed = record->previous_record_sha256();
      if (!have_previous) {
        if (claimed == kGenesisHash) {
          if (sequence != 1) {
            return fail(file, n, sequence,
                        absl::StrCat("genesis previous_record_sha256 on sequence ", sequence,
                                     " (only sequence 1 may have it)"));
          }
        } else if (sequence <= 1) {
          return fail(file, n, sequence,
                      absl::StrCat("sequence ", sequence,
                                   " must carry the genesis previous_record_sha256"));
        } else {
          std::string note =
              absl::StrCat("chain starts at sequence ", sequence, " (earlier files missing)");
          if (options.require_genesis) {
            return fail(file, n, sequence, absl::StrCat(note, "; --require_genesis was given"));
          }
          report.notes.push_back(std::move(note));
        }
        report.first_sequence = sequence;
      } else if (sequence != expected) {
        if (sequence > expected) {
          return fail(file, n, sequence,
                      absl::StrCat("sequence jumps from ", previous_sequence, " (",
                                   Where(previous_file, previous_line_number), ") to ", sequence,
                                   ": ", sequence - expected, " record(s) missing"));
        }
        return fail(file, n, sequence,
                    absl::StrCat("sequence ", sequence, " follows sequence ", previous_sequence,
                                 " (", Where(previous_file, previous_line_number),
                                 "): repeated or out of order"));
      } else if (claimed != LineSha256(previous_line)) {
        // The previous line no longer hashes to what this record says it
        // was: it was altered after being written (or this hash was).
        --report.records;
        report.last_sequence = previous_sequence - 1;
        return fail(
            previous_file, previous_line_number, previous_sequence,
            absl::StrCat("the record does not match the previous_record_sha256 stored "
                         "in the next record (sequence ",
                         sequence, ", ", Where(file, n), "): it was altered (or that hash was)"));
      }
      have_previous = true;
      previous_line = std::move(line);
      previous_file = file;
      previous_line_number = n;
      previous_sequence = sequence;
      report.last_sequence = sequence;
      ++report.records;
    }
    if (reader->failed()) return absl::DataLossError(absl::StrCat("cannot read ", file));
    if (reader->torn()) {
      const uint64_t n = reader->line_number() + 1;
      if (f + 1 == report.files.size()) {
        report.notes.push_back(absl::StrCat(Where(file, n),
                                            ": incomplete final line ignored (a write in "
                                            "progress or interrupted; never acknowledged)"));
      } else {
        return fail(file, n, have_previous ? previous_sequence + 1 : 0,
                    "incomplete line (no newline) at the end of a file that is not the newest");
      }
    }
  }
  return report;
}

}  // namespace chainverify::audit
