// The append-only, hash-chained audit log: one JSON line per decision
// (AuditRecord in proto/chainverify/v1/audit.proto; format and verification
// in audit_chain.h).
//
// Files. Records go to `path`. Before a record would make it larger than
// max_file_bytes, the file is fsynced, renamed to
//   <path>.<UTC rotation time YYYYMMDDTHHMMSSZ>.<sequence of its first record>
// (".<n>" appended in the unlikely case that name exists) and a fresh `path`
// is started. Sequence numbers and the hash chain continue across files: the
// first record of the new file carries the hash of the last record of the
// previous one. `chainverify audit verify <path>*` checks them all.
//
// Restarts. Open() continues the chain from the last complete record of
// `path`, or, when `path` is empty or missing, of the newest rotated file. A
// torn final line (a crash in the middle of a write, so never acknowledged)
// is cut off first.
//
// Lineage. Every record carries the log's lineage (a random UUID) and the
// writing instance's name (AuditLogOptions::instance). A log with no record
// yet gets a new lineage; a continued log keeps the lineage of its last
// record, so rotation and restarts never start a new one. A log written
// before lineages existed (its last record has none) continues its chain
// under a new lineage.
//
// Failures. A failed write or fsync is cut back (ftruncate to the end of the
// last good record), so no torn record is left for later lines to follow. The
// record is then not in the chain: it takes no sequence number and the next
// record that is written chains to the last good one. What the caller sees
// depends on AuditFailureMode.
#ifndef CHAINVERIFY_SERVER_AUDIT_AUDIT_LOG_H_
#define CHAINVERIFY_SERVER_AUDIT_AUDIT_LOG_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "chainverify/v1/audit.pb.h"
#include "server/audit/audit_chain.h"

namespace chainverify::audit {

// When Append() returns (and AppendAsync() calls back) relative to the record
// reaching the disk.
enum class AuditDurability {
  // The writer thread writes and fsyncs one record at a time (flag value
  // "fsync").
  kFsync,
  // The writer thread writes and fsyncs records in batches: whatever queued
  // while the previous write and fsync ran, so a batch forms only when there
  // is something to batch (a record alone is written at once); with a
  // group_commit_delay, also waiting up to that long for a batch to fill.
  // Every record is still acknowledged only after the fsync covering it
  // ("group_commit").
  kGroupCommit,
  // write only, on the caller's thread: a machine crash can lose acknowledged
  // records ("none").
  kNone,
};

// What Append() does when a record cannot be written.
enum class AuditFailureMode {
  // Return UNAVAILABLE: the decision is not returned ("fail_closed").
  kFailClosed,
  // Return OK: the decision goes out unrecorded; the loss is counted in
  // records_lost() and reported on stderr at most once a second ("fail_open").
  kFailOpen,
};

// For absl flags: "fsync", "group_commit", "none"; "fail_closed", "fail_open".
bool AbslParseFlag(absl::string_view text, AuditDurability* mode, std::string* error);
std::string AbslUnparseFlag(AuditDurability mode);
bool AbslParseFlag(absl::string_view text, AuditFailureMode* mode, std::string* error);
std::string AbslUnparseFlag(AuditFailureMode mode);

struct AuditLogOptions {
  // The log file; its directory is created if missing. A non-regular file
  // (e.g. /dev/stdout) is written to but never fsynced, cut back or rotated.
  std::string path;
  AuditDurability durability = AuditDurability::kFsync;
  // kGroupCommit: how long a record may wait for others to join its batch. 0
  // (the default): no wait; the batch is whatever queued during the previous
  // fsync.
  absl::Duration group_commit_delay = absl::ZeroDuration();
  // Rotate before a record would take the file past this size; 0: never. A
  // single record larger than this still gets a file of its own.
  int64_t max_file_bytes = int64_t{64} << 20;
  AuditFailureMode failure_mode = AuditFailureMode::kFailClosed;
  // Also write every record to stdout (for a cluster's log pipeline).
  bool mirror_to_stdout = false;
  // Written into every record's `instance`: which server wrote it (the host
  // or pod name).
  std::string instance;
};

class AuditLog {
 public:
  // Opens (creating if needed) and continues the hash chain. Errors: the file
  // cannot be opened, or its last complete line is not a record.
  static absl::StatusOr<std::unique_ptr<AuditLog>> Open(const AuditLogOptions& options);

  // Writes every record already accepted, fsyncs and closes. No Append() may
  // be running or start.
  ~AuditLog();

  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Sets sequence and previous_record_sha256, then writes the record as one
  // line, durably as `durability` says. Thread-safe. Under kFailClosed an
  // error (UNAVAILABLE) means the record is not in the log; under kFailOpen
  // it returns OK either way.
  // Blocks until the record is durable: for tests and tools. Servers use
  // AppendAsync, so that no RPC thread waits for the disk.
  absl::Status Append(v1::AuditRecord record);

  // Append() without waiting: `done` is called exactly once with what Append()
  // would have returned, after the record is as durable as `durability` says.
  // The record is rendered to JSON on the caller's thread; the writer thread
  // only chains, writes and syncs. Under kFsync and kGroupCommit `done` runs
  // after the fsync covering the record: on the completion thread, the
  // records of a batch in order, while the writer goes on with the next batch
  // (on the writer thread itself when nothing else is queued). Under
  // kGroupCommit a record that finds nothing queued and no write in progress
  // is written, synced and called back on the caller's thread (a lone caller
  // then pays no thread hand-over). Under kNone (or when
  // the log is closing) on the caller's thread before AppendAsync returns.
  // `done` must not block (it holds up the callbacks behind it) and must not
  // call Append().
  using AppendCallback = absl::AnyInvocable<void(absl::Status) &&>;
  void AppendAsync(v1::AuditRecord record, AppendCallback done);

