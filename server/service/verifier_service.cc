#include "server/service/verifier_service.h"

#include <grpc/grpc_security_constants.h>
#include <grpcpp/support/proto_buffer_reader.h>
#include <grpcpp/support/proto_buffer_writer.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "server/pki/openssl_util.h"

namespace chainverify::service {
namespace {

// A refused caller's request has not passed the shape checks, so its record
// keeps at most this much of it (Decider's RequestLimits defaults).
constexpr size_t kMaxDeniedUploads = 32;
constexpr size_t kMaxDeniedLabels = 16;
constexpr size_t kMaxDeniedStringBytes = 253;

// At most `max` bytes of `text`, cut at a UTF-8 character boundary so the
// record stays valid UTF-8.
std::string Truncated(const std::string& text, size_t max = kMaxDeniedStringBytes) {
  if (text.size() <= max) return text;
  size_t end = max;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return text.substr(0, end);
}

v1::AuditRecord MakeDenialRecord(const v1::VerifyRequest& request, const std::string& caller,
                                 const std::string& policy_name,
                                 const std::string& policy_version, std::string reason,
                                 absl::Time start) {
  v1::AuditRecord record;
  record.set_decision_id(NewDecisionId());
  const int64_t seconds = absl::ToUnixSeconds(start);
  record.mutable_time()->set_seconds(seconds);
  record.mutable_time()->set_nanos(
      static_cast<int32_t>(absl::ToInt64Nanoseconds(start - absl::FromUnixSeconds(seconds))));
  record.set_caller(caller);
  record.set_request_id(Truncated(request.request_id()));
  for (const auto& [key, value] : request.labels()) {
    if (record.labels_size() >= static_cast<int>(kMaxDeniedLabels)) break;
    (*record.mutable_labels())[Truncated(key)] = Truncated(value);
  }
  const int uploads =
      std::min(request.certificates_size(), static_cast<int>(kMaxDeniedUploads));
  for (int i = 0; i < uploads; ++i) {
    record.add_uploaded_certificate_sha256(pki::HexEncode(pki::Sha256(request.certificates(i))));
  }
  record.set_peer_name(Truncated(request.peer_name()));
  record.set_usage(request.usage() == v1::CLIENT_AUTH ? v1::CLIENT_AUTH : v1::SERVER_AUTH);
  record.set_policy_name(policy_name);
  record.set_policy_version(policy_version);
  record.set_denied_reason(std::move(reason));
  record.set_duration_micros(absl::ToInt64Microseconds(absl::Now() - start));
  return record;
}

// The refusal `caller` gets for `request` under `policies`, or nullopt when
// it may go ahead. `record` gets the refusal's audit record.
std::optional<std::string> Refusal(const v1::VerifyRequest& request, const Caller& caller,
                                   const policy::PolicySet& policies, v1::AuditRecord* record) {
  const Authorization* authorization = policies.authorization();
  if (authorization == nullptr) return std::nullopt;
  const absl::Time start = absl::Now();
  const std::string& policy =
      request.policy().empty() ? policies.default_policy() : request.policy();
  if (authorization->MayUsePolicy(caller, policy)) return std::nullopt;

  // The same answer whether or not the policy exists: a caller learns nothing
  // about policies it is not granted.
  const std::string identity = caller.ToString();
  std::string reason = absl::StrCat("caller \"", identity, "\" is not granted policy \"",
                                    Truncated(policy), "\"");
  *record =
      MakeDenialRecord(request, identity, Truncated(policy), policies.version(), reason, start);
  return reason;
}

absl::Status RefusalOutcome(const std::string& reason, const absl::Status& logged) {
  if (!logged.ok()) {
    return absl::UnavailableError(absl::StrCat(
        "request refused, but the refusal could not be audit-logged: ", logged.message()));
  }
  return absl::PermissionDeniedError(reason);
}

using DoneCallback = Decider::DoneCallback;

// Admission, authorization, then the decision, against one policy snapshot, so
// that a reload cannot change the grants between the two. The work stops at
// the client's deadline. `done` runs once the outcome (and its audit record)
// is final, possibly on the audit writer's thread: no RPC thread waits for
// the disk. The request counts against `admission` until then.
void AuthorizeAndDecide(Decider* decider, AdmissionControl* admission,
                        const v1::VerifyRequest& request, const Caller& caller,
                        const std::string& identity, absl::Time deadline,
                        Decision* decision, DoneCallback done,
                        Decider::ReadyCallback ready = nullptr) {
  if (admission != nullptr && !admission->TryEnter()) {
    std::move(done)(absl::ResourceExhaustedError(absl::StrCat(
        "more than ", admission->max(), " requests in flight; retry with backoff")));
    return;
  }
  DoneCallback leave_then_done = [admission, done = std::move(done)](absl::Status out) mutable {
    if (admission != nullptr) admission->Leave();
    std::move(done)(std::move(out));
  };
  std::shared_ptr<const policy::PolicySet> policies = decider->policies()->Current();
  std::optional<std::string> refused;
  v1::AuditRecord denial;
  // Without an authorization section there is nothing to check (and no
  // identity string to build).
  if (policies->authorization() != nullptr) {
    refused = Refusal(request, caller, *policies, &denial);
  }
  if (!refused.has_value()) {
    decider->DecideAsync(request, identity, std::move(policies), deadline, decision,
                         std::move(leave_then_done), std::move(ready));
    return;
  }
  audit::AuditLog* audit_log = decider->audit_log();
  if (audit_log == nullptr) {
    std::move(leave_then_done)(absl::PermissionDeniedError(*refused));
    return;
  }
  audit_log->AppendAsync(std::move(denial), [reason = *std::move(refused),
                                             done = std::move(leave_then_done)](
                                                absl::Status logged) mutable {
    std::move(done)(RefusalOutcome(reason, logged));
  });
}

absl::Time DeadlineOf(const grpc::CallbackServerContext& context) {
  const auto deadline = context.deadline();
  if (deadline == std::chrono::system_clock::time_point::max()) return absl::InfiniteFuture();
  return absl::FromChrono(deadline);
}

// `response` as the bytes gRPC sends.
grpc::ByteBuffer Serialized(const v1::VerifyResponse& response) {
  grpc::ByteBuffer bytes;
  bool own_buffer = false;
  // Fails only for a message over 2 GiB, which a response cannot reach.
  (void)grpc::SerializationTraits<v1::VerifyResponse>::Serialize(response, &bytes, &own_buffer);
  return bytes;
}

// `decision`'s response as the bytes gRPC sends: the head serialized, then
// the verdict's bytes as they are, shared with the result cache rather than
// copied (the slice keeps them alive until gRPC has sent them).
grpc::ByteBuffer Serialized(const Decision& decision) {
  using Shared = std::shared_ptr<const pki::RenderedVerdict>;
  const std::string head = decision.head.SerializeAsString();
  const std::string& verdict = decision.verdict->bytes;
  grpc::Slice slices[] = {
      grpc::Slice(head),
      grpc::Slice(const_cast<char*>(verdict.data()), verdict.size(),
                  [](void* shared) { delete static_cast<Shared*>(shared); },
                  new Shared(decision.verdict)),
  };
  return grpc::ByteBuffer(slices, 2);
}

// Reads requests one at a time and answers each before reading the next, so
// responses keep the requests' order. Each request is authorized on its own:
// a reload can change the grants mid-stream.
class VerifyStreamReactor : public grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  VerifyStreamReactor(Decider* decider, AdmissionControl* admission, Caller caller,
                      absl::Time deadline)
      : decider_(decider),
        admission_(admission),
        caller_(std::move(caller)),
        identity_(caller_.ToString()),
        deadline_(deadline) {
    StartRead(&request_bytes_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {  // The client closed its side (or the call was cancelled).
      Finish(grpc::Status::OK);
      return;
    }
    request_.Clear();
    const absl::Status parsed = ParseVerifyRequest(request_bytes_, &request_);
    if (!parsed.ok()) {
      request_.Clear();  // Whatever parsed before the error is not the request.
      OnDecided(parsed);
      return;
    }
    // The reactor lives until Finish, which only the callback can reach. A
    // decided response is serialized on this thread (`ready`), not on the
    // audit writer's.
    AuthorizeAndDecide(decider_, admission_, request_, caller_, identity_, deadline_, &decision_,
                       [this](absl::Status decided) { OnDecided(decided); },
                       [this] { response_bytes_ = Serialized(decision_); });
  }

  void OnDecided(const absl::Status& decided) {
    if (decided.code() == absl::StatusCode::kUnavailable) {
      // Unaudited decisions are never returned; end the stream.
      Finish(ToGrpcStatus(decided));
      return;
    }
    if (!decided.ok()) {
      v1::VerifyResponse error;
      error.set_request_id(request_.request_id());
      error.mutable_request_error()->set_code(static_cast<int>(decided.code()));
      error.mutable_request_error()->set_message(std::string(decided.message()));
      response_bytes_ = Serialized(error);
    }
    StartWrite(&response_bytes_);
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "write failed"));
      return;
    }
    request_bytes_.Clear();
    StartRead(&request_bytes_);
  }

  void OnDone() override { delete this; }

 private:
  Decider* decider_;
  AdmissionControl* admission_;
  const Caller caller_;
  const std::string identity_;
  const absl::Time deadline_;
  grpc::ByteBuffer request_bytes_;
  grpc::ByteBuffer response_bytes_;
  v1::VerifyRequest request_;
  Decision decision_;
};

