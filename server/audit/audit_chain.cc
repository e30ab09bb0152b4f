#include "server/audit/audit_chain.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <set>
#include <tuple>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
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
  const absl::CivilSecond civil =
      absl::ToCivilSecond(absl::FromUnixSeconds(ts.seconds()), absl::UTCTimeZone());
  if (civil.year() >= 1 && civil.year() <= 9999) {
    // Timestamp's range, four-digit years as protobuf prints them (0999, not
    // absl::FormatTime's 999). By hand also because absl::FormatTime was most
    // of the 1.4% of a warm call's server CPU that this field took.
    char text[] = "0000-00-00T00:00:00";
    auto put = [&text](int at, int width, int value) {
      for (int i = at + width - 1; i >= at; --i, value /= 10) {
        text[i] = static_cast<char>('0' + value % 10);
      }
    };
    put(0, 4, static_cast<int>(civil.year()));
    put(5, 2, civil.month());
    put(8, 2, civil.day());
    put(11, 2, civil.hour());
    put(14, 2, civil.minute());
    put(17, 2, civil.second());
    out->append(text, sizeof(text) - 1);
  } else {
    out->append(absl::FormatTime("%Y-%m-%dT%H:%M:%S", absl::FromUnixSeconds(ts.seconds()),
                                 absl::UTCTimeZone()));
  }
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
std::string ChainedRecordLine(uint64_t sequence, const std::string& previous_sha256,
                              absl::string_view body) {
  std::string out;
  out.reserve(body.size() + 128);
  out.push_back('{');
  AppendInt64Field("sequence", sequence, &out);
  AppendStringField("previous_record_sha256", previous_sha256, &out);
  // `body` is "{...}" without those two fields, which print first.
  if (body.size() > 2) {
    if (out.size() > 1) out.push_back(',');
    out.append(body.data() + 1, body.size() - 1);
  } else {
    out.push_back('}');
  }
  return out;
}

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
  AppendStringField("lineage", r.lineage(), &out);
  AppendStringField("instance", r.instance(), &out);
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

// The Kubernetes container-log (CRI) prefix "<RFC 3339 time> <stream> <tag> ",
// as the kubelet's runtime writes it (tags are ':'-separated; F is a whole
// line or the final part of one, P a part).
struct CriLine {
  bool stdout_stream = false;
  bool partial = false;
  absl::string_view content;
};

std::optional<CriLine> ParseCriLine(absl::string_view line) {
  const size_t time_end = line.find(' ');
  if (time_end == absl::string_view::npos) return std::nullopt;
  absl::Time time;
  if (!absl::ParseTime(absl::RFC3339_full, line.substr(0, time_end), &time, nullptr)) {
    return std::nullopt;
  }
  absl::string_view rest = line.substr(time_end + 1);
  CriLine cri;
  if (absl::ConsumePrefix(&rest, "stdout ")) {
    cri.stdout_stream = true;
  } else if (!absl::ConsumePrefix(&rest, "stderr ")) {
    return std::nullopt;
  }
  const size_t tag_end = rest.find(' ');
  const absl::string_view tags = rest.substr(0, tag_end);
  const absl::string_view first_tag = tags.substr(0, tags.find(':'));
  if (first_tag != "F" && first_tag != "P") return std::nullopt;
  cri.partial = first_tag == "P";
  cri.content = tag_end == absl::string_view::npos ? absl::string_view() : rest.substr(tag_end + 1);
  return cri;
}

// Sorts a record's text into kRecord, kDamaged or kOther.
void Classify(std::string text, AuditLine* line) {
  if (text.empty() || text.front() != '{') {
    line->kind = AuditLine::Kind::kOther;
    return;
  }
  absl::StatusOr<v1::AuditRecord> record = ParseRecordLine(text);
  if (!record.ok()) {
    line->kind = AuditLine::Kind::kDamaged;
    line->problem = std::string(record.status().message());
  } else if (record->sequence() > 0) {
    line->kind = AuditLine::Kind::kRecord;
    line->record = *std::move(record);
  } else if (absl::StartsWith(text, "{\"sequence\":")) {
    line->kind = AuditLine::Kind::kDamaged;
    line->problem = "a record with sequence 0 (records start at 1)";
  } else {
    line->kind = AuditLine::Kind::kOther;  // JSON, but no record: e.g. an event.
  }
  line->text = std::move(text);
}

}  // namespace