  // Records written (and lost, under kFailOpen) by this AuditLog.
  uint64_t records_written() const { return written_.load(); }
  uint64_t records_lost() const { return lost_.load(); }
  // Files this AuditLog has rotated away.
  uint64_t files_rotated() const { return rotated_.load(); }
  // The lineage every record of this log carries (see the file comment).
  const std::string& lineage() const { return lineage_; }

 private:
  // Most records written with one write() and fsync by the group-commit writer.
  static constexpr size_t kMaxBatch = 1024;

  // One record on its way to the disk: its JSON line without sequence and
  // previous_record_sha256 (ChainedRecordLine adds them).
  struct Pending {
    std::string body;
    absl::Status status;
    AppendCallback done;
  };
  using Batch = std::vector<std::unique_ptr<Pending>>;

  explicit AuditLog(const AuditLogOptions& options) : options_(options) {}

  // Finds where the chain continues (see the file comment).
  absl::Status Recover() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Writer-thread wake-up conditions (absl::Condition evaluates them under
  // queue_mu_).
  bool HasWorkOrStopping() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(queue_mu_) {
    return !queue_.empty() || stopping_;
  }
  bool BatchFullOrStopping() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(queue_mu_) {
    return queue_.size() >= kMaxBatch || stopping_;
  }
  // Chains, writes and syncs `batch` in order, setting each one's status.
  void WriteBatch(const Batch& batch) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // WriteBatch of `pending` alone, on the caller's thread; returns it with its
  // status set.
  std::unique_ptr<Pending> WriteOne(std::unique_ptr<Pending> pending) ABSL_LOCKS_EXCLUDED(mu_);
  // Appends `chunk` (whole lines) to the current file and makes it durable;
  // on failure cuts the file back to file_size_.
  absl::Status WriteChunk(const std::string& chunk) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status EnsureOpen() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Renames the current file aside and starts a new one. A failed rename is
  // reported and the current file kept (records are still written).
  absl::Status Rotate() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void WriterLoop();
  // Runs the callbacks of written batches, in order, off the writer thread
  // when there is more to write: finishing an RPC writes to its socket, which
  // should not hold up the next write and fsync.
  void CompleterLoop();
  bool HasDoneOrWriterStopped() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(done_mu_) {
    return !done_.empty() || writer_stopped_;
  }
  // Counts `pending`'s outcome and calls its callback.
  void Complete(std::unique_ptr<Pending> pending);
  // Counts a lost record (kFailOpen) and reports losses at most once a second.
  void ReportLoss(const absl::Status& status);
  // Reports a problem that does not lose records, at most once a second.
  void Warn(const std::string& message);

  const AuditLogOptions options_;

  // The file and the chain: held while writing.
  absl::Mutex mu_;
  int fd_ ABSL_GUARDED_BY(mu_) = -1;
  bool regular_file_ ABSL_GUARDED_BY(mu_) = true;
  // Size of the file up to the end of its last good record.
  int64_t file_size_ ABSL_GUARDED_BY(mu_) = 0;
  // A failed write could not be cut back yet: do it before the next write.
  bool needs_truncate_ ABSL_GUARDED_BY(mu_) = false;
  // Sequence of the current file's first record (0: none yet), for its name.
  uint64_t file_first_sequence_ ABSL_GUARDED_BY(mu_) = 0;
  // After a failed rename, rotation is retried no sooner than this.
  absl::Time retry_rotation_after_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  uint64_t next_sequence_ ABSL_GUARDED_BY(mu_) = 1;
  std::string previous_sha256_ ABSL_GUARDED_BY(mu_) = kGenesisHash;
  // Chosen or recovered by Open(), constant afterwards.
  std::string lineage_;

  // kFsync, kGroupCommit: records waiting for the writer thread.
  absl::Mutex queue_mu_;
  std::vector<std::unique_ptr<Pending>> queue_ ABSL_GUARDED_BY(queue_mu_);
  absl::Time oldest_queued_ ABSL_GUARDED_BY(queue_mu_);
  bool stopping_ ABSL_GUARDED_BY(queue_mu_) = false;
  // Batches being written (by the writer thread, or by a caller writing its
  // lone record itself): a caller leads only when this is 0.
  int writing_ ABSL_GUARDED_BY(queue_mu_) = 0;
  std::thread writer_;

  // Written batches whose callbacks have not run yet.
  absl::Mutex done_mu_;
  std::vector<Batch> done_ ABSL_GUARDED_BY(done_mu_);
  bool writer_stopped_ ABSL_GUARDED_BY(done_mu_) = false;
  // The completion thread is running callbacks (so a later batch must queue
  // behind them to keep record order).
  bool completing_ ABSL_GUARDED_BY(done_mu_) = false;
  std::thread completer_;

  std::atomic<uint64_t> written_{0};
  std::atomic<uint64_t> lost_{0};
  std::atomic<uint64_t> rotated_{0};

  // Rate limit for stderr reports.
  absl::Mutex report_mu_;
  absl::Time last_loss_report_ ABSL_GUARDED_BY(report_mu_) = absl::InfinitePast();
  uint64_t unreported_losses_ ABSL_GUARDED_BY(report_mu_) = 0;
  std::string last_loss_reason_ ABSL_GUARDED_BY(report_mu_);
  absl::Time last_warning_ ABSL_GUARDED_BY(report_mu_) = absl::InfinitePast();
};

}  // namespace chainverify::audit

#endif  // CHAINVERIFY_SERVER_AUDIT_AUDIT_LOG_H_
