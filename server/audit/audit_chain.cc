#include "server/audit/audit_chain.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/util/json_util.h"
#include "server/pki/openssl_util.h"

namespace chainverify::audit {

std::string RecordToJsonLine(const v1::AuditRecord& record) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  std::string json;
  // Cannot fail for a message without Any fields.
  (void)google::protobuf::util::MessageToJsonString(record, &json, options);
  return json;
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
