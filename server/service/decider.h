// From a VerifyRequest to a VerifyResponse and its audit record: request
// checks, policy lookup, the verification core, the audit log. Transport-free,
// so the unary and streaming handlers (and tests) share it.
#ifndef CHAINVERIFY_SERVER_SERVICE_DECIDER_H_
#define CHAINVERIFY_SERVER_SERVICE_DECIDER_H_

#include <memory>
#include <string>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "chainverify/v1/verifier.pb.h"
#include "server/audit/audit_log.h"
#include "server/pki/caches.h"
#include "server/pki/verifier.h"
#include "server/policy/policy_holder.h"
#include "server/policy/policy_store.h"
#include "server/service/metrics.h"
#include "server/service/worker_pool.h"

namespace chainverify::service {

// Limits on a request's shape, checked before any parsing. README "Limits".
struct RequestLimits {
  int max_certificates = 32;
  int max_certificate_bytes = 64 * 1024;
  int max_ocsp_response_bytes = 64 * 1024;
  int max_peer_name_bytes = 253;
  int max_request_id_bytes = 128;
  int max_labels = 16;
  int max_label_bytes = 128;
};

// A decided VerifyResponse, in two parts: this call's own fields, and the
// verdict's, which a cached result shares with every call it answers. The
// serialized head followed by the serialized verdict is the serialized
// response (protobuf merges the two), so the service sends the verdict's
// bytes as they are, without building or copying the message.
struct Decision {
  // request_id, policy_name, policy_version, decision_id, evaluated_at.
  v1::VerifyResponse head;
  // verdict, status, the chain, unused indices, errors, revocation, issuer
  // fetches (pki::FillVerdict's fields), serialized (pki::RenderVerdict).
  std::shared_ptr<const pki::RenderedVerdict> verdict;
  // What the metrics count of it.
  DecisionSummary summary;

  // The whole response as one message (a copy: for tests and tools).
  v1::VerifyResponse Message() const;
};

class Decider {
 public:
  // `policies` (not owned) must outlive the Decider; it may be reloaded at
  // any time.
  Decider(policy::PolicyHolder* policies, audit::AuditLog* audit_log, RequestLimits limits)
      : policies_(policies), audit_log_(audit_log), limits_(limits) {}

  // Errors: INVALID_ARGUMENT (malformed request), NOT_FOUND (unknown policy),
  // UNAVAILABLE (the decision could not be audit-logged, fail_closed).
  absl::StatusOr<v1::VerifyResponse> Decide(const v1::VerifyRequest& request,
                                            const std::string& caller);
  // Decides with `policies`, the snapshot the caller was authorized against,
  // so that a reload between the two cannot change the policy in between.
  // `deadline` is the client's: the search stops there, and a request that
  // arrives past it is DEADLINE_EXCEEDED without any work.
  absl::StatusOr<v1::VerifyResponse> Decide(const v1::VerifyRequest& request,
                                            const std::string& caller,
                                            std::shared_ptr<const policy::PolicySet> policies,
                                            absl::Time deadline = absl::InfiniteFuture());

  // Decide() without waiting for the disk: fills `*decision` (which must stay
  // valid until `done` runs) and calls `done` exactly once with what Decide()
  // would have returned as its status. A decision is handed over only after
  // its audit record is durable (AuditLog::AppendAsync), so `done` may run on
  // the audit writer's thread; errors found before that (and, under
  // --audit_durability=none, everything) run it on the deciding thread. That
  // is the caller's, before DecideAsync returns, unless the policy may fetch
  // and a fetching pool is set: then the decision runs there, later.
  // `request` must stay valid until `done` runs. On error `*decision` is
  // unspecified.
  //
  // `ready` (may be null) runs on the deciding thread as soon as `*decision`
  // holds the decision, before its audit record is queued: the place for work
  // on the response (serializing it) that should not wait for, or hold up,
  // the audit writer's thread. It does not mean the decision may leave.
  using DoneCallback = absl::AnyInvocable<void(absl::Status) &&>;
  using ReadyCallback = absl::AnyInvocable<void() &&>;
  void DecideAsync(const v1::VerifyRequest& request, const std::string& caller,
                   std::shared_ptr<const policy::PolicySet> policies, absl::Time deadline,
                   Decision* decision, DoneCallback done, ReadyCallback ready = nullptr);

  // Told about every outcome (metrics). Not owned; may be null.
  void SetObserver(DecisionObserver* observer) { observer_ = observer; }
  DecisionObserver* observer() const { return observer_; }
  // Process-wide verifier caches used by every decision. Not owned; may be
  // null (no caching). Set before serving.
  void SetCaches(pki::VerifierCaches* caches) { caches_ = caches; }
  // Where decisions under a policy that may fetch (pki::VerifyPolicy::
  // MayFetch) run, off the caller's thread, which is gRPC's: a fetch blocks
  // for up to its timeouts. Not owned; must outlive every decision. Null
  // (the default): every decision runs on the caller's thread.
  void SetFetchingPool(WorkerPool* pool) { fetching_pool_ = pool; }

  policy::PolicyHolder* policies() const { return policies_; }
  // Null when decisions are not audit-logged (tests).
  audit::AuditLog* audit_log() const { return audit_log_; }

 private:
  // DecideAsync on this thread. `received`: when DecideAsync was called, so
  // that the latency observed includes time queued for a fetching thread.
  void DecideHere(const v1::VerifyRequest& request, const std::string& caller,
                  std::shared_ptr<const policy::PolicySet> policies, absl::Time deadline,
                  Decision* decision, DoneCallback done, ReadyCallback ready,
                  absl::Time received);
  absl::Status CheckShape(const v1::VerifyRequest& request) const;
  absl::Status DecideUnobserved(const v1::VerifyRequest& request, const std::string& caller,
                                std::shared_ptr<const policy::PolicySet> policies,
                                absl::Time start, absl::Time deadline, pki::SearchStats* stats,
                                Decision* decision, v1::AuditRecord* record);
  // Reports the outcome to the observer.
  void Observe(const absl::Status& status, const Decision& decision,
               const pki::SearchStats& stats, absl::Time start, bool audit_failed);

  policy::PolicyHolder* policies_;
  audit::AuditLog* audit_log_;
  const RequestLimits limits_;
  DecisionObserver* observer_ = nullptr;
  pki::VerifierCaches* caches_ = nullptr;
  WorkerPool* fetching_pool_ = nullptr;
};

// A fresh random decision id (128 bits, hex).
std::string NewDecisionId();

}  // namespace chainverify::service

#endif  // CHAINVERIFY_SERVER_SERVICE_DECIDER_H_
