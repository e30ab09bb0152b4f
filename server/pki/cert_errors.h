// Overview of error design (after BoringSSL pki/cert_errors.h):
//
// Every finding is a CertError: a stable id (a CertErrorId constant defined
// below, matched by tests and clients), the public Status class it maps to, a
// severity, the certificate it concerns, and a diagnostic string for humans that
// is documented as unstable. A verdict's `status` is the Status of the first
// ERROR-severity finding of the path that was chosen (see path_builder.h for how
// the path is chosen when none verifies).
#ifndef CHAINVERIFY_SERVER_PKI_CERT_ERRORS_H_
#define CHAINVERIFY_SERVER_PKI_CERT_ERRORS_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "chainverify/v1/verifier.pb.h"

namespace chainverify::pki {

using ::chainverify::v1::Status;

// A stable error identifier. Compare by pointer or by `name`.
struct CertErrorId {
  const char* name;
  Status status;
};

#define CHAINVERIFY_CERT_ERROR_ID(var, name, status) \
  inline constexpr CertErrorId var { name, ::chainverify::v1::status }

// Parsing (RFC 5280 section 4.1, DER).
CHAINVERIFY_CERT_ERROR_ID(kCertMalformed, "cert.malformed", MALFORMED_CERTIFICATE);
CHAINVERIFY_CERT_ERROR_ID(kCertInvalidExtension, "cert.invalid_extension", MALFORMED_CERTIFICATE);
CHAINVERIFY_CERT_ERROR_ID(kCertUnusedUnparsable, "cert.unused_unparsable", MALFORMED_CERTIFICATE);
CHAINVERIFY_CERT_ERROR_ID(kCertSignatureAlgorithmMismatch, "cert.signature_algorithm_mismatch", MALFORMED_CERTIFICATE);
CHAINVERIFY_CERT_ERROR_ID(kCertSerialInvalid, "cert.serial_invalid", MALFORMED_CERTIFICATE);
CHAINVERIFY_CERT_ERROR_ID(kCertVersionInvalid, "cert.version_invalid", MALFORMED_CERTIFICATE);
CHAINVERIFY_CERT_ERROR_ID(kCertEmptyIssuer, "cert.empty_issuer", MALFORMED_CERTIFICATE);
CHAINVERIFY_CERT_ERROR_ID(kCertSanInvalid, "cert.san_invalid", MALFORMED_CERTIFICATE);
CHAINVERIFY_CERT_ERROR_ID(kCertAkiInvalid, "cert.aki_invalid", MALFORMED_CERTIFICATE);
CHAINVERIFY_CERT_ERROR_ID(kCertSkiMissing, "cert.ski_missing", MALFORMED_CERTIFICATE);
CHAINVERIFY_CERT_ERROR_ID(kCertSkiInvalid, "cert.ski_invalid", MALFORMED_CERTIFICATE);
CHAINVERIFY_CERT_ERROR_ID(kCertAiaInvalid, "cert.aia_invalid", MALFORMED_CERTIFICATE);
CHAINVERIFY_CERT_ERROR_ID(kCertRootExtendedKeyUsage, "cert.root_extended_key_usage", MALFORMED_CERTIFICATE);

// Path building (RFC 4158).
CHAINVERIFY_CERT_ERROR_ID(kPathNoIssuer, "path.no_issuer", NO_PATH_TO_TRUSTED_ANCHOR);
CHAINVERIFY_CERT_ERROR_ID(kPathIterationLimit, "path.iteration_limit", SEARCH_LIMIT_REACHED);
CHAINVERIFY_CERT_ERROR_ID(kPathSignatureCheckLimit, "path.signature_check_limit", SEARCH_LIMIT_REACHED);
CHAINVERIFY_CERT_ERROR_ID(kPathDeadlineExceeded, "path.deadline_exceeded", SEARCH_LIMIT_REACHED);
CHAINVERIFY_CERT_ERROR_ID(kPathDepthLimit, "path.depth_limit", CHAIN_TOO_LONG);
CHAINVERIFY_CERT_ERROR_ID(kPathTooLong, "path.too_long", CHAIN_TOO_LONG);
// AIA chasing (path_builder.h): the per-request fetch budget ran out; and, as
// a warning on a verified chain, that the peer's chain was incomplete and an
// issuer had to be fetched (find misconfigured servers by this id).
CHAINVERIFY_CERT_ERROR_ID(kPathFetchLimit, "path.fetch_limit", SEARCH_LIMIT_REACHED);
CHAINVERIFY_CERT_ERROR_ID(kPathCompletedByFetch, "path.completed_by_fetch", NO_PATH_TO_TRUSTED_ANCHOR);

// Signatures and algorithms (RFC 5280 6.1.3 (a)(1)).
CHAINVERIFY_CERT_ERROR_ID(kSignatureInvalid, "signature.invalid", BAD_SIGNATURE);
CHAINVERIFY_CERT_ERROR_ID(kSignatureAlgorithmDisallowed, "signature.algorithm_disallowed", WEAK_ALGORITHM);
CHAINVERIFY_CERT_ERROR_ID(kPublicKeyDisallowed, "public_key.disallowed", WEAK_ALGORITHM);
CHAINVERIFY_CERT_ERROR_ID(kPublicKeyInvalid, "public_key.invalid", MALFORMED_CERTIFICATE);

// Validity (RFC 5280 4.1.2.5, 6.1.3 (a)(2)).
CHAINVERIFY_CERT_ERROR_ID(kValidityExpired, "validity.expired", EXPIRED);
CHAINVERIFY_CERT_ERROR_ID(kValidityNotYetValid, "validity.not_yet_valid", NOT_YET_VALID);

// CA constraints (RFC 5280 4.2.1.9, 4.2.1.3, 6.1.4 (k)-(n)).
CHAINVERIFY_CERT_ERROR_ID(kIssuerNotCa, "ca.not_a_ca", INVALID_CA);
CHAINVERIFY_CERT_ERROR_ID(kIssuerNoKeyCertSign, "ca.no_key_cert_sign", INVALID_CA);
CHAINVERIFY_CERT_ERROR_ID(kPathLenExceeded, "ca.path_len_exceeded", CHAIN_TOO_LONG);
CHAINVERIFY_CERT_ERROR_ID(kBasicConstraintsNotCritical, "ca.basic_constraints_not_critical", INVALID_CA);
CHAINVERIFY_CERT_ERROR_ID(kKeyCertSignWithoutCa, "ca.key_cert_sign_without_ca", INVALID_CA);

// Key usage (RFC 5280 4.2.1.3, 4.2.1.12).
CHAINVERIFY_CERT_ERROR_ID(kKeyUsageDisallowed, "usage.key_usage", USAGE_NOT_ALLOWED);
CHAINVERIFY_CERT_ERROR_ID(kExtendedKeyUsageDisallowed, "usage.extended_key_usage", USAGE_NOT_ALLOWED);
CHAINVERIFY_CERT_ERROR_ID(kLeafIsCa, "usage.leaf_is_ca", USAGE_NOT_ALLOWED);
CHAINVERIFY_CERT_ERROR_ID(kExtendedKeyUsageMissing, "usage.extended_key_usage_missing", USAGE_NOT_ALLOWED);
CHAINVERIFY_CERT_ERROR_ID(kExtendedKeyUsageCritical, "usage.extended_key_usage_critical", MALFORMED_CERTIFICATE);

// Names (RFC 5280 4.2.1.10, RFC 6125).
CHAINVERIFY_CERT_ERROR_ID(kNameMismatch, "name.mismatch", NAME_MISMATCH);
CHAINVERIFY_CERT_ERROR_ID(kNameConstraintViolation, "name.constraint_violation", NAME_CONSTRAINT_VIOLATION);
CHAINVERIFY_CERT_ERROR_ID(kNameConstraintsInvalid, "name.constraints_invalid", MALFORMED_CERTIFICATE);
CHAINVERIFY_CERT_ERROR_ID(kNameConstraintsInEndEntity, "name.constraints_in_end_entity", MALFORMED_CERTIFICATE);
CHAINVERIFY_CERT_ERROR_ID(kNameConstraintsTooComplex, "name.constraints_too_complex", NAME_CONSTRAINT_VIOLATION);
// Leaf names (RFC 5280 4.2.1.6; CA/B Forum BR 3.2.2.6, 7.1.4.3): web_pki_names.h.
CHAINVERIFY_CERT_ERROR_ID(kNameSanDnsSyntax, "name.san_dns_syntax", MALFORMED_CERTIFICATE);
CHAINVERIFY_CERT_ERROR_ID(kNameWildcardPublicSuffix, "name.wildcard_public_suffix", MALFORMED_CERTIFICATE);
CHAINVERIFY_CERT_ERROR_ID(kNameCommonNameMismatch, "name.common_name_mismatch", MALFORMED_CERTIFICATE);

// Extensions and policies (RFC 5280 4.2, 6.1.3 (d)-(f), 6.1.5).
CHAINVERIFY_CERT_ERROR_ID(kUnhandledCriticalExtension, "extension.unhandled_critical", UNHANDLED_CRITICAL_EXTENSION);
CHAINVERIFY_CERT_ERROR_ID(kPolicyRequiredButNone, "policy.explicit_policy_required", CERTIFICATE_POLICY_VIOLATION);
CHAINVERIFY_CERT_ERROR_ID(kPolicyInvalid, "policy.invalid", MALFORMED_CERTIFICATE);
CHAINVERIFY_CERT_ERROR_ID(kPolicyLimit, "policy.tree_limit", CERTIFICATE_POLICY_VIOLATION);

// Revocation (RFC 5280 6.3).
CHAINVERIFY_CERT_ERROR_ID(kRevoked, "revocation.revoked", REVOKED);
CHAINVERIFY_CERT_ERROR_ID(kRevocationUnknown, "revocation.unknown", REVOCATION_UNKNOWN);
// A CRL signed by the issuer's key breaks RFC 5280 5.2/5.3 or 6.3.3 (f) (e.g. no
// or a critical cRLNumber, issuer without cRLSign): unusable, fail closed.
CHAINVERIFY_CERT_ERROR_ID(kCrlInvalid, "revocation.crl_invalid", REVOCATION_UNKNOWN);
// Only in a CRL signer's own path (crl_signer.h), reported inside the
// revocation diagnostic: the signer's keyUsage lacks cRLSign, or its path ends
// at another anchor than the certificate's (RFC 5280 6.3.3 (f)).
CHAINVERIFY_CERT_ERROR_ID(kCrlSignerNoCrlSign, "revocation.crl_signer_no_crl_sign", REVOCATION_UNKNOWN);
CHAINVERIFY_CERT_ERROR_ID(kCrlSignerOtherAnchor, "revocation.crl_signer_other_anchor", REVOCATION_UNKNOWN);

// Anchors and policy. What a trust source (a root program's certdata.txt) or
// the policy's anchor_constraints say about the anchor, or an explicit
// distrust of any certificate of the path (CKT_NSS_NOT_TRUSTED).
CHAINVERIFY_CERT_ERROR_ID(kAnchorDistrustAfter, "anchor.distrust_after", POLICY_DENIED);
CHAINVERIFY_CERT_ERROR_ID(kAnchorNotTrustedForUsage, "anchor.not_trusted_for_usage", POLICY_DENIED);
CHAINVERIFY_CERT_ERROR_ID(kTrustDistrusted, "trust.distrusted", POLICY_DENIED);
CHAINVERIFY_CERT_ERROR_ID(kAnchorNameConstraint, "anchor.name_constraint", NAME_CONSTRAINT_VIOLATION);
CHAINVERIFY_CERT_ERROR_ID(kPinMismatch, "pin.mismatch", PIN_MISMATCH);
CHAINVERIFY_CERT_ERROR_ID(kDenylisted, "revocation.denylisted", REVOKED);

#undef CHAINVERIFY_CERT_ERROR_ID

enum class Severity { kError, kWarning };

// One finding.
struct CertError {
  const CertErrorId* id;
  Severity severity = Severity::kError;
  // Position in the path the error belongs to (0 = leaf), or -1.
  int chain_index = -1;
  // Position in the uploaded certificates, or -1.
  int request_index = -1;
  // Unstable, for humans.
  std::string diagnostic;
};

// The revocation answer for one certificate of a path (RFC 5280 6.3, RFC 6960).
struct RevocationNote {
  enum class State { kGood, kRevoked, kUnknown };
  int chain_index = -1;
  State state = State::kUnknown;
  // "crl:<issuer> #<number>", "ocsp:<responder>", "stapled-ocsp:<responder>",
  // "denylist"; empty when unknown.
  std::string source;
  // Revocation reason, or why the status is unknown.
  std::string detail;
};

// The findings of one validation of one path.
class CertErrors {
 public:
  void AddRevocationNote(RevocationNote note) { revocation_.push_back(std::move(note)); }
  const std::vector<RevocationNote>& revocation() const { return revocation_; }

  void Add(const CertErrorId& id, int chain_index, std::string diagnostic,
           Severity severity = Severity::kError) {
    errors_.push_back({&id, severity, chain_index, -1, std::move(diagnostic)});
  }
  bool HasError() const;
  bool Contains(const CertErrorId& id) const;
  // The Status of the first ERROR-severity finding, or OK.
  Status PrimaryStatus() const;
  const std::vector<CertError>& errors() const { return errors_; }
  std::vector<CertError>& mutable_errors() { return errors_; }

 private:
  std::vector<CertError> errors_;
  std::vector<RevocationNote> revocation_;
};

}  // namespace chainverify::pki

#endif  // CHAINVERIFY_SERVER_PKI_CERT_ERRORS_H_
