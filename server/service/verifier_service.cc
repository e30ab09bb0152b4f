#include "server/service/verifier_service.h"

#include "absl/strings/str_cat.h"

namespace chainverify::service {
namespace {

// Reads requests one at a time and answers each before reading the next, so
// responses keep the requests' order.
class VerifyStreamReactor
    : public grpc::ServerBidiReactor<v1::VerifyRequest, v1::VerifyResponse> {
 public:
  VerifyStreamReactor(Decider* decider, std::string caller)
      : decider_(decider), caller_(std::move(caller)) {
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {  // The client closed its side (or the call was cancelled).
      Finish(grpc::Status::OK);
      return;
    }
    absl::StatusOr<v1::VerifyResponse> decided = decider_->Decide(request_, caller_);
    if (decided.ok()) {
      response_ = *std::move(decided);
    } else if (decided.status().code() == absl::StatusCode::kUnavailable) {
      // Unaudited decisions are never returned; end the stream.
      Finish(ToGrpcStatus(decided.status()));
      return;
    } else {
      response_.Clear();
      response_.set_request_id(request_.request_id());
      response_.mutable_request_error()->set_code(static_cast<int>(decided.status().code()));
      response_.mutable_request_error()->set_message(std::string(decided.status().message()));
    }
    StartWrite(&response_);
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "write failed"));
      return;
    }
    request_.Clear();
    StartRead(&request_);
  }

  void OnDone() override { delete this; }

 private:
  Decider* decider_;
  const std::string caller_;
  v1::VerifyRequest request_;
  v1::VerifyResponse response_;
};

}  // namespace

grpc::Status ToGrpcStatus(const absl::Status& status) {
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

std::string CallerIdentity(const grpc::CallbackServerContext& context) {
  auto auth = context.auth_context();
  if (auth != nullptr && auth->IsPeerAuthenticated()) {
    for (const auto& property : auth->GetPeerIdentity()) {
      return std::string(property.data(), property.size());
    }
  }
  return "unauthenticated";
}

grpc::ServerUnaryReactor* VerifierService::Verify(grpc::CallbackServerContext* context,
                                                  const v1::VerifyRequest* request,
                                                  v1::VerifyResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<v1::VerifyResponse> decided =
      decider_->Decide(*request, CallerIdentity(*context));
  if (!decided.ok()) {
    reactor->Finish(ToGrpcStatus(decided.status()));
    return reactor;
  }
  *response = *std::move(decided);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerBidiReactor<v1::VerifyRequest, v1::VerifyResponse>*
VerifierService::VerifyStream(grpc::CallbackServerContext* context) {
  return new VerifyStreamReactor(decider_, CallerIdentity(*context));
}

}  // namespace chainverify::service
