// RFC 5280 section 6.1 path validation of one candidate path, plus the
// CA/Browser Forum Web PKI checks when that profile is selected.
//
// Deviations from RFC 5280 (each the choice most TLS verifiers make):
//  * The anchor certificate's validity period, public key, basicConstraints,
//    keyUsage, pathLenConstraint, nameConstraints, extendedKeyUsage and
//    critical extensions are enforced (ValidationOptions::
//    enforce_anchor_validity for the dates). How the anchor was issued (its
//    own signature algorithm, RFC 5280 section 4 and CA/B encoding rules) is
//    judged only with ValidationOptions::strict_anchor_checks.
//  * Validity is compared at one-second granularity (RFC 5280 4.1.2.5 encodes
//    no finer), so the whole final second of notAfter is valid.
//  * extendedKeyUsage in a CA certificate restricts the purposes of the
//    certificates below it (as OpenSSL, Go and Chrome do).
//  * No Common Name fallback for peer names.
//
// Additional responsibilities of the caller (the path builder):
//  * Each certificate's signature has been verified with its issuer's public
//    key before Validate() is called; this file checks that the algorithms
//    used are acceptable, not the signature bytes.
//  * The path ends at a trust anchor (path.back().anchor != nullptr).
#ifndef CHAINVERIFY_SERVER_PKI_VERIFY_CERTIFICATE_CHAIN_H_
#define CHAINVERIFY_SERVER_PKI_VERIFY_CERTIFICATE_CHAIN_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "server/pki/cert_errors.h"
#include "server/pki/crl_signer.h"
#include "server/pki/policy_rules.h"
#include "server/pki/path_builder.h"
#include "server/pki/validation_options.h"

namespace chainverify::pki {

class ChainValidator : public PathValidator, public CrlSignerPathRules {
 public:
  ChainValidator(const ValidationOptions& options, KeyPurpose purpose,
                 const PeerName& peer_name, absl::Time time)
      : options_(options), purpose_(purpose), peer_name_(peer_name), time_(time) {}

  // Also apply the policy's revocation, denylist and pin rules. `rules` and
  // `stapled_ocsp` (the leaf's stapled response, maybe empty) must outlive
  // the validator.
  void SetPolicyRules(const PolicyRules* rules, const std::string& stapled_ocsp) {
    rules_ = rules;
    stapled_ocsp_ = &stapled_ocsp;
  }

  // Revocation fetches are waited for until `deadline` (wall clock; the
  // transfers go on and serve later requests). Default: no limit.
  void SetFetchDeadline(absl::Time deadline) { fetch_deadline_ = deadline; }

  // Also apply the explicit distrust records of `store` (by issuer and
  // serial) to every certificate of the path. Must outlive the validator.
  void SetTrustStore(const TrustStore* store) { trust_store_ = store; }

  // Establish the paths of CRL signers other than the certificate's issuer
  // key through `context` (crl_signer.h). Must outlive the validator.
  void SetCrlSigners(CrlSignerContext* context) { crl_signers_ = context; }

  // Validate the path of a CRL signer instead of a TLS peer's (RFC 5280
  // 6.3.3 (f)): path[0] is the signer, which needs cRLSign when it has a
  // keyUsage and is not judged as a TLS certificate (no purpose, name or
  // issuance-profile checks on it, no purpose checks on its CAs), and the
  // path must end at `anchor`. Instead of the policy rules, `path_rules`
  // (may be null) applies to the path; it must outlive the validator.
  void SetCrlSignerAnchor(const TrustAnchor* anchor, const CrlSignerPathRules* path_rules) {
    crl_signer_anchor_ = anchor;
    crl_signer_path_rules_ = path_rules;
  }

  void Validate(const std::vector<PathElement>& path, CertErrors* errors) override;

  // RefuseVoucher for every certificate but the anchor of the path of a CRL
  // signer this validator's path relies on. Needs SetPolicyRules.
  void CheckCrlSignerPath(const std::vector<PathElement>& path, absl::Time now,
                          CertErrors* errors) const override;

 private:
  const ValidationOptions& options_;
  const KeyPurpose purpose_;
  const PeerName& peer_name_;
  const absl::Time time_;
  const PolicyRules* rules_ = nullptr;
  const std::string* stapled_ocsp_ = nullptr;
  absl::Time fetch_deadline_ = absl::InfiniteFuture();
  const TrustStore* trust_store_ = nullptr;
  CrlSignerContext* crl_signers_ = nullptr;
  const TrustAnchor* crl_signer_anchor_ = nullptr;
  const CrlSignerPathRules* crl_signer_path_rules_ = nullptr;

  // The revocation answer for path[i] from the configured sources, in order:
  // pushed CRLs, the stapled OCSP response (leaf), fetched OCSP, fetched CRLs.
  // `signers` (may be null) establishes CRL signers for this path. With
  // `judge_vouchers`, an OCSP answer from a delegated responder that
  // RefuseVoucher refuses is no answer.
  RevocationCheck CheckRevocation(const Certificate& cert, const Certificate& issuer,
                                  bool is_leaf, absl::Time now, CrlSignerResolver* signers,
                                  bool judge_vouchers) const;

  // Why the policy refuses `cert` (issued by `issuer`) as a voucher for
  // another certificate's status (a CRL signer or one of its path's CAs, a
  // delegated OCSP responder), or nullopt: the trust store's explicit
  // distrust, the policy's denylist and, with `check_revocation` and unless
  // the policy checks only leaves, a revoked status from its revocation
  // sources, whose own vouchers are not judged in turn. An unknown status
  // does not refuse (crl_signer.h).
  struct Refusal {
    const CertErrorId* id;
    std::string why;
  };
  std::optional<Refusal> RefuseVoucher(const Certificate& cert, const Certificate& issuer,
                                       absl::Time now, bool check_revocation) const;
  void CheckPolicyRules(const std::vector<PathElement>& path, absl::Time now,
                        CertErrors* errors) const;
};

// The algorithm rules, exposed for tests: whether `cert`'s own signature
// algorithm (an issuance rule) and its public key (what a path relies on) are
// acceptable under `policy`.
void CheckSignatureAlgorithm(const Certificate& cert, int chain_index,
                             const AlgorithmPolicy& policy, CertErrors* errors);
void CheckPublicKey(const Certificate& cert, int chain_index, const AlgorithmPolicy& policy,
                    CertErrors* errors);

}  // namespace chainverify::pki

#endif  // CHAINVERIFY_SERVER_PKI_VERIFY_CERTIFICATE_CHAIN_H_
