// The ChainVerifier gRPC service (callback API): a thin layer over Decider that
// adds caller authorization.
#ifndef CHAINVERIFY_SERVER_SERVICE_VERIFIER_SERVICE_H_
#define CHAINVERIFY_SERVER_SERVICE_VERIFIER_SERVICE_H_

#include <atomic>
#include <string>

#include "absl/status/status.h"
#include "chainverify/v1/verifier.grpc.pb.h"
#include "server/audit/audit_log.h"
#include "server/policy/policy_store.h"
#include "server/service/authorization.h"
#include "server/service/decider.h"

namespace chainverify::service {

// Bounds the requests decided at once; over the bound a request is refused
// with RESOURCE_EXHAUSTED instead of queueing without limit.
class AdmissionControl {
 public:
  explicit AdmissionControl(int max_in_flight) : max_(max_in_flight) {}
  // True when admitted; the caller must then call Leave().
  bool TryEnter() {
    if (in_flight_.fetch_add(1) >= max_) {
      in_flight_.fetch_sub(1);
      return false;
    }
    return true;
  }
  void Leave() { in_flight_.fetch_sub(1); }
  int max() const { return max_; }
  int in_flight() const { return in_flight_.load(); }

 private:
  const int max_;
  std::atomic<int> in_flight_{0};
};

// Gives each unary Verify call a protobuf arena for its request and response.
class ArenaMessageAllocator
    : public grpc::MessageAllocator<v1::VerifyRequest, v1::VerifyResponse> {
 public:
  grpc::MessageHolder<v1::VerifyRequest, v1::VerifyResponse>* AllocateMessages() override;
};

class VerifierService final : public v1::ChainVerifier::CallbackService {
 public:
  // `admission` may be null (no limit).
  explicit VerifierService(Decider* decider, AdmissionControl* admission = nullptr)
      : decider_(decider), admission_(admission) {
    SetMessageAllocatorFor_Verify(&allocator_);
  }

  // Errors: those of Decider::Decide, and PERMISSION_DENIED when the caller is
  // not granted the policy (AuthorizeVerify).
  grpc::ServerUnaryReactor* Verify(grpc::CallbackServerContext* context,
                                   const v1::VerifyRequest* request,
                                   v1::VerifyResponse* response) override;

  grpc::ServerBidiReactor<v1::VerifyRequest, v1::VerifyResponse>* VerifyStream(
      grpc::CallbackServerContext* context) override;

 private:
  Decider* decider_;
  AdmissionControl* admission_;
  ArenaMessageAllocator allocator_;
};

// absl::Status to grpc::Status, same code and message.
grpc::Status ToGrpcStatus(const absl::Status& status);

// What the transport authenticated about the caller: the URI and DNS SANs of
// the verified client certificate (gRPC's "peer_uri" and "peer_dns" auth
// properties). Empty on plaintext and on TLS without client certificates.
Caller CallerFromContext(const grpc::ServerContextBase& context);

// The caller's identity for the audit record: CallerFromContext().ToString(),
// the SPIFFE URI when there is one, "unauthenticated" without a certificate.
std::string CallerIdentity(const grpc::CallbackServerContext& context);

// Whether `caller` may use the policy `request` names (the default policy when
// it names none) under `policies`, the request's snapshot. Without an
// authorization section everything is allowed. A refusal is PERMISSION_DENIED
// and is written to `audit_log` (when not null) with `denied_reason` set; it is
// UNAVAILABLE instead when that record cannot be written, as for decisions.
absl::Status AuthorizeVerify(const v1::VerifyRequest& request, const Caller& caller,
                             const policy::PolicySet& policies, audit::AuditLog* audit_log);

}  // namespace chainverify::service

#endif  // CHAINVERIFY_SERVER_SERVICE_VERIFIER_SERVICE_H_
