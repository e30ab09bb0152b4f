// Tests of CRL revocation checking (RFC 5280 sections 5 and 6.3). The PKI is
// built at test time; CRLs that IssueCrl() cannot express (missing or critical
// cRLNumber, issuingDistributionPoint, delta CRLs, entry extensions) are built
// here with OpenSSL directly.
#include "server/pki/crl.h"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/testutil/parsed_certificate.h"
#include "tests/testutil/test_pki.h"

namespace chainverify::pki {
namespace {

using ::chainverify::testing::CertSpec;
using ::chainverify::testing::IntermediateSpec;
using ::chainverify::testing::IssueCrl;
using ::chainverify::testing::LeafSpec;
using ::chainverify::testing::MustIssue;
using ::chainverify::testing::Parsed;
using ::chainverify::testing::RootSpec;
using ::chainverify::testing::TestCert;
using ::chainverify::testing::WithKeyUsage;
using ::chainverify::testing::WithSerial;

const absl::Time kNow = absl::FromUnixSeconds(1750000000);  // 2025-06-15
const absl::Time kThisUpdate = kNow - absl::Hours(24);
const absl::Time kNextUpdate = kNow + absl::Hours(24 * 7);
constexpr char kLeafSerial[] = "1001";
constexpr char kSubCaSerial[] = "2002";
constexpr char kCdpUri[] = "http://crl.example/ca.crl";

CertSpec WithCdp(CertSpec spec, std::string uri) {
  spec.crl_distribution_points.push_back(std::move(uri));
  return spec;
}

// CA issues leaf and sub_ca; other_ca is an unrelated issuer; the two other
// CAs differ from CA only in keyUsage.
struct Pki {
  TestCert root = MustIssue(RootSpec("Root"), nullptr);
  TestCert ca = MustIssue(IntermediateSpec("CA"), &root);
  TestCert other_ca = MustIssue(IntermediateSpec("Other CA"), &root);
  TestCert ca_no_crlsign = MustIssue(
      WithKeyUsage(IntermediateSpec("CA without cRLSign"), "critical,keyCertSign"), &root);
  TestCert ca_no_ku =
      MustIssue(WithKeyUsage(IntermediateSpec("CA without keyUsage"), ""), &root);
  TestCert leaf = MustIssue(
      WithCdp(WithSerial(LeafSpec("leaf", {"leaf.example"}), kLeafSerial), kCdpUri), &ca);
  TestCert sub_ca = MustIssue(WithSerial(IntermediateSpec("Sub CA"), kSubCaSerial), &ca);
  TestCert leaf_of_no_crlsign =
      MustIssue(WithSerial(LeafSpec("leaf2", {"leaf2.example"}), kLeafSerial), &ca_no_crlsign);
  TestCert leaf_of_no_ku =
      MustIssue(WithSerial(LeafSpec("leaf3", {"leaf3.example"}), kLeafSerial), &ca_no_ku);
};

const Pki& TestPki() {
  static const Pki* pki = new Pki();
  return *pki;
}

// --- CRL building -----------------------------------------------------------

using EntrySpec = ::chainverify::testing::CrlEntrySpec;
using CrlSpec = ::chainverify::testing::CrlSpec;
using RawExtension = CertSpec::RawExtension;

std::string BuildCrl(const TestCert& issuer, const CrlSpec& spec) {
  absl::StatusOr<std::string> crl = IssueCrl(issuer, spec);
  EXPECT_TRUE(crl.ok()) << crl.status();
  return crl.ok() ? *crl : "";
}

std::string Crl(const TestCert& issuer, const std::function<void(CrlSpec&)>& edit = {}) {
  CrlSpec spec;
  if (edit) edit(spec);
  return BuildCrl(issuer, spec);
}

std::string Simple(const TestCert& issuer, const std::vector<std::string>& serials,
                   absl::Time this_update = kThisUpdate,
                   absl::Time next_update = kNextUpdate, int64_t number = 1) {
  absl::StatusOr<std::string> crl =
      IssueCrl(issuer, serials, this_update, next_update, number);
  EXPECT_TRUE(crl.ok()) << crl.status();
  return crl.ok() ? *crl : "";
}

EntrySpec Revoke(std::string serial, std::optional<int> reason = std::nullopt) {
  EntrySpec e;
  e.serial_hex = std::move(serial);
  e.reason = reason;
  return e;
}

// An unknown extension: OID 1.3.6.1.4.1.55555.1, value NULL.
RawExtension Unknown(bool critical) { return {"1.3.6.1.4.1.55555.1", critical, "\x05\x00"}; }

// --- Cases ------------------------------------------------------------------

// Which certificate is checked, with its issuer.
enum class Subject { kLeaf, kSubCa, kLeafOfNoCrlSign, kLeafOfNoKu };

struct Case {
  std::string name;
  Subject subject;
  std::function<std::vector<std::string>(const Pki&)> crls;
  RevocationState want;
  int want_reason = -1;
  std::string diagnostic = "";  // Expected substring of the diagnostic.
  std::string source = "";      // Expected source, when not empty.
};

std::vector<Case> Cases() {
  using S = RevocationState;
  return {
      // Basic answers.
      {"RevokedNoReason", Subject::kLeaf,
       [](const Pki& p) { return std::vector<std::string>{Simple(p.ca, {kLeafSerial})}; },
       S::kRevoked, kCrlReasonUnspecified, "unspecified", "crl:CN=CA #1"},
      {"RevokedWithReason", Subject::kLeaf,
       [](const Pki& p) {
         return std::vector<std::string>{Crl(p.ca, [](CrlSpec& s) {
           s.number = 7;
           s.entries = {Revoke("AB"), Revoke(kLeafSerial, kCrlReasonKeyCompromise)};
         })};
       },
       S::kRevoked, kCrlReasonKeyCompromise, "keyCompromise", "crl:CN=CA #7"},
      {"CertificateHoldIsRevoked", Subject::kLeaf,
       [](const Pki& p) {
         return std::vector<std::string>{Crl(p.ca, [](CrlSpec& s) {
           s.entries = {Revoke(kLeafSerial, kCrlReasonCertificateHold)};
         })};
       },
       S::kRevoked, kCrlReasonCertificateHold, "certificateHold"},
      {"NotOnCrl", Subject::kLeaf,
       [](const Pki& p) { return std::vector<std::string>{Simple(p.ca, {"ABCD", "1002"})}; },
       S::kGood, -1, "not listed", "crl:CN=CA #1"},
      {"NoCrls", Subject::kLeaf, [](const Pki&) { return std::vector<std::string>{}; },
       S::kUnknown, -1, "no CRL from CN=CA"},

      // Issuer matching (6.3.3 (b)(1)).
      {"SerialOnOtherIssuersCrlOnly", Subject::kLeaf,
       [](const Pki& p) { return std::vector<std::string>{Simple(p.other_ca, {kLeafSerial})}; },
       S::kUnknown, -1, "no CRL from CN=CA"},
      {"SerialOnOtherIssuersCrlAndOwnCrlClean", Subject::kLeaf,
       [](const Pki& p) {
         return std::vector<std::string>{Simple(p.other_ca, {kLeafSerial}), Simple(p.ca, {})};
       },
       S::kGood},

      // Signature and cRLSign (6.3.3 (f)).
      {"SignedByWrongKey", Subject::kLeaf,
       [](const Pki& p) {
         return std::vector<std::string>{Crl(p.ca, [&p](CrlSpec& s) { s.signer = &p.other_ca; })};
       },
       S::kUnknown, -1, "signature does not verify"},
      {"SignedByWrongKeyListingSerialIsNotRevoked", Subject::kLeaf,
       [](const Pki& p) {
         return std::vector<std::string>{Crl(p.ca, [&p](CrlSpec& s) {
           s.signer = &p.other_ca;
           s.entries = {Revoke(kLeafSerial)};
         })};
       },
       S::kUnknown, -1, "signature does not verify"},
      {"IssuerKeyUsageLacksCrlSign", Subject::kLeafOfNoCrlSign,
       [](const Pki& p) { return std::vector<std::string>{Simple(p.ca_no_crlsign, {})}; },
       S::kInvalidCrl, -1, "cRLSign"},
      {"IssuerWithoutKeyUsageNotListed", Subject::kLeafOfNoKu,
       [](const Pki& p) { return std::vector<std::string>{Simple(p.ca_no_ku, {"ABCD"})}; },
       S::kGood},
      {"IssuerWithoutKeyUsageListed", Subject::kLeafOfNoKu,
       [](const Pki& p) { return std::vector<std::string>{Simple(p.ca_no_ku, {kLeafSerial})}; },
       S::kRevoked, kCrlReasonUnspecified},

      // Profile (5.1.2.1, 5.2, 5.3).
      {"CrlNumberMissing", Subject::kLeaf,
       [](const Pki& p) {
         return std::vector<std::string>{Crl(p.ca, [](CrlSpec& s) { s.number.reset(); })};
       },
       S::kInvalidCrl, -1, "no cRLNumber"},
      {"CrlNumberCritical", Subject::kLeaf,
       [](const Pki& p) {
         return std::vector<std::string>{Crl(p.ca, [](CrlSpec& s) { s.number_critical = true; })};
       },
       S::kInvalidCrl, -1, "cRLNumber is critical"},
      {"CrlNumberNegative", Subject::kLeaf,
       [](const Pki& p) {
         return std::vector<std::string>{Crl(p.ca, [](CrlSpec& s) { s.number = -1; })};
       },
       S::kInvalidCrl, -1, "negative"},
      {"Version1", Subject::kLeaf,
       [](const Pki& p) {
         return std::vector<std::string>{Crl(p.ca, [](CrlSpec& s) {
           s.version = X509_CRL_VERSION_1;
           s.number.reset();
         })};
       },
       S::kInvalidCrl, -1, "v2"},
      {"UnknownCriticalCrlExtension", Subject::kLeaf,
       [](const Pki& p) {
         return std::vector<std::string>{
             Crl(p.ca, [](CrlSpec& s) { s.extensions = {Unknown(true)}; })};
       },
       S::kInvalidCrl, -1, "unhandled critical CRL extension 1.3.6.1.4.1.55555.1"},
      {"UnknownNonCriticalCrlExtension", Subject::kLeaf,
       [](const Pki& p) {
         return std::vector<std::string>{
             Crl(p.ca, [](CrlSpec& s) { s.extensions = {Unknown(false)}; })};
       },
       S::kGood},
      {"UnknownCriticalEntryExtension", Subject::kLeaf,
       [](const Pki& p) {
         return std::vector<std::string>{Crl(p.ca, [](CrlSpec& s) {
           EntrySpec e = Revoke("ABCD");
           e.extensions = {Unknown(true)};
           s.entries = {e};
         })};
       },
       S::kInvalidCrl, -1, "unhandled critical extension"},
      {"RemoveFromCrlOnCompleteCrl", Subject::kLeaf,
       [](const Pki& p) {
         return std::vector<std::string>{Crl(p.ca, [](CrlSpec& s) {
           s.entries = {Revoke("ABCD", kCrlReasonRemoveFromCrl)};
         })};
       },
       S::kInvalidCrl, -1, "removeFromCRL"},
      {"ReasonCodeSevenIsInvalid", Subject::kLeaf,
       [](const Pki& p) {
         return std::vector<std::string>{
             Crl(p.ca, [](CrlSpec& s) { s.entries = {Revoke("ABCD", 7)}; })};
       },
       S::kInvalidCrl, -1, "reasonCode"},
      {"CertificateIssuerOnDirectCrl", Subject::kLeaf,
       [](const Pki& p) {
         return std::vector<std::string>{Crl(p.ca, [&p](CrlSpec& s) {
           EntrySpec e = Revoke("ABCD");
           e.certificate_issuer = &p.ca;
           s.entries = {e};
         })};
       },
       S::kInvalidCrl, -1, "not indirect"},
      {"InvalidCrlOfOtherIssuerIsIgnored", Subject::kLeaf,
       [](const Pki& p) {
         return std::vector<std::string>{
             Crl(p.other_ca, [](CrlSpec& s) { s.number.reset(); }), Simple(p.ca, {})};
       },
       S::kGood},
      {"InvalidCrlBeatsGoodCrl", Subject::kLeaf,
       [](const Pki& p) {
         return std::vector<std::string>{Simple(p.ca, {}),
                                         Crl(p.ca, [](CrlSpec& s) { s.number.reset(); })};
       },
       S::kInvalidCrl, -1, "no cRLNumber"},
      {"RevokedBeatsInvalidCrl", Subject::kLeaf,
       [](const Pki& p) {
         return std::vector<std::string>{Crl(p.ca, [](CrlSpec& s) { s.number.reset(); }),
                                         Simple(p.ca, {kLeafSerial})};
       },
       S::kRevoked, kCrlReasonUnspecified},

      // Freshness (6.3.3 (a)).
      {"StaleNotListed", Subject::kLeaf,
       [](const Pki& p) {
         return std::vector<std::string>{Simple(p.ca, {}, kNow - absl::Hours(48),
                                                kNow - absl::Hours(1))};
       },
       S::kUnknown, -1, "expired at"},
      {"StaleListedIsStillRevoked", Subject::kLeaf,
       [](const Pki& p) {
         return std::vector<std::string>{Simple(p.ca, {kLeafSerial}, kNow - absl::Hours(48),
                                                kNow - absl::Hours(1))};
       },
       S::kRevoked, kCrlReasonUnspecified, "stale"},
      {"NextUpdateIsInclusive", Subject::kLeaf,
       [](const Pki& p) {
         return std::vector<std::string>{Simple(p.ca, {}, kNow - absl::Hours(48), kNow)};
       },
       S::kGood},
      {"NoNextUpdate", Subject::kLeaf,
       [](const Pki& p) {
         return std::vector<std::string>{Crl(p.ca, [](CrlSpec& s) { s.next_update.reset(); })};
       },
       S::kUnknown, -1, "no nextUpdate"},
      {"ThisUpdateInTheFuture", Subject::kLeaf,
       [](const Pki& p) {
         return std::vector<std::string>{Simple(p.ca, {kLeafSerial}, kNow + absl::Hours(1),
                                                kNow + absl::Hours(48))};
       },
       S::kUnknown, -1, "not valid before"},
      {"StaleAndFreshCrls", Subject::kLeaf,
       [](const Pki& p) {
         return std::vector<std::string>{
             Simple(p.ca, {}, kNow - absl::Hours(48), kNow - absl::Hours(1), 1),
             Simple(p.ca, {}, kThisUpdate, kNextUpdate, 2)};
       },
       S::kGood, -1, "", "crl:CN=CA #2"},

      // Scope: issuingDistributionPoint (5.2.5, 6.3.3 (b)(2)).
      {"OnlyCaCertsDoesNotCoverLeaf", Subject::kLeaf,
       [](const Pki& p) {
         return std::vector<std::string>{Crl(p.ca, [](CrlSpec& s) {
           s.idp.emplace().only_ca = true;
           s.entries = {Revoke(kLeafSerial)};
         })};
       },
       S::kUnknown, -1, "onlyContainsCACerts"},
      {"OnlyCaCertsCoversCa", Subject::kSubCa,
       [](const Pki& p) {
         return std::vector<std::string>{Crl(p.ca, [](CrlSpec& s) { s.idp.emplace().only_ca = true; })};
       },
       S::kGood},
      {"OnlyCaCertsRevokesCa", Subject::kSubCa,
       [](const Pki& p) {
         return std::vector<std::string>{Crl(p.ca, [](CrlSpec& s) {
           s.idp.emplace().only_ca = true;
           s.entries = {Revoke(kSubCaSerial, kCrlReasonCaCompromise)};
         })};
       },
       S::kRevoked, kCrlReasonCaCompromise},
      {"OnlyUserCertsDoesNotCoverCa", Subject::kSubCa,
       [](const Pki& p) {
         return std::vector<std::string>{Crl(p.ca, [](CrlSpec& s) { s.idp.emplace().only_user = true; })};
       },
       S::kUnknown, -1, "onlyContainsUserCerts"},
      {"OnlyUserCertsCoversLeaf", Subject::kLeaf,
       [](const Pki& p) {
         return std::vector<std::string>{Crl(p.ca, [](CrlSpec& s) { s.idp.emplace().only_user = true; })};
       },
       S::kGood},
      {"OnlyAttributeCertsCoversNothing", Subject::kLeaf,
       [](const Pki& p) {
         return std::vector<std::string>{
             Crl(p.ca, [](CrlSpec& s) { s.idp.emplace().only_attribute = true; })};
       },
       S::kUnknown, -1, "onlyContainsAttributeCerts"},
      {"TwoOnlyFlagsIsInvalid", Subject::kLeaf,
       [](const Pki& p) {
         return std::vector<std::string>{Crl(p.ca, [](CrlSpec& s) {
           s.idp.emplace().only_user = true;
           s.idp->only_ca = true;
         })};
       },
       S::kInvalidCrl, -1, "more than one"},
      {"EmptyIdpIsInvalid", Subject::kLeaf,
       [](const Pki& p) {
         return std::vector<std::string>{Crl(p.ca, [](CrlSpec& s) { s.idp.emplace(); })};
       },
       S::kInvalidCrl, -1, "empty sequence"},
      {"IdpNameMatchesCdp", Subject::kLeaf,
       [](const Pki& p) {
         return std::vector<std::string>{Crl(p.ca, [](CrlSpec& s) {
           s.idp.emplace().uris = {"http://other.example/x.crl", kCdpUri};
         })};
       },
       S::kGood},
      {"IdpNameNotInCdp", Subject::kLeaf,
       [](const Pki& p) {
         return std::vector<std::string>{Crl(p.ca, [](CrlSpec& s) {
           s.idp.emplace().uris = {"http://other.example/x.crl"};
           s.entries = {Revoke(kLeafSerial)};
         })};
       },
       S::kUnknown, -1, "cRLDistributionPoints"},
      {"IdpNameButCertificateHasNoCdp", Subject::kSubCa,
       [](const Pki& p) {
         return std::vector<std::string>{
             Crl(p.ca, [](CrlSpec& s) { s.idp.emplace().uris = {kCdpUri}; })};
       },
       S::kUnknown, -1, "cRLDistributionPoints"},

      // Partial CRLs (onlySomeReasons, 6.3.3 (d)).
      {"OnlySomeReasonsNotListedIsUnknown", Subject::kLeaf,
       [](const Pki& p) {
         return std::vector<std::string>{
             Crl(p.ca, [](CrlSpec& s) { s.idp.emplace().only_some_reasons = {1, 2}; })};
       },
       S::kUnknown, -1, "cover only the reasons keyCompromise, cACompromise"},
      {"OnlySomeReasonsListedIsRevoked", Subject::kLeaf,
       [](const Pki& p) {
         return std::vector<std::string>{Crl(p.ca, [](CrlSpec& s) {
           s.idp.emplace().only_some_reasons = {1, 2};
           s.entries = {Revoke(kLeafSerial, kCrlReasonKeyCompromise)};
         })};
       },
       S::kRevoked, kCrlReasonKeyCompromise},
      {"PartialCrlsCoveringAllReasonsAreGood", Subject::kLeaf,
       [](const Pki& p) {
         return std::vector<std::string>{
             Crl(p.ca, [](CrlSpec& s) { s.idp.emplace().only_some_reasons = {1, 2}; }),
             Crl(p.ca, [](CrlSpec& s) {
               s.number = 2;
               s.idp.emplace().only_some_reasons = {3, 4, 5, 6, 7, 8};
             })};
       },
       S::kGood},

      // Delta CRLs (5.2.4, 6.3.3 (c), (j)-(l)).
      {"DeltaAddsRevocation", Subject::kLeaf,
       [](const Pki& p) {
         return std::vector<std::string>{Simple(p.ca, {"ABCD"}, kThisUpdate, kNextUpdate, 10),
                                         Crl(p.ca, [](CrlSpec& s) {
                                           s.number = 11;
                                           s.delta_base = 10;
                                           s.entries = {Revoke(kLeafSerial, kCrlReasonSuperseded)};
                                         })};
       },
       S::kRevoked, kCrlReasonSuperseded, "delta CRL #11", "crl:CN=CA #11"},
      {"DeltaRemoveFromCrlReleasesHold", Subject::kLeaf,
       [](const Pki& p) {
         return std::vector<std::string>{
             Crl(p.ca, [](CrlSpec& s) {
               s.number = 10;
               s.entries = {Revoke(kLeafSerial, kCrlReasonCertificateHold)};
             }),
             Crl(p.ca, [](CrlSpec& s) {
               s.number = 11;
               s.delta_base = 10;
               s.entries = {Revoke(kLeafSerial, kCrlReasonRemoveFromCrl)};
             })};
       },
       S::kGood, -1, "withdrawn by delta CRL #11", "crl:CN=CA #10"},
      {"OlderDeltaDoesNotRemove", Subject::kLeaf,
       [](const Pki& p) {
         return std::vector<std::string>{
             Crl(p.ca, [](CrlSpec& s) {
               s.number = 12;
               s.entries = {Revoke(kLeafSerial, kCrlReasonCertificateHold)};
             }),
             Crl(p.ca, [](CrlSpec& s) {
               s.number = 11;
               s.delta_base = 10;
               s.entries = {Revoke(kLeafSerial, kCrlReasonRemoveFromCrl)};
             })};
       },
       S::kRevoked, kCrlReasonCertificateHold},
      {"DeltaAloneNotListedIsUnknown", Subject::kLeaf,
       [](const Pki& p) {
         return std::vector<std::string>{Crl(p.ca, [](CrlSpec& s) {
           s.number = 11;
           s.delta_base = 10;
         })};
       },
       S::kUnknown, -1, "only delta CRLs"},
      // 5.2.4: a delta without its base is not a source, even for a revocation.
      {"DeltaAloneListedIsNotASource", Subject::kLeaf,
       [](const Pki& p) {
         return std::vector<std::string>{Crl(p.ca, [](CrlSpec& s) {
           s.number = 11;
           s.delta_base = 10;
           s.entries = {Revoke(kLeafSerial, kCrlReasonKeyCompromise)};
         })};
       },
       S::kUnknown, -1, "only delta CRLs"},
      {"FreshDeltaMakesStaleCompleteCurrent", Subject::kLeaf,
       [](const Pki& p) {
         return std::vector<std::string>{
             Simple(p.ca, {}, kNow - absl::Hours(48), kNow - absl::Hours(1), 10),
             Crl(p.ca, [](CrlSpec& s) {
               s.number = 11;
               s.delta_base = 10;
             })};
       },
       S::kGood},
      {"DeltaBasedOnNewerCompleteDoesNotApply", Subject::kLeaf,
       [](const Pki& p) {
         return std::vector<std::string>{
             Simple(p.ca, {}, kNow - absl::Hours(48), kNow - absl::Hours(1), 10),
             Crl(p.ca, [](CrlSpec& s) {
               s.number = 13;
               s.delta_base = 12;
             })};
       },
       S::kUnknown, -1, "expired at"},
      // A delta based on a delta: deltas apply to complete CRLs only.
      {"DeltaChainDoesNotApply", Subject::kLeaf,
       [](const Pki& p) {
         return std::vector<std::string>{Simple(p.ca, {}, kThisUpdate, kNextUpdate, 10),
                                         Crl(p.ca, [](CrlSpec& s) {
                                           s.number = 11;
                                           s.delta_base = 10;
                                         }),
                                         Crl(p.ca, [](CrlSpec& s) {
                                           s.number = 12;
                                           s.delta_base = 11;
                                           s.entries = {Revoke(kLeafSerial, kCrlReasonKeyCompromise)};
                                         })};
       },
       S::kGood, -1, "", "crl:CN=CA #10"},
      {"OutOfDateDeltaDoesNotMakeCompleteCurrent", Subject::kLeaf,
       [](const Pki& p) {
         return std::vector<std::string>{
             Simple(p.ca, {}, kNow - absl::Hours(48), kNow - absl::Hours(2), 10),
             Crl(p.ca, [](CrlSpec& s) {
               s.number = 11;
               s.delta_base = 10;
               s.this_update = kNow - absl::Hours(3);
               s.next_update = kNow - absl::Hours(1);
             })};
       },
       S::kUnknown, -1, "expired at"},
      {"OutOfDateDeltaStillRevokes", Subject::kLeaf,
       [](const Pki& p) {
         return std::vector<std::string>{Simple(p.ca, {}, kThisUpdate, kNextUpdate, 10),
                                         Crl(p.ca, [](CrlSpec& s) {
                                           s.number = 11;
                                           s.delta_base = 10;
                                           s.next_update = kNow - absl::Hours(1);
                                           s.entries = {Revoke(kLeafSerial, kCrlReasonKeyCompromise)};
                                         })};
       },
       S::kRevoked, kCrlReasonKeyCompromise, "stale, but revocation is final"},
      // A delta of another scope (IDP) does not apply to the complete CRL.
      {"DeltaOfAnotherScopeDoesNotApply", Subject::kLeaf,
       [](const Pki& p) {
         return std::vector<std::string>{Simple(p.ca, {}, kThisUpdate, kNextUpdate, 10),
                                         Crl(p.ca, [](CrlSpec& s) {
                                           s.number = 11;
                                           s.delta_base = 10;
                                           s.idp.emplace().only_user = true;
                                           s.entries = {Revoke(kLeafSerial, kCrlReasonKeyCompromise)};
                                         })};
       },
       S::kGood, -1, "", "crl:CN=CA #10"},
      {"DeltaIndicatorNotCriticalIsInvalid", Subject::kLeaf,
       [](const Pki& p) {
         return std::vector<std::string>{Simple(p.ca, {}, kThisUpdate, kNextUpdate, 10),
                                         Crl(p.ca, [](CrlSpec& s) {
                                           s.number = 11;
                                           s.delta_base = 10;
                                           s.delta_critical = false;
                                         })};
       },
       S::kInvalidCrl, -1, "deltaCRLIndicator is not critical"},
      {"DeltaNumberNotAboveBaseIsInvalid", Subject::kLeaf,
       [](const Pki& p) {
         return std::vector<std::string>{Crl(p.ca, [](CrlSpec& s) {
           s.number = 10;
           s.delta_base = 10;
         })};
       },
       S::kInvalidCrl, -1, "BaseCRLNumber"},

      // Revocation is sticky except for certificateHold.
      {"NewerCompleteCrlReleasesHold", Subject::kLeaf,
       [](const Pki& p) {
         return std::vector<std::string>{
             Crl(p.ca, [](CrlSpec& s) {
               s.number = 1;
               s.entries = {Revoke(kLeafSerial, kCrlReasonCertificateHold)};
             }),
             Simple(p.ca, {}, kThisUpdate, kNextUpdate, 2)};
       },
       S::kGood, -1, "certificateHold on CRL #1 from CN=CA withdrawn by CRL #2", "crl:CN=CA #2"},
      {"NewerCompleteCrlDoesNotUnrevoke", Subject::kLeaf,
       [](const Pki& p) {
         return std::vector<std::string>{
             Crl(p.ca, [](CrlSpec& s) {
               s.number = 1;
               s.entries = {Revoke(kLeafSerial, kCrlReasonKeyCompromise)};
             }),
             Simple(p.ca, {}, kThisUpdate, kNextUpdate, 2)};
       },
       S::kRevoked, kCrlReasonKeyCompromise, "", "crl:CN=CA #1"},

      // Indirect CRLs signed by the issuer (5.3.3).
      {"IndirectEntryForOtherIssuerDoesNotRevoke", Subject::kLeaf,
       [](const Pki& p) {
         return std::vector<std::string>{Crl(p.ca, [&p](CrlSpec& s) {
           s.idp.emplace().indirect = true;
           EntrySpec e = Revoke(kLeafSerial);
           e.certificate_issuer = &p.other_ca;
           s.entries = {e};
         })};
       },
       S::kGood},
      {"IndirectEntryForOwnIssuerRevokes", Subject::kLeaf,
       [](const Pki& p) {
         return std::vector<std::string>{Crl(p.ca, [&p](CrlSpec& s) {
           s.idp.emplace().indirect = true;
           EntrySpec other = Revoke("ABCD");
           other.certificate_issuer = &p.other_ca;
           EntrySpec own = Revoke(kLeafSerial, kCrlReasonAffiliationChanged);
           own.certificate_issuer = &p.ca;
           s.entries = {other, own};
         })};
       },
       S::kRevoked, kCrlReasonAffiliationChanged},
      {"IndirectEntriesInheritCertificateIssuer", Subject::kLeaf,
       [](const Pki& p) {
         return std::vector<std::string>{Crl(p.ca, [&p](CrlSpec& s) {
           s.idp.emplace().indirect = true;
           EntrySpec first = Revoke("ABCD");
           first.certificate_issuer = &p.other_ca;
           // No certificateIssuer: still Other CA's (5.3.3).
           s.entries = {first, Revoke(kLeafSerial)};
         })};
       },
       S::kGood},
      {"IndirectCrlFromOtherIssuerIsNotUsed", Subject::kLeaf,
       [](const Pki& p) {
         return std::vector<std::string>{Crl(p.other_ca, [&p](CrlSpec& s) {
           s.idp.emplace().indirect = true;
           EntrySpec e = Revoke(kLeafSerial);
           e.certificate_issuer = &p.ca;
           s.entries = {e};
         })};
       },
       S::kUnknown, -1, "no CRL from CN=CA"},
  };
}

class CrlCheckTest : public ::testing::TestWithParam<Case> {};

TEST_P(CrlCheckTest, Check) {
  const Case& c = GetParam();
  const Pki& pki = TestPki();
  const TestCert* cert = nullptr;
  const TestCert* issuer = nullptr;
  switch (c.subject) {
    case Subject::kLeaf: cert = &pki.leaf; issuer = &pki.ca; break;
    case Subject::kSubCa: cert = &pki.sub_ca; issuer = &pki.ca; break;
    case Subject::kLeafOfNoCrlSign: cert = &pki.leaf_of_no_crlsign; issuer = &pki.ca_no_crlsign; break;
    case Subject::kLeafOfNoKu: cert = &pki.leaf_of_no_ku; issuer = &pki.ca_no_ku; break;
  }
  std::vector<std::string> load_errors;
  std::shared_ptr<const CrlSet> set = CrlSet::Parse(c.crls(pki), &load_errors);
  ASSERT_NE(set, nullptr);
  EXPECT_TRUE(load_errors.empty()) << load_errors[0];
  RevocationCheck check = set->Check(*Parsed(*cert), *Parsed(*issuer), kNow);
  EXPECT_EQ(check.state, c.want) << check.diagnostic;
  EXPECT_EQ(check.reason, c.want_reason) << check.diagnostic;
  EXPECT_NE(check.diagnostic.find(c.diagnostic), std::string::npos)
      << "diagnostic: " << check.diagnostic << "\nwanted: " << c.diagnostic;
  if (!c.source.empty()) {
    EXPECT_EQ(check.source, c.source);
  }
  if (c.want == RevocationState::kUnknown) {
    EXPECT_EQ(check.source, "");
  }
}

INSTANTIATE_TEST_SUITE_P(All, CrlCheckTest, ::testing::ValuesIn(Cases()),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return info.param.name;
                         });

TEST(CrlSetTest, GarbageIsALoadErrorAndNotACrash) {
  const Pki& pki = TestPki();
  const std::string good = Simple(pki.ca, {});
  std::vector<std::string> inputs = {
      "",
      "garbage",
      std::string("\x30\x82\xff\xff", 4),
      good.substr(0, good.size() / 2),
      good + "x",  // Trailing data.
  };
  std::vector<std::string> load_errors;
  std::shared_ptr<const CrlSet> set = CrlSet::Parse(inputs, &load_errors);
  ASSERT_NE(set, nullptr);
  EXPECT_TRUE(set->empty());
  EXPECT_EQ(load_errors.size(), inputs.size());
  EXPECT_NE(load_errors.back().find("trailing data"), std::string::npos);
  RevocationCheck check = set->Check(*Parsed(pki.leaf), *Parsed(pki.ca), kNow);
  EXPECT_EQ(check.state, RevocationState::kUnknown);

  // Null load_errors is allowed; good CRLs next to bad ones are kept.
  inputs.push_back(good);
  set = CrlSet::Parse(inputs, nullptr);
  EXPECT_EQ(set->size(), 1u);
  EXPECT_EQ(set->Check(*Parsed(pki.leaf), *Parsed(pki.ca), kNow).state,
            RevocationState::kGood);
}

TEST(CrlSetTest, CorruptedSignatureIsNotUsed) {
  const Pki& pki = TestPki();
  std::string crl = Simple(pki.ca, {kLeafSerial});
  crl[crl.size() - 3] ^= 0x01;  // Inside the signature value.
  std::shared_ptr<const CrlSet> set = CrlSet::Parse({crl}, nullptr);
  RevocationCheck check = set->Check(*Parsed(pki.leaf), *Parsed(pki.ca), kNow);
  EXPECT_EQ(check.state, RevocationState::kUnknown);
  EXPECT_NE(check.diagnostic.find("signature does not verify"), std::string::npos)
      << check.diagnostic;
}

TEST(CrlSetTest, SharedAcrossChecks) {
  const Pki& pki = TestPki();
  std::shared_ptr<const CrlSet> set = CrlSet::Parse(
      {Simple(pki.ca, {kSubCaSerial}), Simple(pki.ca_no_ku, {})}, nullptr);
  CertificatePtr ca = Parsed(pki.ca);
  EXPECT_EQ(set->Check(*Parsed(pki.leaf), *ca, kNow).state, RevocationState::kGood);
  EXPECT_EQ(set->Check(*Parsed(pki.sub_ca), *ca, kNow).state, RevocationState::kRevoked);
  EXPECT_EQ(set->Check(*Parsed(pki.leaf_of_no_ku), *Parsed(pki.ca_no_ku), kNow).state,
            RevocationState::kGood);
  // No CRL from Root for CA.
  EXPECT_EQ(set->Check(*ca, *Parsed(pki.root), kNow).state, RevocationState::kUnknown);
}

// The entry index (crl.h "Size"): entries in no particular order, serials of
// every length and with the high bit set (a leading zero octet in DER), found
// by binary search whatever their order in the CRL.
TEST(CrlSetTest, IndexFindsEntriesInAnyOrder) {
  const Pki& pki = TestPki();
  CrlSpec spec;
  std::vector<std::string> serials;
  for (int i = 0; i < 300; ++i) {
    // 1 to 20 octets, some with the high bit set, in scrambled order.
    const int len = 1 + (i * 7) % 20;
    std::string hex;
    for (int k = 0; k < len; ++k) {
      static constexpr char kDigits[] = "0123456789ABCDEF";
      const int byte = (i * 37 + k * 11 + (k == 0 ? 0x80 * (i % 2) : 0)) & 0xff;
      hex.push_back(kDigits[byte >> 4]);
      hex.push_back(kDigits[byte & 15]);
    }
    serials.push_back(hex);
    spec.entries.push_back(Revoke(hex));
  }
  spec.entries.push_back(Revoke(kLeafSerial, kCrlReasonKeyCompromise));
  std::shared_ptr<const CrlSet> set = CrlSet::Parse({BuildCrl(pki.ca, spec)}, nullptr);
  ASSERT_EQ(set->size(), 1u);
  EXPECT_EQ(set->entry_count(), 301u);
  RevocationCheck check = set->Check(*Parsed(pki.leaf), *Parsed(pki.ca), kNow);
  EXPECT_EQ(check.state, RevocationState::kRevoked) << check.diagnostic;
  EXPECT_EQ(check.reason, kCrlReasonKeyCompromise);
  // A few of the others, as certificates of the CA.
  for (size_t i : {size_t{0}, size_t{1}, size_t{150}, size_t{299}}) {
    CertSpec leaf_spec = WithSerial(LeafSpec("x", {"x.example"}), serials[i]);
    TestCert listed = MustIssue(leaf_spec, &pki.ca);
    EXPECT_EQ(set->Check(*Parsed(listed), *Parsed(pki.ca), kNow).state,
              RevocationState::kRevoked)
        << serials[i];
  }
  // Not listed: a serial sharing a listed one's first 8 octets.
  CertSpec near_spec = WithSerial(LeafSpec("y", {"y.example"}), serials[13] + "01");
  EXPECT_EQ(set->Check(*Parsed(MustIssue(near_spec, &pki.ca)), *Parsed(pki.ca), kNow).state,
            RevocationState::kGood);
}

TEST(CrlSetTest, MalformedEntryIsALoadError) {
  const Pki& pki = TestPki();
  std::string crl = Simple(pki.ca, {"0BCDEF"});
  // The entry's INTEGER tag becomes an OCTET STRING: the structure is wrong,
  // while the outer lengths still hold.
  const size_t at = crl.find(std::string("\x02\x03\x0b\xcd\xef", 5));
  ASSERT_NE(at, std::string::npos);
  crl[at] = 0x04;
  std::vector<std::string> errors;
  std::shared_ptr<const CrlSet> set = CrlSet::Parse({crl}, &errors);
  EXPECT_TRUE(set->empty());
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("revokedCertificates entry"), std::string::npos) << errors[0];
}

