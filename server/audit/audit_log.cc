#include "server/audit/audit_log.h"
#include "server/logging/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <openssl/rand.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "server/pki/openssl_util.h"

namespace chainverify::audit {
namespace {

std::string ErrnoText(int error) { return std::strerror(error); }

absl::Status MakeParentDirectories(const std::string& path) {
  for (size_t pos = path.find('/', 1); pos != std::string::npos; pos = path.find('/', pos + 1)) {
    std::string dir = path.substr(0, pos);
    if (mkdir(dir.c_str(), 0750) != 0 && errno != EEXIST) {
      return absl::PermissionDeniedError(
          absl::StrCat("cannot create ", dir, ": ", ErrnoText(errno)));
    }
  }
  return absl::OkStatus();
}

std::string DirectoryOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string BaseName(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// Makes a rename or a new file in `dir` durable.
void SyncDirectory(const std::string& dir) {
  const int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  fsync(fd);
  close(fd);
}

// Reads [offset, offset + size) of `fd`.
absl::StatusOr<std::string> ReadAt(int fd, int64_t offset, size_t size) {
  std::string data(size, '\0');
  size_t done = 0;
  while (done < size) {
    const ssize_t n = pread(fd, data.data() + done, size - done, offset + done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return absl::DataLossError(ErrnoText(errno));
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  data.resize(done);
  return data;
}

// The parts of a log file that Open() needs.
struct FileEnds {
  int64_t complete_size = 0;  // Up to and including the last '\n'.
  int64_t size = 0;
  std::string first_line;  // First and last complete lines, or empty.
  std::string last_line;
};

// Reads backwards from the end, so a large file costs a few reads.
absl::StatusOr<FileEnds> ReadFileEnds(const std::string& path) {
  FileEnds ends;
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return absl::PermissionDeniedError(absl::StrCat("cannot read ", path, ": ", ErrnoText(errno)));
  struct stat st;
  if (fstat(fd, &st) != 0) {
    close(fd);
    return absl::DataLossError(absl::StrCat("cannot stat ", path));
  }
  ends.size = st.st_size;
  for (int64_t window = 64 << 10;; window *= 2) {
    const int64_t start = std::max<int64_t>(0, ends.size - window);
    absl::StatusOr<std::string> tail = ReadAt(fd, start, ends.size - start);
    if (!tail.ok()) {
      close(fd);
      return absl::DataLossError(absl::StrCat("cannot read ", path, ": ", tail.status().message()));
    }
    const size_t last_newline = tail->rfind('\n');
    if (last_newline == std::string::npos) {
      if (start > 0) continue;  // No complete line in the window yet.
      break;                    // No complete line at all.
    }
    const size_t before =
        last_newline == 0 ? std::string::npos : tail->rfind('\n', last_newline - 1);
    if (before == std::string::npos && start > 0) continue;
    ends.complete_size = start + static_cast<int64_t>(last_newline) + 1;
    const size_t line_start = before == std::string::npos ? 0 : before + 1;
    ends.last_line = tail->substr(line_start, last_newline - line_start);
    break;
  }
  // The first line, for the rotated file's name.
  for (int64_t read = 0; read < ends.complete_size;) {
    absl::StatusOr<std::string> chunk = ReadAt(
        fd, read, static_cast<size_t>(std::min<int64_t>(64 << 10, ends.complete_size - read)));
    if (!chunk.ok() || chunk->empty()) break;
    const size_t newline = chunk->find('\n');
    if (newline != std::string::npos) {
      ends.first_line.append(*chunk, 0, newline);
      break;
    }
    ends.first_line += *chunk;
    read += static_cast<int64_t>(chunk->size());
  }
  close(fd);
  return ends;
}

// The first sequence a rotated file's name gives, or nullopt when `name` is
// not `base`.<YYYYMMDDTHHMMSSZ>.<sequence>[.<n>].
std::optional<uint64_t> RotatedFirstSequence(absl::string_view name, absl::string_view base) {
  if (name.size() <= base.size() + 1 || name.substr(0, base.size()) != base ||
      name[base.size()] != '.') {
    return std::nullopt;
  }
  absl::string_view rest = name.substr(base.size() + 1);
  if (rest.size() < 18 || rest[8] != 'T' || rest[15] != 'Z' || rest[16] != '.') return std::nullopt;
  for (int i : {0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14}) {
    if (!absl::ascii_isdigit(rest[i])) return std::nullopt;
  }
  absl::string_view sequence = rest.substr(17);
  sequence = sequence.substr(0, sequence.find('.'));
  uint64_t value = 0;
  if (!absl::SimpleAtoi(sequence, &value)) return std::nullopt;
  return value;
}

// The newest rotated file of `path`, or empty.
std::string NewestRotatedFile(const std::string& path) {
  const std::string dir = DirectoryOf(path);
  const std::string base = BaseName(path);
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return "";
  std::string newest;
  uint64_t newest_sequence = 0;
  while (dirent* entry = readdir(d)) {
    const std::string name = entry->d_name;
    std::optional<uint64_t> first = RotatedFirstSequence(name, base);
    if (!first.has_value()) continue;
    if (newest.empty() || *first > newest_sequence ||
        (*first == newest_sequence && name > BaseName(newest))) {
      newest = absl::StrCat(dir, "/", name);
      newest_sequence = *first;
    }
  }
  closedir(d);
  return newest;
}

// A random (version 4) UUID, RFC 9562 section 5.4: the id of a new lineage.
absl::StatusOr<std::string> NewLineage() {
  unsigned char b[16];
  if (RAND_bytes(b, sizeof(b)) != 1) {
    return absl::InternalError("cannot draw random bytes for the audit log's lineage");
  }
  b[6] = (b[6] & 0x0F) | 0x40;  // Version 4.
  b[8] = (b[8] & 0x3F) | 0x80;  // Variant 10.
  const std::string hex = pki::HexEncode(absl::string_view(reinterpret_cast<char*>(b), 16));
  return absl::StrCat(hex.substr(0, 8), "-", hex.substr(8, 4), "-", hex.substr(12, 4), "-",
                      hex.substr(16, 4), "-", hex.substr(20));
}

std::string RotatedName(const std::string& path, absl::Time now, uint64_t first_sequence) {
  const std::string name = absl::StrCat(
      path, ".", absl::FormatTime("%Y%m%dT%H%M%SZ", now, absl::UTCTimeZone()), ".", first_sequence);
  std::string candidate = name;
  struct stat st;
  for (int n = 1; lstat(candidate.c_str(), &st) == 0; ++n) {
    candidate = absl::StrCat(name, ".", n);
  }
  return candidate;
}

}  // namespace

bool AbslParseFlag(absl::string_view text, AuditDurability* mode, std::string* error) {
  if (text == "fsync") {
    *mode = AuditDurability::kFsync;
  } else if (text == "group_commit") {
    *mode = AuditDurability::kGroupCommit;
  } else if (text == "none") {
    *mode = AuditDurability::kNone;
  } else {
    *error = "must be fsync, group_commit or none";
    return false;
  }
  return true;
}

std::string AbslUnparseFlag(AuditDurability mode) {
  switch (mode) {
    case AuditDurability::kFsync:
      return "fsync";
    case AuditDurability::kGroupCommit:
      return "group_commit";
    case AuditDurability::kNone:
      return "none";
  }
  return "fsync";
}

bool AbslParseFlag(absl::string_view text, AuditFailureMode* mode, std::string* error) {
  if (text == "fail_closed") {
    *mode = AuditFailureMode::kFailClosed;
  } else if (text == "fail_open") {
    *mode = AuditFailureMode::kFailOpen;
  } else {
    *error = "must be fail_closed or fail_open";
    return false;
  }
  return true;
}

std::string AbslUnparseFlag(AuditFailureMode mode) {
  return mode == AuditFailureMode::kFailOpen ? "fail_open" : "fail_closed";
}

absl::StatusOr<std::unique_ptr<AuditLog>> AuditLog::Open(const AuditLogOptions& options) {
  if (options.path.empty()) return absl::InvalidArgumentError("audit log path is empty");
  absl::Status dirs = MakeParentDirectories(options.path);
  if (!dirs.ok()) return dirs;
  std::unique_ptr<AuditLog> log(new AuditLog(options));
  {
    absl::MutexLock lock(&log->mu_);
    absl::Status recovered = log->Recover();
    if (!recovered.ok()) return recovered;
  }
  if (log->lineage_.empty()) {
    // No record to continue (or one from before lineages): a new lineage.
    absl::StatusOr<std::string> lineage = NewLineage();
    if (!lineage.ok()) return lineage.status();
    log->lineage_ = *std::move(lineage);
  }
  if (options.durability != AuditDurability::kNone) {
    log->writer_ = std::thread([raw = log.get()] { raw->WriterLoop(); });
    log->completer_ = std::thread([raw = log.get()] { raw->CompleterLoop(); });
  }
  return log;
}

absl::Status AuditLog::Recover() {
  const std::string& path = options_.path;
  fd_ = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd_ < 0) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot open audit log ", path, ": ", ErrnoText(errno)));
  }
  struct stat st;
  if (fstat(fd_, &st) != 0) {
    return absl::PermissionDeniedError(absl::StrCat("cannot stat audit log ", path));
  }
  regular_file_ = S_ISREG(st.st_mode);
  // A device or pipe has no history to continue.
  if (!regular_file_) return absl::OkStatus();
  SyncDirectory(DirectoryOf(path));

  absl::StatusOr<FileEnds> ends = ReadFileEnds(path);
  if (!ends.ok()) return ends.status();
  if (ends->complete_size < ends->size) {
    // Never acknowledged (its write did not finish), and later lines must
    // not be glued onto it.
    if (ftruncate(fd_, ends->complete_size) != 0 || fsync(fd_) != 0) {
      return absl::PermissionDeniedError(absl::StrCat("cannot cut the incomplete final record off ",
                                                      path, ": ", ErrnoText(errno)));
    }
    // An interrupted write, never acknowledged to any client.
    logging::LogEvent(logging::LogLevel::kWarning, "audit_incomplete_record_removed",
                      {{"path", path},
                       {"bytes", absl::StrCat(ends->size - ends->complete_size)}});
  }
  file_size_ = ends->complete_size;

  std::string last_line = ends->last_line;
  std::string source = path;
  if (last_line.empty()) {
    // A fresh file after a rotation: the chain continues from the newest
    // rotated file.
    source = NewestRotatedFile(path);
    if (source.empty()) return absl::OkStatus();  // A new log: genesis.
    absl::StatusOr<FileEnds> rotated = ReadFileEnds(source);
    if (!rotated.ok()) return rotated.status();
    last_line = rotated->last_line;
    if (last_line.empty()) return absl::OkStatus();
  } else if (absl::StatusOr<v1::AuditRecord> first = ParseRecordLine(ends->first_line);
             first.ok()) {
    file_first_sequence_ = first->sequence();
  }
  absl::StatusOr<v1::AuditRecord> last = ParseRecordLine(last_line);
  if (!last.ok()) {
    return absl::DataLossError(absl::StrCat(source, ": last record is not valid (",
                                            last.status().message(),
                                            "); refusing to continue the chain"));
  }
  next_sequence_ = last->sequence() + 1;
  previous_sha256_ = LineSha256(last_line);
  // A log from before lineages keeps its chain under a new lineage (the
  // verifier links the two at this record).
  if (!last->lineage().empty()) lineage_ = last->lineage();
  return absl::OkStatus();
}

AuditLog::~AuditLog() {
  if (writer_.joinable()) {
    {
      absl::MutexLock lock(&queue_mu_);
      stopping_ = true;
    }
    writer_.join();  // Writes whatever is still queued.
    {
      absl::MutexLock lock(&done_mu_);
      writer_stopped_ = true;
    }
    completer_.join();  // Calls back whatever was written.
  }
  {
    absl::MutexLock lock(&mu_);
    if (fd_ >= 0) {
      if (regular_file_) fsync(fd_);
      close(fd_);
      fd_ = -1;
    }
  }
  absl::MutexLock lock(&report_mu_);
  if (unreported_losses_ > 0) {
    logging::LogEvent(logging::LogLevel::kError, "audit_records_lost",
                      {{"mode", "fail_open"},
                       {"lost_since_last_report", absl::StrCat(unreported_losses_)},
                       {"lost_total", absl::StrCat(lost_.load())},
                       {"error", last_loss_reason_}});
  }
}

absl::Status AuditLog::Append(v1::AuditRecord record) {
  absl::Notification written;
  absl::Status result;
  AppendAsync(std::move(record), [&](absl::Status status) {
    result = std::move(status);
    written.Notify();
  });
  written.WaitForNotification();
  return result;
}

void AuditLog::AppendAsync(v1::AuditRecord record, AppendCallback done) {
  auto pending = std::make_unique<Pending>();
  // Rendered here, on the caller's thread: the writer only chains it. The
  // lineage is fixed once Open() returns.
  record.clear_sequence();
  record.clear_previous_record_sha256();
  record.set_lineage(lineage_);
  record.set_instance(options_.instance);
  pending->body = RecordToJsonLine(record);
  pending->done = std::move(done);
  if (options_.durability == AuditDurability::kNone) {
    // No fsync to wait for: write() only copies into the page cache.
    Complete(WriteOne(std::move(pending)));
    return;
  }
  {
    absl::MutexLock lock(&queue_mu_);
    if (stopping_) {
      pending->status = absl::UnavailableError("audit log is closing");
    } else if (options_.durability == AuditDurability::kGroupCommit && queue_.empty() &&
               writing_ == 0) {
      // Nothing to batch with and no write in progress: this thread writes
      // and syncs its record itself, sparing a lone caller two thread
      // hand-overs (to the writer and back). Records that arrive meanwhile
      // queue for the writer thread, which writes them after this one.
      ++writing_;
    } else {
      if (queue_.empty()) oldest_queued_ = absl::Now();
      queue_.push_back(std::move(pending));
      return;
    }
  }
  if (pending->status.ok()) {
    pending = WriteOne(std::move(pending));
    absl::MutexLock lock(&queue_mu_);
    --writing_;
  }
  Complete(std::move(pending));
}

std::unique_ptr<AuditLog::Pending> AuditLog::WriteOne(std::unique_ptr<Pending> pending) {
  Batch batch;
  batch.push_back(std::move(pending));
  absl::MutexLock lock(&mu_);
  WriteBatch(batch);
  return std::move(batch[0]);
}

void AuditLog::Complete(std::unique_ptr<Pending> pending) {
  absl::Status status = std::move(pending->status);
  if (status.ok()) {
    written_.fetch_add(1);
  } else if (options_.failure_mode == AuditFailureMode::kFailOpen) {
    ReportLoss(status);
    status = absl::OkStatus();
  }
  AppendCallback done = std::move(pending->done);
  // The record's memory goes before the callback, which may start new work.
  pending.reset();
  std::move(done)(std::move(status));
}

void AuditLog::WriterLoop() {
  const bool one_at_a_time = options_.durability == AuditDurability::kFsync;
  for (;;) {
    Batch batch;
    {
      absl::MutexLock lock(&queue_mu_);
      queue_mu_.Await(absl::Condition(this, &AuditLog::HasWorkOrStopping));
      if (queue_.empty()) return;  // Stopping, nothing left.
      if (one_at_a_time) {
        // kFsync: one write and fsync per record, in arrival order.
        batch.push_back(std::move(queue_.front()));
        queue_.erase(queue_.begin());
        if (!queue_.empty()) oldest_queued_ = absl::Now();
      } else {
        // The batch is what queued while the previous write and fsync ran;
        // with a group_commit_delay, others may join until the oldest record
        // has waited that long.
        if (options_.group_commit_delay > absl::ZeroDuration()) {
          queue_mu_.AwaitWithDeadline(
              absl::Condition(this, &AuditLog::BatchFullOrStopping),
              oldest_queued_ + options_.group_commit_delay);
        }
        batch.swap(queue_);
      }
      ++writing_;
    }
    {
      absl::MutexLock lock(&mu_);
      WriteBatch(batch);
    }
    // The callbacks finish RPCs (socket writes). Under load the completion
    // thread runs them while this one writes the next batch; when nothing
    // else is waiting to be written or called back, this thread runs them at
    // once, saving a lone caller the hand-over.
    bool idle;
    {
      absl::MutexLock lock(&queue_mu_);
      --writing_;
      idle = queue_.empty();
    }
    {
      absl::MutexLock lock(&done_mu_);
      idle = idle && done_.empty() && !completing_;
      if (!idle) {
        done_.push_back(std::move(batch));
        continue;
      }
    }
    for (std::unique_ptr<Pending>& pending : batch) Complete(std::move(pending));
  }
}

void AuditLog::CompleterLoop() {
  for (;;) {
    std::vector<Batch> batches;
    {
      absl::MutexLock lock(&done_mu_);
      done_mu_.Await(absl::Condition(this, &AuditLog::HasDoneOrWriterStopped));
      if (done_.empty()) return;  // The writer stopped and everything is called back.
      batches.swap(done_);
      completing_ = true;
    }
    // Outside the locks: callbacks may append again.
    for (Batch& batch : batches) {
      for (std::unique_ptr<Pending>& pending : batch) Complete(std::move(pending));
    }
    absl::MutexLock lock(&done_mu_);
    completing_ = false;
  }
}

void AuditLog::WriteBatch(const Batch& batch) {
  size_t next = 0;  // batch[0, next) are written.
  absl::Status failure;
  while (next < batch.size()) {
    failure = EnsureOpen();
    if (!failure.ok()) break;
    // Chain as many records as fit in the current file.
    std::string chunk;
    uint64_t sequence = next_sequence_;
    std::string previous = previous_sha256_;
    size_t end = next;
    bool rotate = false;
    for (; end < batch.size(); ++end) {
      std::string json = ChainedRecordLine(sequence, previous, batch[end]->body);
      const int64_t used = file_size_ + static_cast<int64_t>(chunk.size());
      if (options_.max_file_bytes > 0 && regular_file_ && used > 0 &&
          used + static_cast<int64_t>(json.size()) + 1 > options_.max_file_bytes &&
          absl::Now() >= retry_rotation_after_) {
        rotate = true;
        break;
      }
      previous = LineSha256(json);
      ++sequence;
      absl::StrAppend(&chunk, json, "\n");
    }
    if (!chunk.empty()) {
      failure = WriteChunk(chunk);
      if (!failure.ok()) break;
      if (file_first_sequence_ == 0) file_first_sequence_ = next_sequence_;
      next_sequence_ = sequence;
      previous_sha256_ = std::move(previous);
      for (size_t i = next; i < end; ++i) batch[i]->status = absl::OkStatus();
      if (options_.mirror_to_stdout) {
        std::fwrite(chunk.data(), 1, chunk.size(), stdout);
        std::fflush(stdout);
      }
      next = end;
    }
    if (rotate) {
      failure = Rotate();
      if (!failure.ok()) break;
    }
  }
  for (size_t i = next; i < batch.size(); ++i) batch[i]->status = failure;
}

absl::Status AuditLog::WriteChunk(const std::string& chunk) {
  if (needs_truncate_) {
    if (ftruncate(fd_, file_size_) != 0) {
      return absl::UnavailableError(absl::StrCat(
          "audit log write failed: cannot cut back an earlier failed write: ", ErrnoText(errno)));
    }
    needs_truncate_ = false;
  }
  auto cut_back = [this](const std::string& what, int error) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    // O_APPEND: the next write lands at file_size_ once the tail is gone.
    if (regular_file_ && ftruncate(fd_, file_size_) != 0) needs_truncate_ = true;
    return absl::UnavailableError(absl::StrCat("audit log ", what, " failed: ", ErrnoText(error)));
  };
  size_t done = 0;
  while (done < chunk.size()) {
    const ssize_t n = write(fd_, chunk.data() + done, chunk.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return cut_back("write", errno);
    if (n == 0) return cut_back("write", EIO);
    done += static_cast<size_t>(n);
  }
  if (options_.durability != AuditDurability::kNone && regular_file_ && fsync(fd_) != 0) {
    // After a failed fsync the data's fate is unknown: take it out.
    return cut_back("fsync", errno);
  }
  file_size_ += static_cast<int64_t>(chunk.size());
  return absl::OkStatus();
}

absl::Status AuditLog::EnsureOpen() {
  if (fd_ >= 0) return absl::OkStatus();
  fd_ = open(options_.path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd_ < 0) {
    return absl::UnavailableError(
        absl::StrCat("audit log open failed: ", options_.path, ": ", ErrnoText(errno)));
  }
  struct stat st;
  if (fstat(fd_, &st) == 0) {
    regular_file_ = S_ISREG(st.st_mode);
    file_size_ = regular_file_ ? st.st_size : 0;
  }
  needs_truncate_ = false;
  file_first_sequence_ = 0;
  SyncDirectory(DirectoryOf(options_.path));
  return absl::OkStatus();
}

absl::Status AuditLog::Rotate() {
  const absl::Time now = absl::Now();
  const std::string target = RotatedName(
      options_.path, now, file_first_sequence_ == 0 ? next_sequence_ : file_first_sequence_);
  if (rename(options_.path.c_str(), target.c_str()) != 0) {
    // The record can still be written: keep the file growing and retry later.
    Warn(absl::StrCat("cannot rotate ", options_.path, " to ", target, ": ", ErrnoText(errno),
                      "; still writing to ", options_.path));
    retry_rotation_after_ = now + absl::Seconds(1);
    return absl::OkStatus();
  }
  SyncDirectory(DirectoryOf(options_.path));
  close(fd_);
  fd_ = -1;
  rotated_.fetch_add(1);
  return EnsureOpen();
}

void AuditLog::ReportLoss(const absl::Status& status) {
  lost_.fetch_add(1);
  absl::MutexLock lock(&report_mu_);
  ++unreported_losses_;
  last_loss_reason_ = std::string(status.message());
  const absl::Time now = absl::Now();
  if (now - last_loss_report_ < absl::Seconds(1)) return;
  logging::LogEvent(logging::LogLevel::kError, "audit_records_lost",
                    {{"mode", "fail_open"},
                     {"lost_since_last_report", absl::StrCat(unreported_losses_)},
                     {"lost_total", absl::StrCat(lost_.load())},
                     {"error", last_loss_reason_}});
  last_loss_report_ = now;
  unreported_losses_ = 0;
}

void AuditLog::Warn(const std::string& message) {
  absl::MutexLock lock(&report_mu_);
  const absl::Time now = absl::Now();
  if (now - last_warning_ < absl::Seconds(1)) return;
  logging::LogEvent(logging::LogLevel::kWarning, "audit_log", {{"message", message}});
  last_warning_ = now;
}

}  // namespace chainverify::audit
