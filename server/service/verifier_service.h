// The ChainVerifier gRPC service (callback API): a thin layer over Decider that
// adds caller authorization.
#ifndef CHAINVERIFY_SERVER_SERVICE_VERIFIER_SERVICE_H_
#define CHAINVERIFY_SERVER_SERVICE_VERIFIER_SERVICE_H_

#include <atomic>
#include <string>

#include <grpcpp/support/byte_buffer.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
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

// Both methods take the request as raw bytes and parse it here: gRPC would
// answer a request that does not parse (a proto3 string field holding invalid
// UTF-8, a corrupt message) with a bare UNIMPLEMENTED, which reads as a wrong
// method; here it is INVALID_ARGUMENT saying what is wrong.
using ChainVerifierRawService = v1::ChainVerifier::WithRawCallbackMethod_Verify<
    v1::ChainVerifier::WithRawCallbackMethod_VerifyStream<v1::ChainVerifier::Service>>;

class VerifierService final : public ChainVerifierRawService {
 public:
  // `admission` may be null (no limit).
  explicit VerifierService(Decider* decider, AdmissionControl* admission = nullptr)
      : decider_(decider), admission_(admission) {}

  // Errors: those of Decider::Decide, INVALID_ARGUMENT for a request that is
  // not a VerifyRequest (ParseVerifyRequest), and PERMISSION_DENIED when the
  // caller is not granted the policy (AuthorizeVerify).
  grpc::ServerUnaryReactor* Verify(grpc::CallbackServerContext* context,
                                   const grpc::ByteBuffer* request,
                                   grpc::ByteBuffer* response) override;

  // A request that does not parse is answered in the stream with
  // request_error INVALID_ARGUMENT, like any other malformed request.
  grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* VerifyStream(
      grpc::CallbackServerContext* context) override;

 private:
  Decider* decider_;
  AdmissionControl* admission_;
};

// The wire bytes of one VerifyRequest, parsed into `request`. Errors:
// INVALID_ARGUMENT when they do not parse; protobuf rejects proto3 string
// fields (peer_name, request_id, policy, labels) that are not valid UTF-8 (and
// logs the field).
absl::Status ParseVerifyRequest(const grpc::ByteBuffer& bytes, v1::VerifyRequest* request);

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
