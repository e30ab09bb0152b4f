// Certification path building (RFC 4158): a depth-first search from the leaf
// towards a trust anchor, with backtracking, over the uploaded certificates and
// the policy's anchors.
//
// Candidate issuers of a certificate C are the anchors and uploaded
// certificates whose subject equals C's issuer, ordered the way mature builders
// order them (BoringSSL pki, Go crypto/x509):
//   1. trust anchors before intermediates;
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
// What it does not do: fetch missing issuers (AIA chasing). Across requests it
// remembers only signature results, and only through the optional shared
// VerifierCaches (content-keyed, see caches.h); the verdict never depends on
// what that cache holds, since a shared hit is charged to the signature-check
// budget like a real check.
#ifndef CHAINVERIFY_SERVER_PKI_PATH_BUILDER_H_
#define CHAINVERIFY_SERVER_PKI_PATH_BUILDER_H_

#include <cstdint>
#include <vector>

#include "absl/time/time.h"
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

struct SearchStats {
  int iterations = 0;
  // Signature results needed, including those answered by the shared cache.
  int signature_checks = 0;
  // Of signature_checks, those the shared cache answered.
  int signature_cache_hits = 0;
  int paths_validated = 0;
  // A limit or the deadline stopped the search (even if a valid path had
  // been found: a longer search might have chosen a better one).
  bool limit_hit = false;
};

// One element of a candidate path.
struct PathElement {
  CertificatePtr certificate;
  // Index in the upload, or -1 (trust store).
  int request_index = -1;
  // Set on the last element when the path ends at a trust anchor.
  const TrustAnchor* anchor = nullptr;
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
};

// `uploads[0]` is the leaf; null entries (unparsable uploads) are ignored.
// `caches` (may be null) is consulted and filled for signature edges.
PathBuilderResult BuildPath(const std::vector<CertificatePtr>& uploads,
                            const TrustStore& trust_store,
                            const SearchLimits& limits, int max_depth,
                            PathValidator* validator,
                            VerifierCaches* caches = nullptr);

}  // namespace chainverify::pki

#endif  // CHAINVERIFY_SERVER_PKI_PATH_BUILDER_H_
