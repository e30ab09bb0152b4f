// The audit log's file format and its verification, shared by the writer
// (AuditLog) and the readers (`chainverify audit verify|query`, tests).
//
// A log is one or more files of JSON lines, one AuditRecord per line
// (protobuf JSON mapping, field names as in the .proto), each ending in '\n'.
// Every record carries `sequence` (the previous record's plus one) and
// `previous_record_sha256` (lowercase hex SHA-256 of the previous record's
// line without its newline; kGenesisHash for sequence 1). Rotation moves the
// file aside and the chain continues in the next file, so the rotated files
// sorted by their first sequence are one chain.
#ifndef CHAINVERIFY_SERVER_AUDIT_AUDIT_CHAIN_H_
#define CHAINVERIFY_SERVER_AUDIT_AUDIT_CHAIN_H_

#include <cstdint>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "chainverify/v1/audit.pb.h"

namespace chainverify::audit {

// The hash chain's genesis value: previous_record_sha256 of sequence 1.
inline constexpr char kGenesisHash[] =
    "0000000000000000000000000000000000000000000000000000000000000000";

// The line written for `record`, without the newline.
std::string RecordToJsonLine(const v1::AuditRecord& record);

// Parses one line (without the newline). Unknown fields are accepted, so
// older readers can check newer logs: the hash covers the line as written.
absl::StatusOr<v1::AuditRecord> ParseRecordLine(absl::string_view line);

// Lowercase hex SHA-256 of `line` (without the newline): the value the next
// record carries as previous_record_sha256.
std::string LineSha256(absl::string_view line);

// Reads `path` line by line. A final line without '\n' is "torn": the writer
// was interrupted (or is still writing); it is never a record.
class AuditFileReader {
 public:
  static absl::StatusOr<AuditFileReader> Open(const std::string& path);

  // The next complete line (without '\n') into *line; false at the end or at
  // a torn final line (see torn()).
  bool Next(std::string* line);
  // 1-based number of the line last returned.
  uint64_t line_number() const { return line_number_; }
  // After Next() returned false: the file ended in an incomplete line.
  bool torn() const { return torn_; }
  // After Next() returned false: the file could not be read to its end.
  bool failed() const;

 private:
  AuditFileReader() = default;

  std::unique_ptr<std::ifstream> in_;
  bool torn_ = false;
  uint64_t line_number_ = 0;
};

// `paths` in chain order: sorted by the sequence of each file's first record
// (oldest first), duplicates removed. A file whose first lines are not
// records is placed by its first parsable record (sequence minus the lines
// before it); a file with no parsable record goes last, in the given order.
// Errors: a file cannot be read.
absl::StatusOr<std::vector<std::string>> OrderAuditFiles(const std::vector<std::string>& paths);

struct ChainCheckOptions {
  // The first record must be sequence 1 with the genesis hash; otherwise a
  // chain starting later (older files deleted) is intact, with a note.
  bool require_genesis = false;
};

// Where the chain is broken: the first record that is wrong.
struct ChainBreak {
  std::string file;
  uint64_t line = 0;
  // The record's sequence, or the one expected there if it did not parse.
  uint64_t sequence = 0;
  std::string problem;
};

struct ChainReport {
  std::vector<std::string> files;  // In the order checked, oldest first.
  uint64_t records = 0;            // Records checked before any break.
  uint64_t first_sequence = 0;
  uint64_t last_sequence = 0;
  // Facts that do not break the chain, e.g. "chain starts at sequence 51
  // (earlier files missing)" or an ignored torn final line.
  std::vector<std::string> notes;
  std::optional<ChainBreak> broken;

  bool intact() const { return !broken.has_value(); }
  // A few lines for people: the verdict first, then the notes.
  std::string ToString() const;
};

// Checks that the files, ordered with OrderAuditFiles, hold one unbroken
// chain: every line parses as an AuditRecord, sequences increase by one, and
// each previous_record_sha256 is the SHA-256 of the line before it (across
// files). A torn final line of the newest file is ignored (noted); anywhere
// else it breaks the chain. The last record can only be checked once a later
// record carries its hash. Errors: a file cannot be read.
absl::StatusOr<ChainReport> VerifyAuditChain(const std::vector<std::string>& paths,
                                             const ChainCheckOptions& options = {});

}  // namespace chainverify::audit

#endif  // CHAINVERIFY_SERVER_AUDIT_AUDIT_CHAIN_H_