TEST(CrlReasonNameTest, Names) {
  EXPECT_EQ(CrlReasonName(kCrlReasonKeyCompromise), "keyCompromise");
  EXPECT_EQ(CrlReasonName(kCrlReasonRemoveFromCrl), "removeFromCRL");
  EXPECT_EQ(CrlReasonName(42), "reason(42)");
}

// Found by fuzz/certificate_fuzzer: a distribution point URI with a byte
// outside ASCII went into the verdict's crl_distribution_points as is, and no
// client could parse a VerifyResponse with that non-UTF-8 string.
TEST(CrlDistributionPointUrlsTest, LeavesOutUrisThatAreNotAscii) {
  const TestCert root = MustIssue(RootSpec("Root"), nullptr);
  CertSpec spec = LeafSpec("leaf", {"leaf.example"});
  spec.crl_distribution_points = {"http://crl.example/aXb.crl", "http://crl.example/ok.crl"};
  const TestCert leaf = MustIssue(spec, &root);
  ParseError error;
  CertificatePtr parsed = Certificate::Parse(leaf.der, &error);
  ASSERT_NE(parsed, nullptr);
  EXPECT_EQ(CrlDistributionPointUrls(*parsed),
            (std::vector<std::string>{"http://crl.example/aXb.crl",
                                      "http://crl.example/ok.crl"}));
  // The same certificate (signature no longer checked here) with 0xFF in the
  // first URI, which is an IA5String.
  std::string der = leaf.der;
  const size_t at = der.find("aXb.crl");
  ASSERT_NE(at, std::string::npos);
  der[at + 1] = '\xff';
  CertificatePtr patched = Certificate::Parse(der, &error);
  ASSERT_NE(patched, nullptr);
  EXPECT_EQ(CrlDistributionPointUrls(*patched),
            (std::vector<std::string>{"http://crl.example/ok.crl"}));
}

TEST(CrlDistributionPointUrlsTest, IsPrintableAscii) {
  EXPECT_TRUE(IsPrintableAscii("http://crl.example/a%20b.crl"));
  EXPECT_TRUE(IsPrintableAscii(""));
  EXPECT_FALSE(IsPrintableAscii("http://crl.example/\xff"));
  EXPECT_FALSE(IsPrintableAscii(std::string("http://a\0b", 10)));
  EXPECT_FALSE(IsPrintableAscii("http://a\nb"));
}

}  // namespace
}  // namespace chainverify::pki
