#include "server/audit/audit_log.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"
#include "server/pki/openssl_util.h"

namespace chainverify::audit {
namespace {

absl::Status MakeParentDirectories(const std::string& path) {
  for (size_t pos = path.find('/', 1); pos != std::string::npos;
       pos = path.find('/', pos + 1)) {
    std::string dir = path.substr(0, pos);
    if (mkdir(dir.c_str(), 0750) != 0 && errno != EEXIST) {
      return absl::PermissionDeniedError(
          absl::StrCat("cannot create ", dir, ": ", std::strerror(errno)));
    }
  }
  return absl::OkStatus();
}

// The last complete line of the file, or empty.
std::string LastLine(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string line, last;
  while (std::getline(in, line)) {
    if (!in.eof() && !line.empty()) last = line;  // Skip a torn final line.
  }
  return last;
}

}  // namespace

std::string RecordToJsonLine(const v1::AuditRecord& record) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  std::string json;
  google::protobuf::util::MessageToJsonString(record, &json, options);
  return json;
}

absl::StatusOr<std::unique_ptr<AuditLog>> AuditLog::Open(const AuditLogOptions& options) {
  absl::Status dirs = MakeParentDirectories(options.path);
  if (!dirs.ok()) return dirs;
  std::unique_ptr<AuditLog> log(new AuditLog(options));
  absl::MutexLock lock(&log->mu_);
  log->previous_sha256_ = kGenesisHash;
  const std::string last = LastLine(options.path);
  if (!last.empty()) {
    v1::AuditRecord record;
    google::protobuf::util::JsonParseOptions parse;
    parse.ignore_unknown_fields = true;
    if (!google::protobuf::util::JsonStringToMessage(last, &record, parse).ok()) {
      return absl::DataLossError(absl::StrCat(
          options.path, ": last record is not valid JSON; refusing to continue the chain"));
    }
    log->next_sequence_ = record.sequence() + 1;
    log->previous_sha256_ = pki::HexEncode(pki::Sha256(last));
  }
  log->fd_ = open(options.path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (log->fd_ < 0) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot open audit log ", options.path, ": ", std::strerror(errno)));
  }
  return log;
}

AuditLog::~AuditLog() {
  absl::MutexLock lock(&mu_);
  if (fd_ >= 0) {
    fsync(fd_);
    close(fd_);
  }
}

absl::Status AuditLog::Append(v1::AuditRecord record) {
  absl::MutexLock lock(&mu_);
  record.set_sequence(next_sequence_);
  record.set_previous_record_sha256(previous_sha256_);
  const std::string json = RecordToJsonLine(record);
  const std::string line = json + "\n";
  size_t done = 0;
  while (done < line.size()) {
    ssize_t n = write(fd_, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return absl::UnavailableError(
          absl::StrCat("audit log write failed: ", std::strerror(errno)));
    }
    done += static_cast<size_t>(n);
  }
  if (options_.fsync_each_record && fsync(fd_) != 0) {
    return absl::UnavailableError(absl::StrCat("audit log fsync failed: ", std::strerror(errno)));
  }
  if (options_.mirror_to_stdout) {
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fflush(stdout);
  }
  ++next_sequence_;
  ++written_;
  previous_sha256_ = pki::HexEncode(pki::Sha256(json));
  return absl::OkStatus();
}

uint64_t AuditLog::records_written() const {
  absl::MutexLock lock(&mu_);
  return written_;
}

}  // namespace chainverify::audit
