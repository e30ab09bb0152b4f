// The append-only, hash-chained audit log: one JSON line per decision
// (AuditRecord in proto/chainverify/v1/audit.proto).
#ifndef CHAINVERIFY_SERVER_AUDIT_AUDIT_LOG_H_
#define CHAINVERIFY_SERVER_AUDIT_AUDIT_LOG_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "chainverify/v1/audit.pb.h"

namespace chainverify::audit {

struct AuditLogOptions {
  // The log file; its directory is created if missing.
  std::string path;
  // fsync after every record, so a decision returned to a client is on disk.
  bool fsync_each_record = true;
  // Also write every record to stdout (for a cluster's log pipeline).
  bool mirror_to_stdout = false;
};

class AuditLog {
 public:
  // Opens (creating if needed) and continues the hash chain from the last
  // complete record in the file.
  static absl::StatusOr<std::unique_ptr<AuditLog>> Open(const AuditLogOptions& options);
  ~AuditLog();

  // Sets sequence and previous_record_sha256, then writes the record as one
  // line. Thread-safe. A failure means the record is not durably written.
  absl::Status Append(v1::AuditRecord record);

  uint64_t records_written() const;

 private:
  explicit AuditLog(const AuditLogOptions& options) : options_(options) {}

  const AuditLogOptions options_;
  mutable absl::Mutex mu_;
  int fd_ ABSL_GUARDED_BY(mu_) = -1;
  uint64_t next_sequence_ ABSL_GUARDED_BY(mu_) = 1;
  std::string previous_sha256_ ABSL_GUARDED_BY(mu_);
  uint64_t written_ ABSL_GUARDED_BY(mu_) = 0;
};

// The line written for `record` (protobuf JSON mapping, field names as in the
// .proto), without the newline.
std::string RecordToJsonLine(const v1::AuditRecord& record);

// The hash chain's genesis value.
inline constexpr char kGenesisHash[] =
    "0000000000000000000000000000000000000000000000000000000000000000";

}  // namespace chainverify::audit

#endif  // CHAINVERIFY_SERVER_AUDIT_AUDIT_LOG_H_