std::vector<std::string> PropertyValues(const grpc::AuthContext& auth, const char* name) {
  std::vector<std::string> values;
  for (const grpc::string_ref& value : auth.FindPropertyValues(name)) {
    values.emplace_back(value.data(), value.size());
  }
  return values;
}

// One unary call's request, decision and the response's bytes, alive until
// the decision's callback hands the bytes to gRPC.
class UnaryCall {
 public:
  const v1::VerifyRequest& request() const { return request_; }
  v1::VerifyRequest* mutable_request() { return &request_; }
  Decision* decision() { return &decision_; }
  grpc::ByteBuffer* response_bytes() { return &response_bytes_; }

 private:
  v1::VerifyRequest request_;
  Decision decision_;
  grpc::ByteBuffer response_bytes_;
};

}  // namespace

grpc::Status ToGrpcStatus(const absl::Status& status) {
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

Caller CallerFromContext(const grpc::ServerContextBase& context) {
  Caller caller;
  std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (auth == nullptr || !auth->IsPeerAuthenticated()) return caller;
  // gRPC sets these only from a client certificate that passed verification
  // against --tls_client_ca; typed, unlike x509_subject_alternative_name,
  // which mixes DNS, URI, email and IP SANs.
  caller.uris = PropertyValues(*auth, GRPC_PEER_URI_PROPERTY_NAME);
  caller.dns_names = PropertyValues(*auth, GRPC_PEER_DNS_PROPERTY_NAME);
  for (const grpc::string_ref& value : auth->GetPeerIdentity()) {
    caller.other.assign(value.data(), value.size());
    break;
  }
  return caller;
}

std::string CallerIdentity(const grpc::CallbackServerContext& context) {
  return CallerFromContext(context).ToString();
}

absl::Status AuthorizeVerify(const v1::VerifyRequest& request, const Caller& caller,
                             const policy::PolicySet& policies, audit::AuditLog* audit_log) {
  v1::AuditRecord denial;
  std::optional<std::string> refused = Refusal(request, caller, policies, &denial);
  if (!refused.has_value()) return absl::OkStatus();
  if (audit_log == nullptr) return absl::PermissionDeniedError(*refused);
  return RefusalOutcome(*refused, audit_log->Append(std::move(denial)));
}

absl::Status ParseVerifyRequest(const grpc::ByteBuffer& bytes, v1::VerifyRequest* request) {
  grpc::ByteBuffer copy(bytes);  // Shares the slices; the reader needs a mutable one.
  grpc::ProtoBufferReader reader(&copy);
  if (!reader.status().ok() || !request->ParseFromZeroCopyStream(&reader)) {
    return absl::InvalidArgumentError(
        "request is not a valid chainverify.v1.VerifyRequest: a string field (peer_name, "
        "request_id, policy, labels) is not valid UTF-8, or the message is corrupt");
  }
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* VerifierService::Verify(grpc::CallbackServerContext* context,
                                                  const grpc::ByteBuffer* request_bytes,
                                                  grpc::ByteBuffer* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  auto* call = new UnaryCall();
  const absl::Status parsed = ParseVerifyRequest(*request_bytes, call->mutable_request());
  if (!parsed.ok()) {
    delete call;
    if (decider_->observer() != nullptr) decider_->observer()->OnRequestError(parsed.code());
    reactor->Finish(ToGrpcStatus(parsed));
    return reactor;
  }
  const Caller caller = CallerFromContext(*context);
  // `call` (request and response) lives until the decision's callback has
  // serialized the answer.
  // The response is serialized on this RPC thread as soon as it is decided;
  // the callback, on the audit writer's thread once the record is durable,
  // only hands the bytes over.
  AuthorizeAndDecide(
      decider_, admission_, call->request(), caller, caller.ToString(), DeadlineOf(*context),
      call->decision(),
      [reactor, call, response](absl::Status decided) {
        if (decided.ok()) response->Swap(call->response_bytes());
        delete call;
        reactor->Finish(decided.ok() ? grpc::Status::OK : ToGrpcStatus(decided));
      },
      [call] { *call->response_bytes() = Serialized(*call->decision()); });
  return reactor;
}

grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>*
VerifierService::VerifyStream(grpc::CallbackServerContext* context) {
  return new VerifyStreamReactor(decider_, admission_, CallerFromContext(*context),
                                 DeadlineOf(*context));
}

}  // namespace chainverify::service
