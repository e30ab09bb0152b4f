// Certificate revocation lists (RFC 5280 sections 5 and 6.3): a set of parsed
// CRLs and the revocation status they give a certificate.
//
// Scope of this implementation (README "Revocation" has the feature table):
//  - Direct CRLs: the CRL's issuer name is the certificate's issuer name.
//  - Indirect CRLs (5.2.5, 6.3.3 (b)(1)): a CRL from another issuer serves a
//    certificate whose cRLDistributionPoints names that issuer in cRLIssuer,
//    and only when the CRL's issuingDistributionPoint asserts indirectCRL.
//    Entries are attributed to issuers through the certificateIssuer entry
//    extension (5.3.3): an entry belongs to the issuer named by the most
//    recent certificateIssuer before it, the CRL issuer before the first.
//  - Authenticity (6.3.3 (f)-(g)): a CRL counts when the certificate's issuer
//    key verifies it, or when a CrlSignerResolver establishes a valid path to
//    a certificate of the CRL's issuer name whose key verifies it (key
//    rollover, a separate CRL-signing key, an indirect CRL issuer). Without a
//    resolver only the issuer key is tried.
//  - Scope (6.3.3 (b)(2)): issuingDistributionPoint names against the
//    certificate's distribution points, onlyContainsUserCerts /
//    onlyContainsCACerts / onlyContainsAttributeCerts, onlySomeReasons.
//  - Delta CRLs (5.2.4, 6.3.3 (c)): a delta applies to a usable complete CRL
//    of the same issuer and scope whose cRLNumber is at least the delta's
//    BaseCRLNumber and below the delta's number. A delta that applies to no
//    complete CRL is not a source at all.
//  - Size: entries are not kept as OpenSSL objects. The DER is kept once and
//    an index of 24 bytes per entry, sorted by serial, points into it; an
//    entry's reason and date are decoded when a lookup finds it. At most
//    kMaxCrlEntries entries per CRL.
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
//    kUnknown. A delta CRL alone never gives an answer. CRLs whose thisUpdate
//    is after the time are not used at all.
//  - An authentic CRL for the certificate (its issuer key, or a CRL signer with
//    a valid path, signed it) that breaks the profile (no cRLNumber, a critical
//    cRLNumber, an unhandled critical extension, an issuer without cRLSign, ...)
//    gives kInvalidCrl, whatever the other CRLs say unless the certificate is
//    revoked: the caller is expected to fail hard on it. A CRL that no
//    acceptable key verifies is only passed over (same-named CAs with other
//    keys exist: key rollover, cross-certification).
//  - The algorithm policy (SHA-1, key sizes) is not applied to CRL signatures.
#ifndef CHAINVERIFY_SERVER_PKI_CRL_H_
#define CHAINVERIFY_SERVER_PKI_CRL_H_

#include <functional>
#include <memory>
#include <optional>
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
  // OCSP only: the certificate of the delegated responder that signed the
  // answer, as parsed to authorize it, so that the caller can judge the
  // responder itself; null when the issuer signed. With id-pkix-ocsp-nocheck
  // (RFC 6960 4.2.2.2.1) its own revocation status is not to be checked.
  CertificatePtr delegated_responder;
  bool responder_nocheck = false;
};

// The URIs in `cert`'s cRLDistributionPoints fullNames (RFC 5280 4.2.1.13).
// URIs with bytes outside printable ASCII are left out.
std::vector<std::string> CrlDistributionPointUrls(const Certificate& cert);

// The same for `cert`'s freshestCRL extension (4.2.1.15): where delta CRLs
// for it are published.
std::vector<std::string> FreshestCrlUrls(const Certificate& cert);

// Whether every byte of `s` is printable ASCII (0x20-0x7E), as a URI in an
// IA5String must be (RFC 3986 section 2).
bool IsPrintableAscii(absl::string_view s);

// Entries per CRL. Larger CRLs are refused at parse time (README "Limits");
// the largest Web PKI CRL shards hold a few hundred thousand.
inline constexpr size_t kMaxCrlEntries = 4'000'000;

// A CRL whose signature the certificate's issuer key does not verify, as
// offered to a CrlSignerResolver.
struct CrlSignatureQuery {
  // The CRL's issuer name: the signer's certificate must have it as subject.
  const X509_NAME* issuer = nullptr;
  // Whether `signer`'s public key verifies the CRL's signature. Memoized per
  // CRL and key, so asking again is free.
  std::function<bool(const Certificate& signer)> verifies;
  // "CRL #3 from CN=CA", for diagnostics.
  std::string description;
  // Identifies the CRL while its CrlSet lives (for memoizing answers).
  const void* id = nullptr;
};

struct CrlSignerAnswer {
  bool found = false;
  // Found: who signed ("CN=CA CRL signer, path to CN=Root"). Not found: why.
  std::string diagnostic;
};

// Establishes that a CRL the certificate's issuer key did not sign comes from
// an authority the certificate's path trusts (RFC 5280 6.3.3 (f)): a
// certificate of the CRL's issuer name whose key verifies the CRL, with
// cRLSign, and a valid path to the same trust anchor as the certificate.
// Implemented by crl_signer.h; a delegate so that this file stays free of path
// building.
class CrlSignerResolver {
 public:
  virtual ~CrlSignerResolver() = default;
  virtual CrlSignerAnswer Resolve(const CrlSignatureQuery& query) = 0;
};

// A set of parsed CRLs. Immutable once built and safe to share across threads.
class CrlSet {
 public:
  struct ParsedCrl;  // Defined in crl.cc.

  // Parses DER CRLs. CRLs that do not decode, have trailing data or more than
  // kMaxCrlEntries entries are left out with a message in `load_errors` (may
  // be null). CRLs that decode but break the profile are kept: Check() reports
  // them as kInvalidCrl to the certificates they are authentic for. Never
  // returns null. Each CRL's DER is kept (moved in when the caller passes an
  // rvalue).
  static std::shared_ptr<const CrlSet> Parse(std::vector<std::string> crl_ders,
                                             std::vector<std::string>* load_errors);

  // The status of `cert`, issued by `issuer` (the next certificate of the
  // path), at `time` (RFC 5280 6.3.3). `signers` (may be null) is asked about
  // CRLs that `issuer`'s key does not verify.
  RevocationCheck Check(const Certificate& cert, const Certificate& issuer,
                        absl::Time time,
                        CrlSignerResolver* signers = nullptr) const;

  // The status from several sets together (delta CRLs of one set apply to
  // complete CRLs of another), as Check().
  static RevocationCheck CheckAll(const std::vector<const CrlSet*>& sets,
                                  const Certificate& cert, const Certificate& issuer,
                                  absl::Time time, CrlSignerResolver* signers);

  // URLs of the freshestCRL extension (5.2.6) of the complete CRLs, where
  // their delta CRLs are published.
  std::vector<std::string> FreshestCrlUrls() const;

  // The earliest nextUpdate of the CRLs; nullopt when one has none.
  std::optional<absl::Time> NextUpdate() const;

  // DER bytes and entries over all CRLs (memory accounting, tests).
  size_t der_bytes() const;
  size_t entry_count() const;

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