absl::StatusOr<AuditLineReader> AuditLineReader::Open(const std::string& path) {
  absl::StatusOr<AuditFileReader> file = AuditFileReader::Open(path);
  if (!file.ok()) return file.status();
  return AuditLineReader(*std::move(file));
}

bool AuditLineReader::Next(AuditLine* line) {
  *line = AuditLine();
  std::string raw;
  uint64_t number = 0;
  for (;;) {
    if (held_.has_value()) {
      std::tie(raw, number) = *std::move(held_);
      held_.reset();
    } else if (file_.Next(&raw)) {
      number = file_.line_number();
      if (!raw.empty() && raw.back() == '\r') raw.pop_back();
    } else {
      break;
    }
    std::optional<CriLine> cri = ParseCriLine(raw);
    if (cri.has_value() && !cri->stdout_stream) {
      // Records go to stdout only: stderr lines (and their parts) never are.
      line->line_number = number;
      line->kind = AuditLine::Kind::kOther;
      return true;
    }
    if (parts_start_ != 0 && !cri.has_value()) {
      held_.emplace(std::move(raw), number);
      break;  // The parts never got their final part.
    }
    if (!cri.has_value()) {
      line->line_number = number;
      Classify(std::move(raw), line);
      return true;
    }
    if (parts_start_ == 0) parts_start_ = number;
    absl::StrAppend(&parts_, cri->content);
    if (cri->partial) continue;
    line->line_number = parts_start_;
    Classify(std::move(parts_), line);
    parts_.clear();
    parts_start_ = 0;
    return true;
  }
  if (parts_start_ == 0) return false;
  line->line_number = parts_start_;
  line->kind = AuditLine::Kind::kDamaged;
  line->problem = "container-log line parts (P) without their final part (F)";
  parts_.clear();
  parts_start_ = 0;
  return true;
}

namespace {

// The sequence of a file's first record, or nullopt when it has none.
absl::StatusOr<std::optional<uint64_t>> FirstSequence(const std::string& path) {
  absl::StatusOr<AuditLineReader> reader = AuditLineReader::Open(path);
  if (!reader.ok()) return reader.status();
  AuditLine line;
  while (reader->Next(&line)) {
    if (line.kind == AuditLine::Kind::kRecord) return line.record.sequence();
  }
  if (reader->failed()) return absl::DataLossError(absl::StrCat("cannot read ", path));
  return std::optional<uint64_t>();
}

std::string Where(const std::string& file, uint64_t line) { return absl::StrCat(file, ":", line); }

std::vector<std::string> Deduplicated(const std::vector<std::string>& paths) {
  std::vector<std::string> unique;
  std::set<std::string> seen;
  for (const std::string& path : paths) {
    if (seen.insert(path).second) unique.push_back(path);
  }
  return unique;
}

}  // namespace

