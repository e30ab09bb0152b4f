#include "server/service/policy_admin_service.h"
#include "server/logging/log.h"

#include <algorithm>
#include <cstdio>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"
#include "server/pki/certificate_details.h"
#include "server/pki/trust_store.h"
#include "server/policy/policy_store.h"
#include "server/service/authorization.h"
#include "server/service/verifier_service.h"

namespace chainverify::service {
namespace {

void SetTimestamp(absl::Time t, google::protobuf::Timestamp* ts) {
  const int64_t seconds = absl::ToUnixSeconds(t);
  ts->set_seconds(seconds);
  ts->set_nanos(static_cast<int32_t>(absl::ToInt64Nanoseconds(t - absl::FromUnixSeconds(seconds))));
}

v1::PolicySummary Summarize(const policy::CompiledPolicy& policy) {
  v1::PolicySummary summary;
  summary.set_name(policy.name);
  summary.set_profile(policy.profile);
  const pki::TrustStore* store = policy.verify.trust_store.get();
  if (store == nullptr) return summary;
  summary.set_anchor_count(static_cast<int32_t>(store->anchor_count()));
  absl::Time earliest = absl::InfiniteFuture();
  for (const auto& anchor : store->anchors()) {
    if (anchor->certificate != nullptr && anchor->IsAnchor()) {
      earliest = std::min(earliest, anchor->certificate->not_after());
    }
  }
  for (const auto& loaded : store->sources()) {
    v1::TrustSourceSummary* source = summary.add_trust_sources();
    pki::DescribeTrustSource(loaded->source, "", source->mutable_source());
    source->set_certificates(loaded->certificates);
    source->set_server_auth_anchors(loaded->server_auth_anchors);
    source->set_client_auth_anchors(loaded->client_auth_anchors);
    source->set_distrust_after(loaded->distrust_after);
    source->set_distrusted(loaded->distrusted);
  }
  if (earliest != absl::InfiniteFuture()) {
    SetTimestamp(earliest, summary.mutable_earliest_anchor_not_after());
  }
  return summary;
}

}  // namespace

grpc::Status PolicyAdminService::Authorize(const grpc::CallbackServerContext& context,
                                           const char* method) const {
  const Caller caller = CallerFromContext(context);
  // The serving snapshot's grants: a reload that changes admin_identities
  // applies from the next call.
  const std::shared_ptr<const policy::PolicySet> policies = holder_->Current();
  const Authorization* authorization = policies->authorization();
  if (authorization == nullptr ? plaintext_loopback_ : authorization->IsAdmin(caller)) {
    return grpc::Status::OK;
  }
  const std::string identity = caller.ToString();
  logging::LogEvent(logging::LogLevel::kWarning, "policy_admin_denied",
                    {{"method", std::string(method)}, {"caller", identity}, {"peer", context.peer()}});
  return grpc::Status(
      grpc::StatusCode::PERMISSION_DENIED,
      authorization == nullptr
          ? "PolicyAdmin over TLS needs an authorization section with admin_identities in "
            "the policy file"
          : absl::StrCat("caller \"", identity, "\" is not in authorization.admin_identities"));
}

grpc::ServerUnaryReactor* PolicyAdminService::ReloadPolicy(
    grpc::CallbackServerContext* context, const v1::ReloadPolicyRequest* /*request*/,
    v1::ReloadPolicyResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (grpc::Status allowed = Authorize(*context, "ReloadPolicy"); !allowed.ok()) {
    reactor->Finish(allowed);
    return reactor;
  }
  if (!holder_->reloadable()) {
    reactor->Finish(ToGrpcStatus(holder_->ReloadFromFile()));  // FAILED_PRECONDITION.
    return reactor;
  }
  logging::LogEvent(logging::LogLevel::kInfo, "policy_reload_requested",
                    {{"caller", CallerIdentity(*context)}, {"peer", context->peer()}});
  // Loading runs on this callback thread: a policy file loads in milliseconds,
  // and reloads are rare operator actions.
  policy::PolicyHolder::ReloadOutcome outcome;
  absl::Status status = holder_->ReloadFromFile(&outcome);
  if (status.ok()) {
    response->set_reloaded(true);
    response->set_policy_version(outcome.version);
    response->set_previous_version(outcome.previous_version);
  } else {
    // The RPC worked; the file did not. The old policy keeps serving.
    const std::string serving = holder_->Current()->version();
    response->set_reloaded(false);
    response->set_policy_version(serving);
    response->set_previous_version(serving);
    response->set_error(std::string(status.message()));
  }
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* PolicyAdminService::GetPolicy(grpc::CallbackServerContext* context,
                                                        const v1::GetPolicyRequest* /*request*/,
                                                        v1::GetPolicyResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (grpc::Status allowed = Authorize(*context, "GetPolicy"); !allowed.ok()) {
    reactor->Finish(allowed);
    return reactor;
  }
  const policy::PolicyHolder::Snapshot snapshot = holder_->snapshot();
  response->set_version(snapshot.policies->version());
  response->set_default_policy(snapshot.policies->default_policy());
  for (const auto& [name, compiled] : snapshot.policies->policies()) {
    *response->add_policies() = Summarize(compiled);
  }
  response->set_last_reload_error(std::string(snapshot.last_error.message()));
  response->set_reload_failures(static_cast<uint64_t>(snapshot.reload_failures));
  SetTimestamp(snapshot.loaded_at, response->mutable_loaded_at());
  if (snapshot.last_reload_time != absl::InfinitePast()) {
    SetTimestamp(snapshot.last_reload_time, response->mutable_last_reload_attempt());
  }
  response->set_policy_file(holder_->path());
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace chainverify::service
