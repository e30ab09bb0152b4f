// Certification path building (RFC 4158): a depth-first search from the leaf
// towards a trust anchor, with backtracking, over the uploaded certificates and
// the policy's anchors.
//
// Candidate issuers of a certificate C are the certificates whose subject
// equals C's issuer among, in this order of preference: the trust anchors, the
// uploads, the policy's intermediate stores and, when none of those has one,
// what C's AIA caIssuers URLs serve (below). Within each source they are
// ordered the way mature builders order them (BoringSSL pki, Go crypto/x509):
//   1. by source, as above;
//   2. key identifier agreement: C's authorityKeyIdentifier matches the
//      candidate's subjectKeyIdentifier, then no key-id data, then mismatch;
//   3. not self-issued before self-issued;
//   4. newest notBefore first;
//   5. upload order (anchors: load order), so the result is deterministic.
// Each edge's signature is checked when the edge is first tried (results are
// cached per request), and each complete path is handed to the PathValidator.
// Among valid paths the best wins: the shortest, then the one that stays valid
// longest (latest earliest notAfter), then the one whose weakest key is
// strongest; ties go to the first found, so the choice is deterministic. After
// the first valid path, only paths no longer than it are explored, and at most
// max_valid_paths are compared. A path holds only certificates that were
// needed, so the chosen path is the pruned chain.
//
// Loop detection: a candidate whose (subject, SPKI, SAN) already appears on the
// current path is skipped, so cycles and repeated certificates end.
//
// Bounded by SearchLimits: running out before any valid path is found is
// reported as SEARCH_LIMIT_REACHED (never as "no issuer"), since more resources
// might have found one; running out after one was found returns the best so far.
//
// Completing incomplete chains (RFC 4158 2.5, RFC 5280 4.2.2.1): a certificate
// with no candidate issuer in any source above gets its caIssuers URLs fetched
// through IssuerSources::fetcher, and the certificates served become its
// candidates. Each URL is fetched at most once per search; every fetch counts
// against IssuerSources::max_fetches (running out is SEARCH_LIMIT_REACHED), a
// path holds at most max_fetched_per_path fetched certificates, and a fetch
// waits no longer than the search deadline. Fetched and store certificates
// are never anchors: a path still has to end at the trust store.
//
// Across requests it remembers only signature results and parsed
// certificates, and only through the optional shared VerifierCaches
// (content-keyed, see caches.h), plus the fetcher's own cache of fetched
// bodies; the verdict never depends on what the signature cache holds, since
// a shared hit is charged to the signature-check budget like a real check,
// and every fetch is charged to the fetch budget, cached or not.
#ifndef CHAINVERIFY_SERVER_PKI_PATH_BUILDER_H_
#define CHAINVERIFY_SERVER_PKI_PATH_BUILDER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "server/pki/aia.h"
#include "server/pki/cert_errors.h"
#include "server/pki/certificate.h"
#include "server/pki/trust_store.h"
#include "server/pki/validation_options.h"

namespace chainverify::pki {
class VerifierCaches;
}  // namespace chainverify::pki

