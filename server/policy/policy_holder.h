// The serving trust policy, replaceable while the server runs. A reload (file
// change, SIGHUP, PolicyAdmin.ReloadPolicy) loads and checks the whole new file
// before swapping it in; a file that does not load leaves the old policy
// serving and is remembered for operators.
#ifndef CHAINVERIFY_SERVER_POLICY_POLICY_HOLDER_H_
#define CHAINVERIFY_SERVER_POLICY_POLICY_HOLDER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "server/pki/path_builder.h"
#include "server/policy/policy_store.h"

namespace chainverify::policy {

class PolicyHolder {
 public:
  // What a successful reload replaced.
  struct ReloadOutcome {
    std::string previous_version;
    std::string version;
  };

  // A consistent view of the holder, for reporting (PolicyAdmin.GetPolicy).
  struct Snapshot {
    std::shared_ptr<const PolicySet> policies;
    // When `policies` was loaded.
    absl::Time loaded_at;
    // The last reload attempt, successful or not; InfinitePast before any.
    absl::Time last_reload_time;
    // Why the last reload attempt failed; OK when it succeeded or none was made.
    absl::Status last_error;
    // Failed reload attempts since start.
    int64_t reload_failures = 0;
  };

  // Loads `path`, or the embedded default when `path` is empty. Fails when the
  // policy does not load: the server must not start without one.
  static absl::StatusOr<std::unique_ptr<PolicyHolder>> Create(
      const std::string& path, const pki::SearchLimits& limits);

  // Serves `initial`, which was loaded from `path` (empty: the embedded
  // default, which cannot be reloaded).
  PolicyHolder(std::shared_ptr<const PolicySet> initial, std::string path,
               const pki::SearchLimits& limits);
  PolicyHolder(const PolicyHolder&) = delete;
  PolicyHolder& operator=(const PolicyHolder&) = delete;
  // Stops the watcher; waits only for a reload already in progress.
  ~PolicyHolder();

  // The serving policy. Take it once per request and keep it for the whole
  // request: a reload swaps the holder's pointer, never the set a caller holds.
  std::shared_ptr<const PolicySet> Current() const ABSL_LOCKS_EXCLUDED(mu_);

  // The policy file; empty for the embedded default.
  const std::string& path() const { return path_; }
  bool reloadable() const { return !path_.empty(); }

  // Reads, parses and compiles the file completely, and only then swaps it in.
  // On failure the serving policy is unchanged and the error is recorded
  // (last_error(), reload_failures()). FAILED_PRECONDITION when there is no
  // policy file. `outcome` (optional) is filled on success.
  absl::Status ReloadFromFile(ReloadOutcome* outcome = nullptr)
      ABSL_LOCKS_EXCLUDED(reload_mu_, mu_);

  // Starts a thread that checks the file every `interval` and reloads when its
  // inode, mtime, size or content SHA-256 differ from the last load attempt.
  // The path is stat()ed each time, so a replaced file or a swapped symlink
  // (Kubernetes ConfigMap updates) is seen. FAILED_PRECONDITION without a policy file or
  // when already watching; INVALID_ARGUMENT when `interval` is not positive.
  absl::Status StartWatching(absl::Duration interval) ABSL_LOCKS_EXCLUDED(mu_);

  absl::Status last_error() const ABSL_LOCKS_EXCLUDED(mu_);
  int64_t reload_failures() const ABSL_LOCKS_EXCLUDED(mu_);
  absl::Time last_reload_time() const ABSL_LOCKS_EXCLUDED(mu_);
  absl::Time loaded_at() const ABSL_LOCKS_EXCLUDED(mu_);
  Snapshot snapshot() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  // What the watcher compares. `exists` false when stat() failed. The inode
  // marks a replaced file even when its text and mtime tick are unchanged: a
  // ConfigMap update that changes only a trust PEM beside the policy still
  // writes a new policy file, and the anchors must be reloaded with it.
  struct Fingerprint {
    bool exists = false;
    uint64_t device = 0;
    uint64_t inode = 0;
    int64_t mtime_ns = 0;
    int64_t size = 0;
    std::string sha256;
    bool operator==(const Fingerprint& o) const {
      return exists == o.exists && device == o.device && inode == o.inode &&
             mtime_ns == o.mtime_ns && size == o.size && sha256 == o.sha256;
    }
    bool operator!=(const Fingerprint& o) const { return !(*this == o); }
  };
  static Fingerprint TakeFingerprint(const std::string& path);

  absl::Status ReloadLocked(Fingerprint before, ReloadOutcome* outcome)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(reload_mu_) ABSL_LOCKS_EXCLUDED(mu_);
  void Watch(absl::Duration interval);

  const std::string path_;
  const pki::SearchLimits limits_;

  // Serializes reloads (watcher, SIGHUP, RPC), so that parsing happens outside
  // `mu_` and Current() never waits for a file to load.
  absl::Mutex reload_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  // The file as of the last load attempt.
  Fingerprint last_fingerprint_ ABSL_GUARDED_BY(reload_mu_);

  mutable absl::Mutex mu_;
  std::shared_ptr<const PolicySet> current_ ABSL_GUARDED_BY(mu_);
  absl::Time loaded_at_ ABSL_GUARDED_BY(mu_);
  absl::Time last_reload_time_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Status last_error_ ABSL_GUARDED_BY(mu_);
  int64_t reload_failures_ ABSL_GUARDED_BY(mu_) = 0;
  bool watching_ ABSL_GUARDED_BY(mu_) = false;

  absl::Notification stop_;
  std::thread watcher_;
};

}  // namespace chainverify::policy

#endif  // CHAINVERIFY_SERVER_POLICY_POLICY_HOLDER_H_
