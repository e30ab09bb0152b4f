#include "server/policy/policy_holder.h"
#include "server/logging/log.h"

#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "server/pki/openssl_util.h"

namespace chainverify::policy {

absl::StatusOr<std::unique_ptr<PolicyHolder>> PolicyHolder::Create(
    const std::string& path, const pki::SearchLimits& limits) {
  if (path.empty()) {
    absl::StatusOr<std::shared_ptr<const PolicySet>> embedded = PolicySet::Embedded(limits);
    if (!embedded.ok()) return embedded.status();
    return std::make_unique<PolicyHolder>(*std::move(embedded), "", limits);
  }
  // Fingerprint before loading: a change while loading then shows on the next
  // poll instead of being taken for the version just loaded.
  Fingerprint before = TakeFingerprint(path);
  absl::StatusOr<std::shared_ptr<const PolicySet>> loaded = PolicySet::FromFile(path, limits);
  if (!loaded.ok()) return loaded.status();
  auto holder = std::make_unique<PolicyHolder>(*std::move(loaded), path, limits);
  absl::MutexLock lock(&holder->reload_mu_);
  holder->last_fingerprint_ = std::move(before);
  return holder;
}

PolicyHolder::PolicyHolder(std::shared_ptr<const PolicySet> initial, std::string path,
                           const pki::SearchLimits& limits)
    : path_(std::move(path)),
      limits_(limits),
      current_(std::move(initial)),
      loaded_at_(absl::Now()) {
  if (!path_.empty()) {
    absl::MutexLock lock(&reload_mu_);
    last_fingerprint_ = TakeFingerprint(path_);
  }
}

PolicyHolder::~PolicyHolder() {
  stop_.Notify();
  if (watcher_.joinable()) watcher_.join();
}

std::shared_ptr<const PolicySet> PolicyHolder::Current() const {
  absl::ReaderMutexLock lock(&mu_);
  return current_;
}

PolicyHolder::Fingerprint PolicyHolder::TakeFingerprint(const std::string& path) {
  Fingerprint fp;
  // stat() the path, not an open descriptor: a ConfigMap update swaps a
  // symlink, and an editor may replace the file with a new inode.
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return fp;
  std::ifstream in(path, std::ios::binary);
  if (!in) return fp;
  std::ostringstream content;
  content << in.rdbuf();
  fp.exists = true;
  fp.device = static_cast<uint64_t>(st.st_dev);
  fp.inode = static_cast<uint64_t>(st.st_ino);
  fp.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  fp.size = static_cast<int64_t>(st.st_size);
  // The content hash catches a rewrite within one mtime tick at the same size.
  fp.sha256 = pki::Sha256(content.str());
  return fp;
}

absl::Status PolicyHolder::ReloadFromFile(ReloadOutcome* outcome) {
  if (path_.empty()) {
    return absl::FailedPreconditionError(
        "the server runs the embedded default policy (no --policy_file); there is no "
        "file to reload from");
  }
  absl::MutexLock lock(&reload_mu_);
  return ReloadLocked(TakeFingerprint(path_), outcome);
}

absl::Status PolicyHolder::ReloadLocked(Fingerprint before, ReloadOutcome* outcome) {
  // Taken before reading the file (see Create()).
  last_fingerprint_ = std::move(before);
  // Everything that can fail happens here, before the swap.
  absl::StatusOr<std::shared_ptr<const PolicySet>> loaded = PolicySet::FromFile(path_, limits_);
  const absl::Time now = absl::Now();

  absl::MutexLock lock(&mu_);
  last_reload_time_ = now;
  if (!loaded.ok()) {
    last_error_ = loaded.status();
    ++reload_failures_;
    logging::LogEvent(logging::LogLevel::kError, "policy_reload_refused",
                      {{"path", path_},
                       {"serving_version", current_->version()},
                       {"error", std::string(loaded.status().message())}});
    return loaded.status();
  }
  std::string previous_version = current_->version();
  // The old set stays alive for the requests still holding it.
  current_ = *std::move(loaded);
  loaded_at_ = now;
  last_error_ = absl::OkStatus();
  logging::LogEvent(logging::LogLevel::kInfo, "policy_reloaded",
                    {{"path", path_},
                     {"previous_version", previous_version},
                     {"version", current_->version()}});
  for (const std::string& warning : current_->warnings()) {
    logging::LogEvent(logging::LogLevel::kWarning, "policy_warning", {{"warning", warning}});
  }
  if (outcome != nullptr) {
    outcome->previous_version = std::move(previous_version);
    outcome->version = current_->version();
  }
  return absl::OkStatus();
}

absl::Status PolicyHolder::StartWatching(absl::Duration interval) {
  if (path_.empty()) {
    return absl::FailedPreconditionError("no policy file to watch (embedded default policy)");
  }
  if (interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("watch interval must be positive, got ", absl::FormatDuration(interval)));
  }
  absl::MutexLock lock(&mu_);
  if (watching_) return absl::FailedPreconditionError("already watching the policy file");
  watching_ = true;
  watcher_ = std::thread([this, interval] { Watch(interval); });
  return absl::OkStatus();
}

void PolicyHolder::Watch(absl::Duration interval) {
  // Wakes up at once when the destructor notifies, so shutdown never waits for
  // a full interval.
  while (!stop_.WaitForNotificationWithTimeout(interval)) {
    absl::MutexLock lock(&reload_mu_);
    Fingerprint now = TakeFingerprint(path_);
    // Compared with the last attempt, not the last success: a broken file is
    // reported once, not on every poll, and retried when it changes again.
    if (now == last_fingerprint_) continue;
    ReloadLocked(std::move(now), nullptr).IgnoreError();  // Recorded in last_error_.
  }
}

absl::Status PolicyHolder::last_error() const {
  absl::ReaderMutexLock lock(&mu_);
  return last_error_;
}

int64_t PolicyHolder::reload_failures() const {
  absl::ReaderMutexLock lock(&mu_);
  return reload_failures_;
}

absl::Time PolicyHolder::last_reload_time() const {
  absl::ReaderMutexLock lock(&mu_);
  return last_reload_time_;
}

absl::Time PolicyHolder::loaded_at() const {
  absl::ReaderMutexLock lock(&mu_);
  return loaded_at_;
}

PolicyHolder::Snapshot PolicyHolder::snapshot() const {
  absl::ReaderMutexLock lock(&mu_);
  Snapshot s;
  s.policies = current_;
  s.loaded_at = loaded_at_;
  s.last_reload_time = last_reload_time_;
  s.last_error = last_error_;
  s.reload_failures = reload_failures_;
  return s;
}

}  // namespace chainverify::policy