namespace chainverify::pki {

// Explicit bounds on one request's search. Documented in README "Limits".
struct SearchLimits {
  // Candidate edges considered (each push onto the path counts one).
  int max_iterations = 2000;
  // Signature verifications performed (per-request memo hits are free). The
  // budget bounds CPU: a P-256 check costs about 130 us on the reference
  // 2-core machines, so 50 checks plus parsing a 100-certificate upload stay
  // under 10 ms (bench:adversarial). Go uses 100. Real chains need a handful;
  // x509-limbo passes unchanged at 50.
  int max_signature_checks = 50;
  // Paths handed to full validation.
  int max_paths_validated = 100;
  // Valid paths compared before the best is chosen.
  int max_valid_paths = 4;
  // Wall-clock budget for the whole search.
  absl::Duration deadline = absl::Seconds(2);
};

// What the searches of one request have spent together. The chain's own
// search and those for its CRL signers' paths (RFC 5280 6.3.3 (f),
// crl_signer.h) share one, so that a request has one SearchLimits budget of
// iterations, signature checks, validated paths and time, however many CRLs
// it weighs. The first search sets `deadline`.
struct SearchBudget {
  int iterations = 0;
  int signature_checks = 0;
  int paths_validated = 0;
  absl::Time deadline = absl::InfiniteFuture();
};

// Where issuers come from besides the uploads and the trust anchors. Both are
// part of the policy, immutable and shared by concurrent requests.
struct IssuerSources {
  // The policy's intermediate_stores: certificates offered as issuers, never
  // trusted. (A TrustStore here serves as the index by subject; its entries
  // are never treated as anchors.) Null: none.
  std::shared_ptr<const TrustStore> intermediates;
  // AIA chasing; null: missing issuers are not fetched.
  std::shared_ptr<IssuerFetcher> fetcher;
  // caIssuers URLs fetched per request (cache hits included). Chromium fetches
  // at most 5 per certificate.
  int max_fetches = 4;
  // Fetched certificates on one path: how deep chasing recurses.
  int max_fetched_per_path = 3;
  // Certificates accepted in one caIssuers response (a .p7c may hold several).
  size_t max_certificates_per_response = 16;
};

// Where a path element came from (CertificateDetails.source).
enum class CertificateSource { kUpload, kTrustStore, kIntermediateStore, kAiaFetch };

// One caIssuers fetch of a search, for the verdict and the audit record.
struct IssuerFetchNote {
  enum class Outcome { kFetched, kCached, kFailed };
  std::string url;
  Outcome outcome = Outcome::kFailed;
  // Lowercase hex SHA-256 of each parsable certificate of the response.
  std::vector<std::string> certificate_sha256;
  // Why nothing usable came back, or what was unusable. Unstable wording.
  std::string diagnostic;
};

struct SearchStats {
  int iterations = 0;
  // Signature results needed, including those answered by the shared cache.
  int signature_checks = 0;
  // Of signature_checks, those the shared cache answered.
  int signature_cache_hits = 0;
  int paths_validated = 0;
  // caIssuers URLs fetched (IssuerSources::max_fetches).
  int issuer_fetches = 0;
  // A limit or the deadline stopped the search (even if a valid path had
  // been found: a longer search might have chosen a better one).
  bool limit_hit = false;
};

// One element of a candidate path.
struct PathElement {
  CertificatePtr certificate;
  // Index in the upload, or -1 (not uploaded).
  int request_index = -1;
  // Set on the last element when the path ends at a trust anchor.
  const TrustAnchor* anchor = nullptr;
  CertificateSource source = CertificateSource::kUpload;
  // kAiaFetch: the caIssuers URL that served it.
  std::shared_ptr<const std::string> fetched_from;
};

// Validates one complete candidate path (leaf first, anchor last). Implemented
// by verify_certificate_chain.cc; a delegate so tests can substitute it.
class PathValidator {
 public:
  virtual ~PathValidator() = default;
  virtual void Validate(const std::vector<PathElement>& path,
                        CertErrors* errors) = 0;
};

struct PathBuilderResult {
  bool found_valid_path = false;
  // The valid path, or the best failed one (see path_builder.cc "Choosing
  // among failed paths").
  std::vector<PathElement> path;
  CertErrors errors;
  SearchStats stats;
  // Every caIssuers fetch, in order.
  std::vector<IssuerFetchNote> issuer_fetches;
  // Intermediate-store certificates weighed as issuers (the whole-result
  // cache's validity window depends on them).
  std::vector<CertificatePtr> store_candidates;
};

// `uploads[0]` is the leaf; null entries (unparsable uploads) are ignored.
// `caches` (may be null) is consulted and filled for signature edges and for
// parsing fetched certificates. `budget` (may be null: this search alone)
// is counted against `limits` together with the other searches sharing it.
PathBuilderResult BuildPath(const std::vector<CertificatePtr>& uploads,
                            const TrustStore& trust_store,
                            const SearchLimits& limits, int max_depth,
                            PathValidator* validator,
                            VerifierCaches* caches = nullptr,
                            const IssuerSources& issuer_sources = IssuerSources(),
                            SearchBudget* budget = nullptr);

}  // namespace chainverify::pki

#endif  // CHAINVERIFY_SERVER_PKI_PATH_BUILDER_H_
