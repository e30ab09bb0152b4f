// The audit log's file format and its verification, shared by the writer
// (AuditLog) and the readers (`chainverify audit verify|query`, tests).
//
// A log is one or more files of JSON lines, one AuditRecord per line
// (protobuf JSON mapping, field names as in the .proto), each ending in '\n'.
// Every record carries `sequence` (the previous record's plus one) and
// `previous_record_sha256` (lowercase hex SHA-256 of the previous record's
// line without its newline; kGenesisHash for sequence 1). Rotation moves the
// file aside and the chain continues in the next file, so the rotated files
// sorted by their first sequence are one chain. That chain is a lineage:
// every record carries its `lineage` id, so the records of many logs, mixed
// in any order, sort back into their chains.
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

// The line of a record with `sequence` and `previous_sha256`, from `body`:
// RecordToJsonLine of the same record with neither set. Byte for byte what
// RecordToJsonLine gives for the record with both set (they are its first
// fields), so that the log's writer can chain records rendered ahead of time.
std::string ChainedRecordLine(uint64_t sequence, const std::string& previous_sha256,
                              absl::string_view body);

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

// One line of an audit file or of a log pipeline's export, classified.
//
// An export holds the stdout of many servers, interleaved: plain JSON lines,
// or lines behind the Kubernetes container-log (CRI) prefix
// "<RFC 3339 time> <stdout|stderr> <F|P> <text>", where P marks a line the
// runtime split (its parts are joined up to the next F of the same file). A
// trailing '\r' is dropped. Then:
//   kRecord   a JSON object that parses as an AuditRecord with a sequence;
//   kDamaged  a JSON object (a line starting with '{') that does not, or one
//             starting {"sequence": whose sequence is 0, or split parts
//             without their final part: something that was or looks like a
//             record but cannot be checked;
//   kOther    anything else: the startup line, stderr lines, runtime events
//             (JSON without a sequence), blank lines. Counted and skipped.
struct AuditLine {
  enum class Kind { kRecord, kDamaged, kOther };
  Kind kind = Kind::kOther;
  uint64_t line_number = 0;  // 1-based; the first physical line of joined parts.
  std::string text;          // The record's line as written (no prefix).
  v1::AuditRecord record;    // kRecord.
  std::string problem;       // kDamaged.
};

// Reads a file as AuditLines (see above).
class AuditLineReader {
 public:
  static absl::StatusOr<AuditLineReader> Open(const std::string& path);

  // The next line; false at the end (see torn(), failed()).
  bool Next(AuditLine* line);
  // After Next() returned false: the file ended in an incomplete line, not
  // returned (a write in progress or interrupted); its 1-based line number.
  bool torn() const { return file_.torn(); }
  uint64_t torn_line_number() const { return file_.line_number() + 1; }
  bool failed() const { return file_.failed(); }

 private:
  explicit AuditLineReader(AuditFileReader file) : file_(std::move(file)) {}

  AuditFileReader file_;
  // Split (P) parts of a stdout line read so far, and the line they began on.
  std::string parts_;
  uint64_t parts_start_ = 0;
  // A line read after parts that never got their final part: next.
  std::optional<std::pair<std::string, uint64_t>> held_;
};

// `paths` with duplicates removed, sorted by the sequence of each file's
// first record (oldest first; for one server's rotated files, chain order).
// Files without a record go last, in the given order. Errors: a file cannot
// be read.
absl::StatusOr<std::vector<std::string>> OrderAuditFiles(const std::vector<std::string>& paths);

struct ChainCheckOptions {
  // Every lineage must start at sequence 1 with the genesis hash; otherwise a
  // lineage starting later (older files deleted, or an export that begins
  // after the lineage did) is intact, with a note.
  bool require_genesis = false;
};

// Where a chain is broken: the first record that is wrong.
struct ChainBreak {
  std::string file;
  uint64_t line = 0;
  // The record's sequence, or the one expected there if it did not parse.
  uint64_t sequence = 0;
  std::string problem;
};

// One lineage: its records sorted by sequence and checked as one chain.
struct ChainReport {
  // Empty for records written before lineages existed.
  std::string lineage;
  // The `instance` values of its records, sorted.
  std::vector<std::string> instances;
  // The files holding its records, ordered by the first sequence in each.
  std::vector<std::string> files;
  // Records checked before any break (after a missing start that is a
  // break: every record, as if it were not).
  uint64_t records = 0;
  uint64_t first_sequence = 0;
  uint64_t last_sequence = 0;
  // The first record is not sequence 1 (and does not continue the records
  // without a lineage): noted, or a break under require_genesis.
  bool missing_start = false;
  // The same record (byte for byte) seen again, e.g. delivered twice by a
  // log pipeline: counted once.
  uint64_t duplicates = 0;
  // Facts that do not break the chain, e.g. "chain starts at sequence 51
  // (earlier files missing)" or an ignored torn final line.
  std::vector<std::string> notes;
  std::optional<ChainBreak> broken;

  bool intact() const { return !broken.has_value(); }
  // A few lines for people: the verdict first ("lineage ID: " before it
  // when there is one), then who wrote it, the notes and the files.
  std::string ToString() const;
};

// Every lineage found in a set of files.
struct AuditReport {
  std::vector<std::string> files;    // The inputs, duplicates removed.
  std::vector<ChainReport> chains;   // One per lineage, by lineage id.
  uint64_t other_lines = 0;          // AuditLine::Kind::kOther lines skipped.
  // Damaged lines and torn lines that belong to no lineage (nothing in
  // their file to place them by): each one fails the check.
  std::vector<ChainBreak> unplaced;
  std::vector<std::string> notes;

  bool intact() const;
  std::string ToString() const;
};

// Reads every file (any order; records of many lineages interleaved in any
// order), groups the records by lineage and checks each lineage on its own:
// sorted by sequence, the first has the genesis hash and sequence 1 (or the
// lineage starts late, see ChainCheckOptions), sequences increase by one, and
// each previous_record_sha256 is the SHA-256 of the record before it. Two
// different records with one sequence break it (a fork, or an edit). A
// damaged line breaks the lineage of the record before it in its file (after
// it, if none), where the record after that one was expected. A torn final
// line is ignored (noted) in the file holding its lineage's last record;
// anywhere else it breaks the lineage. Records without a lineage form one
// chain, and a lineage whose first record continues it is not missing its
// start. The newest record of a lineage can only be checked once a later
// record carries its hash. Memory: about 100 bytes per record.
// Errors: a file cannot be read.
absl::StatusOr<AuditReport> VerifyAuditLog(const std::vector<std::string>& paths,
                                           const ChainCheckOptions& options = {});

// VerifyAuditLog for files of one lineage (one server's log): its report,
// with the unplaced problems and notes folded in. Errors: a file cannot be
// read, or the files hold more than one lineage.
absl::StatusOr<ChainReport> VerifyAuditChain(const std::vector<std::string>& paths,
                                             const ChainCheckOptions& options = {});

}  // namespace chainverify::audit

#endif  // CHAINVERIFY_SERVER_AUDIT_AUDIT_CHAIN_H_
