#include "server/service/decider.h"

#include <openssl/rand.h>

#include <algorithm>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "server/pki/certificate_details.h"
#include "server/pki/hostname_match.h"
#include "server/pki/openssl_util.h"

namespace chainverify::service {
namespace {

pki::KeyPurpose ToPurpose(v1::Usage usage) {
  return usage == v1::CLIENT_AUTH ? pki::KeyPurpose::kClientAuth
                                  : pki::KeyPurpose::kServerAuth;
}

// From the decision's own fields (`head`) and the core's `result`, in the
// words of the response (CertificateDetails' fingerprints, the API's enum
// names).
v1::AuditRecord MakeAuditRecord(const v1::VerifyRequest& request, const v1::VerifyResponse& head,
                                const pki::VerifyResult& result, const std::string& caller,
                                absl::Time start) {
  v1::AuditRecord record;
  record.set_decision_id(head.decision_id());
  record.mutable_time()->set_seconds(absl::ToUnixSeconds(start));
  record.mutable_time()->set_nanos(
      static_cast<int>(absl::ToInt64Nanoseconds(start - absl::FromUnixSeconds(absl::ToUnixSeconds(start)))));
  record.set_caller(caller);
  record.set_request_id(request.request_id());
  record.mutable_labels()->insert(request.labels().begin(), request.labels().end());
  for (const std::string& digest : result.upload_sha256) {
    record.add_uploaded_certificate_sha256(pki::HexEncode(digest));
  }
  record.set_peer_name(request.peer_name());
  record.set_usage(request.usage() == v1::USAGE_UNSPECIFIED ? v1::SERVER_AUTH : request.usage());
  record.set_policy_name(head.policy_name());
  record.set_policy_version(head.policy_version());
  record.set_verdict(result.trusted ? v1::TRUSTED : v1::REJECTED);
  record.set_status(result.status);
  for (const pki::CertError& e : result.errors) {
    record.add_errors(absl::StrCat(e.id->name, "@", e.chain_index));
  }
  // As CertificateDetails gives them: sha256 in hex, spki_sha256 in base64.
  for (const pki::ChainEntry& entry : result.chain) {
    record.add_chain_sha256(pki::HexEncode(entry.certificate->sha256()));
    record.add_chain_spki_sha256(absl::Base64Escape(entry.certificate->spki_sha256()));
  }
  for (const pki::RevocationNote& note : result.revocation) {
    record.add_revocation(absl::StrCat(v1::RevocationResult::State_Name(pki::ToProto(note.state)),
                                       "@", note.chain_index, " ", note.source));
  }
  for (const pki::IssuerFetchNote& fetch : result.issuer_fetches) {
    record.add_issuer_fetches(
        absl::StrCat(v1::IssuerFetch::Outcome_Name(pki::ToProto(fetch.outcome)), " ", fetch.url));
    for (const std::string& sha256 : fetch.certificate_sha256) {
      record.add_fetched_certificate_sha256(sha256);
    }
  }
  record.set_duration_micros(absl::ToInt64Microseconds(absl::Now() - start));
  *record.mutable_evaluated_at() = head.evaluated_at();
  return record;
}

}  // namespace

v1::VerifyResponse Decision::Message() const {
  v1::VerifyResponse response = head;
  // Bytes this server rendered: they parse.
  if (verdict != nullptr) (void)response.MergeFromString(verdict->bytes);
  return response;
}

std::string NewDecisionId() {
  // RAND_bytes takes the DRBG's lock and walks OpenSSL's provider layer on
  // every call (4% of a warm call's server CPU in //bench:service), so each
  // thread draws 64 ids' worth at a time and hands them out in order.
  constexpr size_t kIdBytes = 16;
  constexpr size_t kPoolBytes = 64 * kIdBytes;
  thread_local unsigned char pool[kPoolBytes];
  thread_local size_t used = kPoolBytes;
  if (used == kPoolBytes) {
    if (RAND_bytes(pool, sizeof(pool)) != 1) {
      // No randomness: fall back to one draw at a time (which may succeed
      // once the DRBG reseeds) rather than reuse the pool.
      unsigned char bytes[kIdBytes] = {};
      RAND_bytes(bytes, sizeof(bytes));
      return pki::HexEncode(absl::string_view(reinterpret_cast<char*>(bytes), sizeof(bytes)));
    }
    used = 0;
  }
  const absl::string_view id(reinterpret_cast<char*>(pool + used), kIdBytes);
  used += kIdBytes;  // Each id is handed out once: the pool is refilled, not rewound.
  return pki::HexEncode(id);
}

absl::Status Decider::CheckShape(const v1::VerifyRequest& request) const {
  if (request.certificates().empty()) {
    return absl::InvalidArgumentError("certificates: at least one certificate is required");
  }
  if (request.certificates_size() > limits_.max_certificates) {
    return absl::InvalidArgumentError(absl::StrCat(
        "certificates: ", request.certificates_size(), " given, at most ",
        limits_.max_certificates, " allowed"));
  }
  for (int i = 0; i < request.certificates_size(); ++i) {
    const size_t size = request.certificates(i).size();
    if (size == 0 || size > static_cast<size_t>(limits_.max_certificate_bytes)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "certificates[", i, "]: ", size, " bytes; must be 1 to ",
          limits_.max_certificate_bytes));
    }
  }
  if (request.stapled_ocsp_response().size() >
      static_cast<size_t>(limits_.max_ocsp_response_bytes)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "stapled_ocsp_response: more than ", limits_.max_ocsp_response_bytes, " bytes"));
  }
  if (request.peer_name().size() > static_cast<size_t>(limits_.max_peer_name_bytes)) {
    return absl::InvalidArgumentError(
        absl::StrCat("peer_name: more than ", limits_.max_peer_name_bytes, " bytes"));
  }
  if (request.request_id().size() > static_cast<size_t>(limits_.max_request_id_bytes)) {
    return absl::InvalidArgumentError(
        absl::StrCat("request_id: more than ", limits_.max_request_id_bytes, " bytes"));
  }
  if (request.labels_size() > limits_.max_labels) {
    return absl::InvalidArgumentError(
        absl::StrCat("labels: more than ", limits_.max_labels, " labels"));
  }
  for (const auto& [key, value] : request.labels()) {
    if (key.size() > static_cast<size_t>(limits_.max_label_bytes) ||
        value.size() > static_cast<size_t>(limits_.max_label_bytes)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "labels: keys and values are at most ", limits_.max_label_bytes, " bytes"));
    }
  }
  if (request.usage() != v1::USAGE_UNSPECIFIED && request.usage() != v1::SERVER_AUTH &&
      request.usage() != v1::CLIENT_AUTH) {
    return absl::InvalidArgumentError("usage: unknown value");
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::VerifyResponse> Decider::Decide(const v1::VerifyRequest& request,
                                                   const std::string& caller) {
  return Decide(request, caller, policies_->Current());
}

absl::StatusOr<v1::VerifyResponse> Decider::Decide(
    const v1::VerifyRequest& request, const std::string& caller,
    std::shared_ptr<const policy::PolicySet> policies, absl::Time deadline) {
  absl::Notification decided;
  Decision decision;
  absl::Status status;
  DecideAsync(request, caller, std::move(policies), deadline, &decision,
              [&](absl::Status out) {
                status = std::move(out);
                decided.Notify();
              });
  decided.WaitForNotification();
  if (!status.ok()) return status;
  return decision.Message();
}

void Decider::DecideAsync(const v1::VerifyRequest& request, const std::string& caller,
                          std::shared_ptr<const policy::PolicySet> policies,
                          absl::Time deadline, Decision* decision, DoneCallback done,
                          ReadyCallback ready) {
  if (fetching_pool_ != nullptr) {
    const policy::CompiledPolicy* policy = policies->Find(request.policy());
    if (policy != nullptr && policy->verify.MayFetch()) {
      // Time queued here counts against the client's deadline (DecideHere
      // starts the clock).
      fetching_pool_->Schedule([this, &request, caller = caller, policies = std::move(policies),
                                deadline, decision, done = std::move(done),
                                ready = std::move(ready), received = absl::Now()]() mutable {
        DecideHere(request, caller, std::move(policies), deadline, decision, std::move(done),
                   std::move(ready), received);
      });
      return;
    }
  }
  DecideHere(request, caller, std::move(policies), deadline, decision, std::move(done),
             std::move(ready), absl::Now());
}

// `policies` is one snapshot for the whole request, so a reload in the middle
// cannot mix two policies in one decision; it also keeps `policy` alive.
void Decider::DecideHere(const v1::VerifyRequest& request, const std::string& caller,
                         std::shared_ptr<const policy::PolicySet> policies, absl::Time deadline,
                         Decision* decision, DoneCallback done, ReadyCallback ready,
                         absl::Time received) {
  const absl::Time start = absl::Now();
  pki::SearchStats stats;
  v1::AuditRecord record;
  absl::Status decided = DecideUnobserved(request, caller, std::move(policies), start, deadline,
                                          &stats, decision, &record);
  // The response is final; only whether it may leave waits for the disk.
  if (decided.ok() && ready) std::move(ready)();
  if (!decided.ok() || audit_log_ == nullptr) {
    Observe(decided, *decision, stats, received, /*audit_failed=*/false);
    std::move(done)(std::move(decided));
    return;
  }
  audit_log_->AppendAsync(
      std::move(record),
      [this, decision, stats, received, done = std::move(done)](absl::Status logged) mutable {
        absl::Status result;
        if (!logged.ok()) {
          // Fail closed: no decision leaves without its record. (Under
          // --audit_failure_mode=fail_open the log reports OK and counts the
          // loss.)
          result = absl::UnavailableError(
              absl::StrCat("decision not returned: ", logged.message()));
        }
        Observe(result, *decision, stats, received, /*audit_failed=*/!logged.ok());
        std::move(done)(std::move(result));
      });
}

void Decider::Observe(const absl::Status& status, const Decision& decision,
                      const pki::SearchStats& stats, absl::Time start, bool audit_failed) {
  if (observer_ == nullptr) return;
  if (audit_failed) observer_->OnAuditFailure();
  if (status.ok()) {
    observer_->OnDecision(decision.head.policy_name(), decision.summary, stats,
                          absl::Now() - start);
  } else {
    observer_->OnRequestError(status.code());
  }
}

absl::Status Decider::DecideUnobserved(const v1::VerifyRequest& request,
                                       const std::string& caller,
                                       std::shared_ptr<const policy::PolicySet> policies,
                                       absl::Time start, absl::Time deadline,
                                       pki::SearchStats* stats, Decision* decision,
                                       v1::AuditRecord* record) {
  if (start >= deadline) {
    return absl::DeadlineExceededError("the client's deadline passed before the request was decided");
  }
  absl::Status shape = CheckShape(request);
  if (!shape.ok()) return shape;

  const policy::CompiledPolicy* policy = policies->Find(request.policy());
  if (policy == nullptr) {
    return absl::NotFoundError(absl::StrCat("policy \"", request.policy(), "\" is not defined"));
  }

  pki::VerifyInput input;
  input.time = start;
  if (request.has_verification_time()) {
    if (!policy->allow_request_verification_time) {
      return absl::InvalidArgumentError(absl::StrCat(
          "verification_time: policy \"", policy->name,
          "\" does not allow requests to set the verification time"));
    }
    input.time = absl::FromUnixSeconds(request.verification_time().seconds()) +
                 absl::Nanoseconds(request.verification_time().nanos());
  }
  absl::StatusOr<pki::PeerName> peer_name = pki::ParsePeerName(request.peer_name());
  if (!peer_name.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("peer_name: ", peer_name.status().message()));
  }
  input.peer_name = *std::move(peer_name);
  input.purpose = ToPurpose(request.usage());
  input.certificates.assign(request.certificates().begin(), request.certificates().end());
  input.stapled_ocsp_response = request.stapled_ocsp_response();
  input.deadline = deadline;

  pki::VerifyPolicy verify = policy->verify;
  verify.validation.profile = policy->ProfileFor(input.purpose);
  // The client's deadline bounds the search too: work it cannot wait for stops.
  verify.limits.deadline = std::min(verify.limits.deadline, deadline - start);
  verify.caches = caches_;
  // The compiled policy, alive as long as its immutable bundle: whole results
  // are cached per policy object, so a reload never serves an old answer.
  verify.result_cache_scope = std::shared_ptr<const void>(policies, policy);
  pki::VerifyResult result = pki::VerifyChain(input, verify);
  *stats = result.stats;

  v1::VerifyResponse& head = decision->head;
  head.Clear();
  head.set_request_id(request.request_id());
  head.set_policy_name(policy->name);
  head.set_policy_version(policy->version);
  head.set_decision_id(NewDecisionId());
  head.mutable_evaluated_at()->set_seconds(absl::ToUnixSeconds(input.time));
  decision->verdict = pki::RenderVerdict(result);
  DecisionSummary& summary = decision->summary;
  summary = DecisionSummary();
  summary.verdict = result.trusted ? v1::TRUSTED : v1::REJECTED;
  summary.status = result.status;
  if (result.trusted) {
    for (const pki::ChainEntry& entry : result.chain) {
      summary.completed_from_intermediate_store |=
          entry.source == pki::CertificateSource::kIntermediateStore;
      summary.completed_by_aia_fetch |= entry.source == pki::CertificateSource::kAiaFetch;
    }
  }

  if (audit_log_ != nullptr) *record = MakeAuditRecord(request, head, result, caller, start);
  return absl::OkStatus();
}

}  // namespace chainverify::service