absl::StatusOr<std::vector<std::string>> OrderAuditFiles(const std::vector<std::string>& paths) {
  struct Keyed {
    std::optional<uint64_t> first;
    std::string path;
  };
  std::vector<Keyed> files;
  for (const std::string& path : Deduplicated(paths)) {
    absl::StatusOr<std::optional<uint64_t>> first = FirstSequence(path);
    if (!first.ok()) return first.status();
    files.push_back({*first, path});
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
  if (!lineage.empty()) absl::StrAppend(&text, "lineage ", lineage, ": ");
  if (broken.has_value()) {
    absl::StrAppend(&text, "audit chain BROKEN at ", Where(broken->file, broken->line),
                    " (sequence ", broken->sequence, "): ", broken->problem, "\n");
    if (missing_start && broken->sequence == first_sequence && records > 0) {
      absl::StrAppend(&text, "  ", records, " record(s) from it on verified, sequences ",
                      first_sequence, " to ", last_sequence, "\n");
    } else {
      absl::StrAppend(&text, "  ", records, " record(s) before it verified\n");
    }
  } else if (records == 0) {
    absl::StrAppend(&text, "audit chain intact: no records\n");
  } else {
    absl::StrAppend(&text, "audit chain intact: ", records, " record(s) in ", files.size(),
                    " file(s), sequences ", first_sequence, " to ", last_sequence, "\n");
  }
  if (!instances.empty()) {
    absl::StrAppend(&text, "  written by: ", absl::StrJoin(instances, ", "), "\n");
  }
  if (duplicates > 0) {
    absl::StrAppend(&text, "  ", duplicates,
                    " duplicate record(s) ignored (the same line again)\n");
  }
  for (const std::string& note : notes) absl::StrAppend(&text, "  note: ", note, "\n");
  if (files.size() > 1) {
    absl::StrAppend(&text, "  files, oldest first: ", absl::StrJoin(files, ", "), "\n");
  }
  return text;
}

bool AuditReport::intact() const {
  if (!unplaced.empty()) return false;
  for (const ChainReport& chain : chains) {
    if (!chain.intact()) return false;
  }
  return true;
}

std::string AuditReport::ToString() const {
  std::string text;
  if (chains.empty() && unplaced.empty()) {
    absl::StrAppend(&text, "audit chain intact: no records\n");
  }
  size_t broken = 0;
  for (const ChainReport& chain : chains) {
    if (chain.lineage.empty() && chains.size() > 1) {
      absl::StrAppend(&text, "records without a lineage (written before lineages): ");
    }
    absl::StrAppend(&text, chain.ToString());
    broken += chain.intact() ? 0 : 1;
  }
  for (const ChainBreak& problem : unplaced) {
    absl::StrAppend(&text, "BROKEN at ", Where(problem.file, problem.line), ": ", problem.problem,
                    " (no record in its file to place it by)\n");
  }
  for (const std::string& note : notes) absl::StrAppend(&text, "note: ", note, "\n");
  if (chains.size() > 1 || other_lines > 0 || !unplaced.empty()) {
    uint64_t records = 0;
    for (const ChainReport& chain : chains) records += chain.records;
    absl::StrAppend(&text, "summary: ", chains.size(), " lineage(s), ", chains.size() - broken,
                    " intact, ", broken, " broken; ", records, " record(s) verified in ",
                    files.size(), " file(s); ", other_lines,
                    " line(s) that are not records skipped");
    if (!unplaced.empty()) absl::StrAppend(&text, "; ", unplaced.size(), " unplaced problem(s)");
    absl::StrAppend(&text, "\n");
  }
  return text;
}

namespace {

using Digest = std::array<unsigned char, 32>;

// A record as the check needs it: ~90 bytes, not the line.
struct Entry {
  uint64_t sequence = 0;
  Digest hash{};                // SHA-256 of its line.
  Digest previous{};            // previous_record_sha256, decoded.
  bool previous_valid = false;  // 64 lowercase hex digits.
  uint32_t file = 0;
  uint64_t line = 0;
};

Digest LineDigest(absl::string_view line) {
  const std::string sha = pki::Sha256(line);
  Digest digest;
  std::copy(sha.begin(), sha.end(), digest.begin());
  return digest;
}

bool DecodeDigest(absl::string_view hex, Digest* digest) {
  if (hex.size() != 64) return false;
  for (size_t i = 0; i < 64; ++i) {
    const char c = hex[i];
    const int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (v < 0) return false;
    if (i % 2 == 0) {
      (*digest)[i / 2] = static_cast<unsigned char>(v << 4);
    } else {
      (*digest)[i / 2] |= static_cast<unsigned char>(v);
    }
  }
  return true;
}

// A damaged or torn line placed in a lineage: it breaks the chain before
// record `sequence` (the one after the record it follows, or the record it
// precedes).
struct Damage {
  uint32_t file = 0;
  uint64_t line = 0;
  uint64_t sequence = 0;
  std::string problem;
};

// What reading gathered about one lineage.
struct Lineage {
  std::vector<Entry> entries;
  std::set<std::string> instances;
  std::vector<Damage> damage;
  // Torn final lines of files whose last record is of this lineage: ignored
  // when that record is the lineage's last, a break otherwise.
  std::vector<std::pair<Damage, uint64_t>> torn;  // (torn line, last record's sequence)
};

// The last accepted record of the chain without a lineage, for a lineage
// that continues it.
struct ChainEnd {
  uint64_t sequence = 0;
  Digest hash{};
  std::string where;
};

class Verifier {
 public:
  Verifier(std::vector<std::string> files, const ChainCheckOptions& options)
      : files_(std::move(files)), options_(options) {}

  absl::StatusOr<AuditReport> Run() {
    for (uint32_t f = 0; f < files_.size(); ++f) {
      absl::Status read = Read(f);
      if (!read.ok()) return read;
    }
    AuditReport report;
    report.files = files_;
    report.other_lines = other_lines_;
    report.unplaced = std::move(unplaced_);
    report.notes = std::move(notes_);
    // std::map: "" (no lineage) first, so a lineage that continues it can
    // be linked to its end.
    std::optional<ChainEnd> unnamed_end;
    for (auto& [id, lineage] : lineages_) {
      report.chains.push_back(Check(id, lineage, unnamed_end));
      if (id.empty()) unnamed_end = last_accepted_;
    }
    return report;
  }

 private:
  absl::Status Read(uint32_t f) {
    const std::string& file = files_[f];
    absl::StatusOr<AuditLineReader> reader = AuditLineReader::Open(file);
    if (!reader.ok()) return reader.status();
    // The file's last record, and damage waiting for a record to place it.
    std::optional<std::pair<std::string, uint64_t>> last;
    std::vector<Damage> waiting;
    AuditLine line;
    while (reader->Next(&line)) {
      switch (line.kind) {
        case AuditLine::Kind::kOther:
          ++other_lines_;
          break;
        case AuditLine::Kind::kDamaged: {
          Damage damage{f, line.line_number, 0, line.problem};
          if (last.has_value()) {
            damage.sequence = last->second + 1;
            lineages_[last->first].damage.push_back(std::move(damage));
          } else {
            waiting.push_back(std::move(damage));
          }
          break;
        }
        case AuditLine::Kind::kRecord: {
          const v1::AuditRecord& record = line.record;
          Lineage& lineage = lineages_[record.lineage()];
          Entry entry;
          entry.sequence = record.sequence();
          entry.hash = LineDigest(line.text);
          entry.previous_valid = DecodeDigest(record.previous_record_sha256(), &entry.previous);
          entry.file = f;
          entry.line = line.line_number;
          lineage.entries.push_back(entry);
          if (!record.instance().empty()) lineage.instances.insert(record.instance());
          for (Damage& damage : waiting) {
            damage.sequence = entry.sequence;  // It sits before this record.
            lineage.damage.push_back(std::move(damage));
          }
          waiting.clear();
          last = {record.lineage(), record.sequence()};
          break;
        }
      }
    }
    if (reader->failed()) return absl::DataLossError(absl::StrCat("cannot read ", file));
    for (Damage& damage : waiting) {
      unplaced_.push_back({file, damage.line, 0, std::move(damage.problem)});
    }
    if (reader->torn()) {
      Damage torn{f, reader->torn_line_number(), 0, ""};
      if (last.has_value()) {
        torn.sequence = last->second + 1;
        lineages_[last->first].torn.push_back({std::move(torn), last->second});
      } else {
        notes_.push_back(absl::StrCat(Where(file, torn.line),
                                      ": incomplete final line ignored (a write in progress or "
                                      "interrupted; never acknowledged)"));
      }
    }
    return absl::OkStatus();
  }

  std::string At(const Entry& e) const { return Where(files_[e.file], e.line); }

  ChainReport Check(const std::string& id, Lineage& lineage,
                    const std::optional<ChainEnd>& unnamed_end) {
    ChainReport report;
    report.lineage = id;
    report.instances.assign(lineage.instances.begin(), lineage.instances.end());
    last_accepted_.reset();
    std::vector<Entry>& entries = lineage.entries;
    std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
      return std::tie(a.sequence, a.file, a.line) < std::tie(b.sequence, b.file, b.line);
    });
    const uint64_t newest = entries.empty() ? 0 : entries.back().sequence;
    // Torn final lines are damage unless their file holds the newest record.
    for (auto& [torn, after] : lineage.torn) {
      if (after == newest) {
        report.notes.push_back(absl::StrCat(Where(files_[torn.file], torn.line),
                                            ": incomplete final line ignored (a write in "
                                            "progress or interrupted; never acknowledged)"));
      } else {
        torn.problem = "incomplete line (no newline) at the end of a file that is not the newest";
        lineage.damage.push_back(std::move(torn));
      }
    }
    // The first damage in chain order breaks the chain where it sits.
    const Damage* damage = nullptr;
    for (const Damage& d : lineage.damage) {
      if (damage == nullptr || std::tie(d.sequence, d.file, d.line) <
                                   std::tie(damage->sequence, damage->file, damage->line)) {
        damage = &d;
      }
    }
    auto fail = [&](uint32_t file, uint64_t line, uint64_t sequence, std::string problem) {
      report.broken = ChainBreak{files_[file], line, sequence, std::move(problem)};
    };
    auto fail_at_damage = [&] {
      fail(damage->file, damage->line, damage->sequence, damage->problem);
    };
    // Files in the order of their first record of this lineage.
    std::vector<uint32_t> file_order;
    std::set<uint32_t> files_seen;

    const Entry* previous = nullptr;
    for (const Entry& e : entries) {
      if (damage != nullptr && e.sequence >= damage->sequence) {
        fail_at_damage();
        break;
      }
      if (previous != nullptr && e.sequence == previous->sequence) {
        if (e.hash == previous->hash) {
          ++report.duplicates;
          continue;
        }
        fail(e.file, e.line, e.sequence,
             absl::StrCat("a different record with sequence ", e.sequence, " is at ",
                          At(*previous), ": the lineage forked (two writers) or one was altered"));
        break;
      }
      if (previous == nullptr) {
        if (!CheckStart(e, unnamed_end, &report, fail)) break;
      } else if (e.sequence != previous->sequence + 1) {
        // A record that claims to follow `previous` but has another sequence
        // had its sequence changed: name it rather than the gap it left.
        const Entry* moved = nullptr;
        for (const Entry& other : entries) {
          if (other.previous_valid && other.previous == previous->hash &&
              other.sequence != previous->sequence + 1) {
            moved = &other;
            break;
          }
        }
        if (moved != nullptr) {
          fail(moved->file, moved->line, moved->sequence,
               absl::StrCat("sequence ", moved->sequence, " carries the hash of sequence ",
                            previous->sequence, " (", At(*previous), "): it should be sequence ",
                            previous->sequence + 1));
        } else {
          fail(e.file, e.line, e.sequence,
               absl::StrCat("sequence jumps from ", previous->sequence, " (", At(*previous),
                            ") to ", e.sequence, ": ", e.sequence - previous->sequence - 1,
                            " record(s) missing"));
        }
        break;
      } else if (!e.previous_valid || e.previous != previous->hash) {
        // The previous line no longer hashes to what this record says it
        // was: it was altered after being written (or this hash was).
        --report.records;
        report.last_sequence = previous->sequence - 1;
        fail(previous->file, previous->line, previous->sequence,
             absl::StrCat("the record does not match the previous_record_sha256 stored "
                          "in the next record (sequence ",
                          e.sequence, ", ", At(e), "): it was altered (or that hash was)"));
        break;
      }
      previous = &e;
      ++report.records;
      report.last_sequence = e.sequence;
      if (files_seen.insert(e.file).second) file_order.push_back(e.file);
    }
    if (!report.broken.has_value() && damage != nullptr) fail_at_damage();
    if (!report.broken.has_value() && missing_start_.has_value()) {
      report.broken = *std::move(missing_start_);
    }
    missing_start_.reset();
    if (previous != nullptr && report.intact()) {
      last_accepted_ = ChainEnd{previous->sequence, previous->hash, At(*previous)};
    }
    for (uint32_t f : file_order) report.files.push_back(files_[f]);
    return report;
  }

  // The first record of a lineage. False when it breaks the chain.
  template <typename Fail>
  bool CheckStart(const Entry& e, const std::optional<ChainEnd>& unnamed_end,
                  ChainReport* report, Fail& fail) {
    static const Digest kGenesis{};
    report->first_sequence = e.sequence;
    if (e.previous_valid && e.previous == kGenesis) {
      if (e.sequence == 1) return true;
      fail(e.file, e.line, e.sequence,
           absl::StrCat("genesis previous_record_sha256 on sequence ", e.sequence,
                        " (only sequence 1 may have it)"));
      return false;
    }
    if (e.sequence <= 1) {
      fail(e.file, e.line, e.sequence,
           absl::StrCat("sequence ", e.sequence, " must carry the genesis previous_record_sha256"));
      return false;
    }
    if (!report->lineage.empty() && unnamed_end.has_value() &&
        unnamed_end->sequence + 1 == e.sequence) {
      // A log from before lineages, continued by a server that has them.
      if (e.previous_valid && e.previous == unnamed_end->hash) {
        report->notes.push_back(absl::StrCat("continues the records without a lineage, whose "
                                             "last is sequence ", unnamed_end->sequence, " (",
                                             unnamed_end->where, ")"));
        return true;
      }
      fail(e.file, e.line, e.sequence,
           absl::StrCat("follows sequence ", unnamed_end->sequence,
                        " of the records without a lineage (", unnamed_end->where,
                        "), but that record does not match its previous_record_sha256: one of "
                        "the two was altered"));
      return false;
    }
    report->missing_start = true;
    std::string note =
        absl::StrCat("chain starts at sequence ", e.sequence, " (earlier files missing)");
    if (options_.require_genesis) {
      // Reported once the rest is checked, unless a break comes first.
      missing_start_ = ChainBreak{files_[e.file], e.line, e.sequence,
                                  absl::StrCat(note, "; the start is required")};
    } else {
      report->notes.push_back(std::move(note));
    }
    return true;
  }

  const std::vector<std::string> files_;
  const ChainCheckOptions options_;
  std::map<std::string, Lineage> lineages_;
  uint64_t other_lines_ = 0;
  std::vector<ChainBreak> unplaced_;
  std::vector<std::string> notes_;
  std::optional<ChainEnd> last_accepted_;
  // A start that is missing under require_genesis, while its chain is checked.
  std::optional<ChainBreak> missing_start_;
};

}  // namespace

absl::StatusOr<AuditReport> VerifyAuditLog(const std::vector<std::string>& paths,
                                           const ChainCheckOptions& options) {
  return Verifier(Deduplicated(paths), options).Run();
}

absl::StatusOr<ChainReport> VerifyAuditChain(const std::vector<std::string>& paths,
                                             const ChainCheckOptions& options) {
  absl::StatusOr<AuditReport> report = VerifyAuditLog(paths, options);
  if (!report.ok()) return report.status();
  if (report->chains.size() > 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("the files hold ", report->chains.size(), " lineages, not one"));
  }
  ChainReport chain = report->chains.empty() ? ChainReport() : std::move(report->chains[0]);
  if (chain.intact() && !report->unplaced.empty()) chain.broken = report->unplaced[0];
  for (std::string& note : report->notes) chain.notes.push_back(std::move(note));
  return chain;
}

}  // namespace chainverify::audit
