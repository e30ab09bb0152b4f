// Certificate revocation lists (RFC 5280 sections 5 and 6.3): a set of parsed
// CRLs and the revocation status they give a certificate.
//
// Scope of this implementation:
//  - Direct CRLs: the CRL is issued and signed by the certificate's issuer
//    (the next certificate of the path). The CRL's issuer name must equal the
//    certificate's issuer name and its signature must verify with the issuer's
//    key (6.3.3 (f)-(g) without a separate CRL-signer path).
//  - Indirect CRLs (IDP indirectCRL, 5.2.5) are honoured only when signed by
//    the certificate's issuer: their entries are attributed to issuers through
//    the certificateIssuer entry extension (5.3.3). An indirect CRL from another
//    CRL issuer would need that issuer's own certification path and is not
//    used: such certificates get kUnknown.
//  - Delta CRLs (5.2.4, 6.3.3 (c)) combine with complete CRLs of the same scope.
//
// Decisions where RFC 5280 leaves room:
//  - Revocation is sticky: an entry on any authentic, well-formed CRL that
//    covers the certificate means kRevoked, even when that CRL is stale. The only
//    ways out are a newer delta CRL of the same scope listing the serial with
//    reason removeFromCRL (6.3.3 (l)), and, for certificateHold only, a newer
//    complete CRL of the same scope that no longer lists it.
//  - kGood needs complete CRLs that are current at the time (thisUpdate <= time
//    <= nextUpdate, or made current by a fresh delta, 6.3.3 (a)) and that cover
//    all reasons together (6.3.3 (d)); partial CRLs (onlySomeReasons) alone give
//    kUnknown. A delta CRL alone never gives kGood. CRLs whose thisUpdate is
//    after the time are not used at all.
//  - An authentic CRL for the certificate's issuer (same name, signature verifies
//    with the issuer's key) that breaks the profile (no cRLNumber, a critical
//    cRLNumber, an unhandled critical extension, an issuer without cRLSign, ...)
//    gives kInvalidCrl, whatever the other CRLs say unless the certificate is
//    revoked: the caller is expected to fail hard on it. A CRL whose signature
//    does not verify, or with another issuer name, is only ignored (same-named
//    CAs with other keys exist: key rollover, cross-certification).
//  - The algorithm policy (SHA-1, key sizes) is not applied to CRL signatures.
#ifndef CHAINVERIFY_SERVER_PKI_CRL_H_
#define CHAINVERIFY_SERVER_PKI_CRL_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/pki/certificate.h"

namespace chainverify::pki {

// CRLReason codes (RFC 5280 5.3.1).
inline constexpr int kCrlReasonUnspecified = 0;
inline constexpr int kCrlReasonKeyCompromise = 1;
inline constexpr int kCrlReasonCaCompromise = 2;
inline constexpr int kCrlReasonAffiliationChanged = 3;
inline constexpr int kCrlReasonSuperseded = 4;
inline constexpr int kCrlReasonCessationOfOperation = 5;
inline constexpr int kCrlReasonCertificateHold = 6;
inline constexpr int kCrlReasonRemoveFromCrl = 8;
inline constexpr int kCrlReasonPrivilegeWithdrawn = 9;
inline constexpr int kCrlReasonAaCompromise = 10;

// "keyCompromise", ...; "reason(<n>)" for unknown values.
std::string CrlReasonName(int reason);

// The validator reports kRevoked as cert_errors.h kRevoked, kInvalidCrl as
// kCrlInvalid, and kUnknown as kRevocationUnknown when the policy is hard-fail.
enum class RevocationState {
  // A current complete CRL covering all reasons does not list the certificate.
  kGood,
  // An authentic CRL lists the certificate.
  kRevoked,
  // No authoritative answer: no CRL from the issuer, none that verifies, none
  // current, none covering the certificate or all reasons.
  kUnknown,
  // A CRL signed by the issuer's key for the certificate's issuer name is not
  // usable because it breaks RFC 5280 (see `diagnostic`). Fail hard on it.
  kInvalidCrl,
};

struct RevocationCheck {
  RevocationState state = RevocationState::kUnknown;
  // The CRL that decided: "crl:<issuer name> #<cRLNumber>". Empty for kUnknown.
  std::string source;
  // For humans: the reason code for kRevoked, what was missing for kUnknown,
  // the violation for kInvalidCrl.
  std::string diagnostic;
  // CRLReason (RFC 5280 5.3.1) when kRevoked: kCrlReasonUnspecified when the
  // entry has no reasonCode. -1 otherwise.
  int reason = -1;
};

// The URIs in `cert`'s cRLDistributionPoints fullNames (RFC 5280 4.2.1.13).
// URIs with bytes outside printable ASCII are left out.
std::vector<std::string> CrlDistributionPointUrls(const Certificate& cert);

// Whether every byte of `s` is printable ASCII (0x20-0x7E), as a URI in an
// IA5String must be (RFC 3986 section 2).
bool IsPrintableAscii(absl::string_view s);

// A set of parsed CRLs. Immutable once built and safe to share across threads.
class CrlSet {
 public:
  struct ParsedCrl;  // Defined in crl.cc.

  // Parses DER CRLs. CRLs that do not decode, or have trailing data, are left
  // out with a message in `load_errors` (may be null). CRLs that decode but
  // break the profile are kept: Check() reports them as kInvalidCrl to the
  // certificates of their issuer when their signature verifies with the
  // issuer's key. Never returns null.
  static std::shared_ptr<const CrlSet> Parse(
      const std::vector<std::string>& crl_ders,
      std::vector<std::string>* load_errors);

  // The status of `cert`, issued by `issuer` (the next certificate of the
  // path), at `time` (RFC 5280 6.3.3).
  RevocationCheck Check(const Certificate& cert, const Certificate& issuer,
                        absl::Time time) const;

  bool empty() const { return crls_.empty(); }
  size_t size() const { return crls_.size(); }

  ~CrlSet();
  CrlSet(const CrlSet&) = delete;
  CrlSet& operator=(const CrlSet&) = delete;

 private:
  CrlSet();

  std::vector<std::unique_ptr<const ParsedCrl>> crls_;
};

}  // namespace chainverify::pki

#endif  // CHAINVERIFY_SERVER_PKI_CRL_H_
