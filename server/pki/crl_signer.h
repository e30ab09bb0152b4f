// The CRL issuer's own certification path (RFC 5280 6.3.3 (f)): establishes
// that a CRL the certificate's issuer key did not sign was signed by a key
// the certificate's trust anchor vouches for. This covers
//   - a CA key rollover: the CA's new key signs CRLs about certificates its
//     old key issued, or the reverse; the self-issued certificates linking
//     the two keys (new-with-old, old-with-new) make the signer's path;
//   - a separate CRL-signing key of the same CA name;
//   - an indirect CRL issuer named by the certificate's cRLIssuer.
//
// Candidate signers are the certificates whose subject is the CRL's issuer
// name, from: the trust anchors, the certificates of the path being checked,
// the request's uploads, the policy's intermediate stores and the
// certificates pushed next to the CRLs (crl_files). At most
// kMaxCrlSignerCandidates of them are tried per CRL, each charged one
// signature check. A candidate whose key verifies the CRL is accepted when:
//   - it is the path's own trust anchor (keyUsage, if any, with cRLSign), or
//   - the path builder finds it a valid path (ChainValidator in CRL-signer
//     mode: the signer needs cRLSign if it has a keyUsage, no purpose or
//     name checks) that ends at the same trust anchor as the certificate's
//     path.
// The signer searches share the request's SearchBudget with the chain's own
// search: one SearchLimits budget per request. They chase no AIA URLs.
//
// The signer's path is checked against the trust store's distrust records,
// the policy's denylist and its revocation sources too (CrlSignerPathRules),
// one level deep: the CRLs about the signer's path must be signed by each
// certificate's own issuer key, since resolving their signers in turn would
// recurse (RFC 5280 leaves the depth to the implementation). Only a definite
// answer refuses a signer (distrusted, denylisted, revoked); an unknown
// status does not, as the CA's new-with-old link certificate after a
// rollover is covered only by the new key's CRL, the very CRL being judged.
//
// Answers are memoized per request by (CRL, anchor).
#ifndef CHAINVERIFY_SERVER_PKI_CRL_SIGNER_H_
#define CHAINVERIFY_SERVER_PKI_CRL_SIGNER_H_

#include <map>
#include <memory>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "server/pki/crl.h"
#include "server/pki/path_builder.h"
#include "server/pki/trust_store.h"
#include "server/pki/validation_options.h"

namespace chainverify::pki {

inline constexpr size_t kMaxCrlSignerCandidates = 8;

// What a request offers to CRL signer searches. Owned by the request
// (verifier.cc); every pointer must outlive it.
struct CrlSignerContext {
  const std::vector<CertificatePtr>* uploads = nullptr;
  const TrustStore* trust_store = nullptr;
  const IssuerSources* issuers = nullptr;  // Only `intermediates` is used.
  const SearchLimits* limits = nullptr;
  SearchBudget* budget = nullptr;
  VerifierCaches* caches = nullptr;
  const ValidationOptions* options = nullptr;
  absl::Time time;
  // Certificates pushed next to the policy's CRLs (may be null).
  const std::vector<CertificatePtr>* crl_certificates = nullptr;
  // (CRL id, anchor) -> answer.
  std::map<std::pair<const void*, const TrustAnchor*>, CrlSignerAnswer> memo;
};

// The policy's rules for a CRL signer's own path; ChainValidator, which
// holds the policy, implements it.
class CrlSignerPathRules {
 public:
  virtual ~CrlSignerPathRules() = default;
  // Adds an error for each certificate of `path` (the signer first, the
  // anchor last) that the trust store explicitly distrusts, the policy's
  // denylist lists or a revocation source says is revoked, asking no CRL
  // signer but each issuer's own key.
  virtual void CheckCrlSignerPath(const std::vector<PathElement>& path, absl::Time now,
                                  CertErrors* errors) const = 0;
};

// Resolves CRL signers for the certificates of one candidate path. `rules`
// (may be null: no revocation check of signer paths) must outlive it.
class PathCrlSignerResolver : public CrlSignerResolver {
 public:
  PathCrlSignerResolver(CrlSignerContext* context, const std::vector<PathElement>& path,
                        const CrlSignerPathRules* rules)
      : context_(context), path_(path), rules_(rules) {}

  CrlSignerAnswer Resolve(const CrlSignatureQuery& query) override;

 private:
  CrlSignerAnswer Search(const CrlSignatureQuery& query, const TrustAnchor& anchor);

  CrlSignerContext* const context_;
  const std::vector<PathElement>& path_;
  const CrlSignerPathRules* const rules_;
};

}  // namespace chainverify::pki

#endif  // CHAINVERIFY_SERVER_PKI_CRL_SIGNER_H_
