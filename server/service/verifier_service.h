// The ChainVerifier gRPC service (callback API): a thin layer over Decider.
#ifndef CHAINVERIFY_SERVER_SERVICE_VERIFIER_SERVICE_H_
#define CHAINVERIFY_SERVER_SERVICE_VERIFIER_SERVICE_H_

#include "chainverify/v1/verifier.grpc.pb.h"
#include "server/service/decider.h"

namespace chainverify::service {

class VerifierService final : public v1::ChainVerifier::CallbackService {
 public:
  explicit VerifierService(Decider* decider) : decider_(decider) {}

  grpc::ServerUnaryReactor* Verify(grpc::CallbackServerContext* context,
                                   const v1::VerifyRequest* request,
                                   v1::VerifyResponse* response) override;

  grpc::ServerBidiReactor<v1::VerifyRequest, v1::VerifyResponse>* VerifyStream(
      grpc::CallbackServerContext* context) override;

 private:
  Decider* decider_;
};

// absl::Status to grpc::Status, same code and message.
grpc::Status ToGrpcStatus(const absl::Status& status);

// The caller's identity for the audit record.
std::string CallerIdentity(const grpc::CallbackServerContext& context);

}  // namespace chainverify::service

#endif  // CHAINVERIFY_SERVER_SERVICE_VERIFIER_SERVICE_H_
