// The verification core's entry point: from uploaded DER certificates and a
// policy to a verdict. No gRPC here; the server, CLI, conformance harness,
// fuzzers and benchmarks all call VerifyChain().
#ifndef CHAINVERIFY_SERVER_PKI_VERIFIER_H_
#define CHAINVERIFY_SERVER_PKI_VERIFIER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "server/pki/caches.h"
#include "server/pki/cert_errors.h"
#include "server/pki/certificate.h"
#include "server/pki/lazy.h"
#include "server/pki/policy_rules.h"
#include "server/pki/path_builder.h"
#include "server/pki/trust_store.h"
#include "server/pki/validation_options.h"

namespace chainverify::pki {

// What the caller supplies for one decision.
struct VerifyInput {
  // DER, leaf first, as the peer sent them.
  std::vector<std::string> certificates;
  // Expected identity of the leaf; kind kNone checks no name.
  PeerName peer_name;
  KeyPurpose purpose = KeyPurpose::kServerAuth;
  // The OCSP response the peer stapled for the leaf (DER), if any.
  std::string stapled_ocsp_response;
  // The instant to verify at.
  absl::Time time = absl::Now();
  // The caller's deadline (wall clock). Revocation fetches are waited for
  // until kAnswerMargin before it, so that a slow OCSP or CRL server gives an
  // UNKNOWN status in time rather than a missed deadline; their transfers go
  // on and serve the requests that come next (revocation/fetcher.h).
  absl::Time deadline = absl::InfiniteFuture();
};

// What a decision keeps of the caller's deadline to finish after its last
// revocation wait: the rest of validation, the audit record, the answer.
inline constexpr absl::Duration kAnswerMargin = absl::Milliseconds(50);

// What the policy fixes for the decision.
struct VerifyPolicy {
  std::shared_ptr<const TrustStore> trust_store;
  ValidationOptions validation;
  SearchLimits limits;
  PolicyRules rules;
  // Intermediate stores and AIA chasing (path_builder.h).
  IssuerSources issuers;
  // Process-wide parsed-certificate and signature caches; not owned, may be
  // null (no caching). Content-keyed, so one instance serves every policy.
  VerifierCaches* caches = nullptr;
  // Enables the whole-result cache (in `caches`) for this policy. The owner
  // of an immutable policy sets it to an object that lives exactly as long
  // as the policy and stands for everything in it except validation.profile,
  // limits and caches (the cache key covers those); a reloaded policy gets a
  // new object. Compared by identity. Null: results are not cached.
  std::shared_ptr<const void> result_cache_scope;

  // Whether verifying under this policy may wait on the network: AIA
  // caIssuers chasing, or OCSP and CRLs fetched for revocation.
  bool MayFetch() const {
    return issuers.fetcher != nullptr ||
           (rules.fetcher != nullptr && (rules.fetch_ocsp || rules.fetch_crls));
  }
};

// One certificate of the chosen path.
struct ChainEntry {
  CertificatePtr certificate;
  // Index in VerifyInput::certificates of a byte-identical upload, or -1.
  int request_index = -1;
  // Non-null when this entry is the trust anchor (the last entry of a
  // verified path).
  const TrustAnchor* anchor = nullptr;
  CertificateSource source = CertificateSource::kUpload;
  // kAiaFetch: the caIssuers URL that served it.
  std::shared_ptr<const std::string> fetched_from;
};

// A result's verdict as the API sends it (certificate_details.h
// RenderVerdict): the VerifyResponse fields FillVerdict sets, serialized.
// Rendered at most once per cached result and shared by every copy of it, so
// that a cache hit is answered without building a message again.
struct RenderedVerdict {
  std::string bytes;
};

struct VerifyResult {
  bool trusted = false;
  // OK when trusted, otherwise the primary reason.
  Status status = ::chainverify::v1::STATUS_UNSPECIFIED;
  // Verified path when trusted; otherwise the best attempted path (maybe just
  // the leaf, or empty when the leaf did not parse).
  std::vector<ChainEntry> chain;
  // Uploaded certificates not in `chain`, ascending.
  std::vector<int> unused_request_indices;
  // Findings, with chain_index relative to `chain` and request_index filled.
  std::vector<CertError> errors;
  // Revocation answers for `chain`, when the policy checks revocation.
  std::vector<RevocationNote> revocation;
  // Raw SHA-256 of each upload, in upload order.
  std::vector<std::string> upload_sha256;
  // Every caIssuers fetch the search made, in order.
  std::vector<IssuerFetchNote> issuer_fetches;
  SearchStats stats;
  // The result came from the whole-result cache (stats are the original's).
  bool from_result_cache = false;
  // Set (unrendered) on results VerifyChain caches; shared with the cache's
  // copy. Null for a result that is not cached.
  std::shared_ptr<Lazy<RenderedVerdict>> rendered;
};

// Builds and validates a path for `input` under `policy`. Never fails as a
// function: every problem with the certificates is a REJECTED result. Limits on
// the request's shape (count, sizes) are the caller's to enforce first; this
// function enforces them again defensively (policy.limits).
//
// With policy.caches and policy.result_cache_scope set, results are cached
// whole. Key: SHA-256 over the uploads' SHA-256 (in order), the peer name, the
// purpose, the stapled OCSP response, the profile, the search limits (not the
// deadline) and the scope's address. Served only while the scope object is
// alive and is the same, and only for a verification time (in whole seconds,
// the validator's grain) inside the entry's window: the seconds around the
// original time in which no uploaded certificate, no trust anchor named as an
// upload's issuer, no intermediate-store certificate the search weighed, no
// path certificate and no pin changes state (notBefore, notAfter, expires).
// Not stored: results of policies that check revocation (CRLs and OCSP change
// without the inputs changing), results that fetched an issuer (the network's
// answer is not an input), and results cut short by a search limit or the
// deadline.
VerifyResult VerifyChain(const VerifyInput& input, const VerifyPolicy& policy);

}  // namespace chainverify::pki

#endif  // CHAINVERIFY_SERVER_PKI_VERIFIER_H_
