// Tests of CRLs signed by keys other than the certificate's issuer key (RFC
// 5280 6.3.3 (f), crl_signer.h): key rollover both ways, a separate
// CRL-signing key, indirect CRLs, and hostile signer paths, through
// VerifyChain() with hard-fail revocation of the leaf; and the signer's own
// path against distrust, the denylist and revocation.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <openssl/x509.h>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "server/pki/crl.h"
#include "server/pki/denylist.h"
#include "server/pki/hostname_match.h"
#include "server/pki/trust_source.h"
#include "server/pki/verifier.h"
#include "tests/testutil/parsed_certificate.h"
#include "tests/testutil/test_pki.h"

namespace chainverify::pki {
namespace {

using ::chainverify::testing::CertSpec;
using ::chainverify::testing::CrlDistributionPointsDer;
using ::chainverify::testing::CrlEntrySpec;
using ::chainverify::testing::CrlSpec;
using ::chainverify::testing::IntermediateSpec;
using ::chainverify::testing::IssueCrl;
using ::chainverify::testing::LeafSpec;
using ::chainverify::testing::MustIssue;
using ::chainverify::testing::Parsed;
using ::chainverify::testing::RootSpec;
using ::chainverify::testing::TestCert;
using ::chainverify::testing::TestKey;
using ::chainverify::testing::WithKeyUsage;

const absl::Time kNow = absl::FromUnixSeconds(1750000000);

CertSpec Leaf(const std::string& name, const std::string& serial) {
  CertSpec spec = LeafSpec(name, {name});
  spec.serial_hex = serial;
  return spec;
}

// CA rolls its key over from `old_key` to `new_key`: Root certifies both
// (ca_old, ca_new), and the self-issued certificates link them (new-with-old:
// the new key certified by the old one; old-with-new: the reverse).
struct Pki {
  TestCert root = MustIssue(RootSpec("Root"), nullptr);
  TestCert other_root = MustIssue(RootSpec("Other Root"), nullptr);
  TestKey old_key = TestKey::Generate(testing::KeyType::kEcP256, true);
  TestKey new_key = TestKey::Generate(testing::KeyType::kEcP256, true);
  TestCert ca_old = MustIssue(IntermediateSpec("CA"), &root, old_key);
  TestCert ca_new = MustIssue(IntermediateSpec("CA"), &root, new_key);
  TestCert new_with_old = MustIssue(IntermediateSpec("CA"), &ca_old, new_key);
  TestCert old_with_new = MustIssue(IntermediateSpec("CA"), &ca_new, old_key);
  // A separate CRL-signing key of CA's name, certified by Root; one without
  // cRLSign; one certified by another root.
  TestCert crl_signer = MustIssue(WithKeyUsage(LeafSpec("CA", {}), "critical,cRLSign"), &root);
  TestCert no_crlsign =
      MustIssue(WithKeyUsage(LeafSpec("CA", {}), "critical,digitalSignature"), &root);
  TestCert foreign_signer =
      MustIssue(WithKeyUsage(LeafSpec("CA", {}), "critical,cRLSign"), &other_root);
  TestCert leaf_old = MustIssue(Leaf("old.example", "1001"), &ca_old);
  TestCert leaf_new = MustIssue(Leaf("new.example", "1002"), &ca_new);

  // Indirect CRLs: "CRL Authority" publishes CA's revocations; the leaf's
  // distribution point names it in cRLIssuer.
  TestCert authority = MustIssue(WithKeyUsage(IntermediateSpec("CRL Authority"),
                                              "critical,cRLSign"),
                                 &root);
  TestCert other_ca = MustIssue(IntermediateSpec("Other CA"), &root);
  TestCert leaf_indirect = [this] {
    CertSpec spec = Leaf("indirect.example", "1003");
    spec.raw_extensions.push_back(
        {"2.5.29.31", false,
         CrlDistributionPointsDer({"http://crl.example/authority.crl"}, &authority)});
    return MustIssue(spec, &ca_old);
  }();

  // A key of CA's name certified by "Loop B", whose key it certifies in
  // turn: a candidate CRL signer whose only path goes round.
  TestCert loop_seed = MustIssue(IntermediateSpec("Loop B"), nullptr);
  TestCert loop_ca = MustIssue(IntermediateSpec("CA"), &loop_seed);
  TestCert loop_b = MustIssue(IntermediateSpec("Loop B"), &loop_ca, loop_seed.key);
};

const Pki& TestPki() {
  static const Pki* pki = new Pki();
  return *pki;
}

std::string Crl(const TestCert& issuer, std::vector<std::string> revoked,
                const std::function<void(CrlSpec&)>& edit = {}) {
  CrlSpec spec;
  for (std::string& serial : revoked) spec.entries.push_back({std::move(serial)});
  if (edit) edit(spec);
  absl::StatusOr<std::string> crl = IssueCrl(issuer, spec);
  EXPECT_TRUE(crl.ok()) << crl.status();
  return crl.ok() ? *crl : "";
}

struct Outcome {
  VerifyResult result;
  RevocationNote leaf;  // The leaf's revocation note.
};

// What the policy checks besides the pushed CRLs.
struct Checks {
  bool leaf_only = true;  // Revocation of the leaf only, or of every certificate.
  std::shared_ptr<const Denylist> denylist;
  std::vector<DistrustRecord> distrust;  // In the trust store, as from certdata.txt.
};

// Verifies `uploads` against Root (and Other Root) with `crls` pushed,
// `crl_certificates` next to them, hard-fail for the leaf only (or as
// `checks` says).
Outcome Verify(const std::vector<const TestCert*>& uploads, std::vector<std::string> crls,
               const std::vector<const TestCert*>& crl_certificates = {},
               const TestCert* anchor = nullptr,
               std::optional<SearchLimits> limits = std::nullopt, const Checks& checks = {}) {
  const Pki& pki = TestPki();
  VerifyInput input;
  for (const TestCert* cert : uploads) input.certificates.push_back(cert->der);
  input.time = kNow;
  VerifyPolicy policy;
  auto store = std::make_shared<TrustStore>();
  store->Add(Parsed(anchor != nullptr ? *anchor : pki.root), "test");
  store->Add(Parsed(pki.other_root), "test");
  if (!checks.distrust.empty()) {
    LoadedTrustSource distrust;
    distrust.distrust = checks.distrust;
    store->AddSource(distrust);
  }
  policy.trust_store = store;
  if (limits) policy.limits = *limits;
  std::vector<std::string> errors;
  policy.rules.crls = CrlSet::Parse(std::move(crls), &errors);
  EXPECT_TRUE(errors.empty()) << errors[0];
  auto certs = std::make_shared<std::vector<CertificatePtr>>();
  for (const TestCert* cert : crl_certificates) certs->push_back(Parsed(*cert));
  policy.rules.crl_certificates = certs;
  policy.rules.revocation_hard_fail = true;
  policy.rules.revocation_leaf_only = checks.leaf_only;
  policy.rules.denylist = checks.denylist;
  Outcome out;
  out.result = VerifyChain(input, policy);
  for (const RevocationNote& note : out.result.revocation) {
    if (note.chain_index == 0) out.leaf = note;
  }
  return out;
}

using State = RevocationNote::State;

// --- Key rollover -------------------------------------------------------

TEST(CrlSignerTest, NewKeySignsForOldCertificatesThroughNewWithOld) {
  const Pki& p = TestPki();
  // CA's CRL, signed with the new key, about a certificate of the old key.
  Outcome good = Verify({&p.leaf_old, &p.ca_old}, {Crl(p.ca_new, {"ABCD"})}, {&p.new_with_old});
  EXPECT_TRUE(good.result.trusted) << good.leaf.detail;
  EXPECT_EQ(good.leaf.state, State::kGood) << good.leaf.detail;
  Outcome revoked =
      Verify({&p.leaf_old, &p.ca_old}, {Crl(p.ca_new, {"1001"})}, {&p.new_with_old});
  EXPECT_FALSE(revoked.result.trusted);
  EXPECT_EQ(revoked.result.status, ::chainverify::v1::REVOKED);
  EXPECT_EQ(revoked.leaf.state, State::kRevoked);
}

TEST(CrlSignerTest, RenewedCaCertificateAlsoServesAsSigner) {
  const Pki& p = TestPki();
  // Root certified the new key too: that path is as good as the link.
  Outcome r = Verify({&p.leaf_old, &p.ca_old, &p.ca_new}, {Crl(p.ca_new, {"1001"})});
  EXPECT_EQ(r.leaf.state, State::kRevoked) << r.leaf.detail;
}

TEST(CrlSignerTest, OldKeySignsForNewCertificatesThroughOldWithNew) {
  const Pki& p = TestPki();
  Outcome r = Verify({&p.leaf_new, &p.ca_new}, {Crl(p.ca_old, {"1002"})}, {&p.old_with_new});
  EXPECT_EQ(r.leaf.state, State::kRevoked) << r.leaf.detail;
  Outcome good = Verify({&p.leaf_new, &p.ca_new}, {Crl(p.ca_old, {})}, {&p.old_with_new});
  EXPECT_TRUE(good.result.trusted);
  EXPECT_EQ(good.leaf.state, State::kGood) << good.leaf.detail;
}

TEST(CrlSignerTest, OtherKeyWithoutAnyCertificateIsUnknown) {
  const Pki& p = TestPki();
  // A key of CA's name that nothing certifies: not known to be CA's.
  TestCert stranger = MustIssue(IntermediateSpec("CA"), nullptr);
  Outcome r = Verify({&p.leaf_old, &p.ca_old}, {Crl(stranger, {"1001"})});
  EXPECT_FALSE(r.result.trusted);
  EXPECT_EQ(r.result.status, ::chainverify::v1::REVOCATION_UNKNOWN);
  EXPECT_EQ(r.leaf.state, State::kUnknown);
  EXPECT_TRUE(absl::StrContains(r.leaf.detail, "signature does not verify")) << r.leaf.detail;
}

// --- A separate CRL-signing key ------------------------------------------

TEST(CrlSignerTest, SeparateCrlSigningKey) {
  const Pki& p = TestPki();
  Outcome r = Verify({&p.leaf_old, &p.ca_old}, {Crl(p.crl_signer, {"1001"})}, {&p.crl_signer});
  EXPECT_EQ(r.leaf.state, State::kRevoked) << r.leaf.detail;
  Outcome good = Verify({&p.leaf_old, &p.ca_old}, {Crl(p.crl_signer, {})}, {&p.crl_signer});
  EXPECT_TRUE(good.result.trusted) << good.leaf.detail;
}

TEST(CrlSignerTest, SignerWithoutCrlSignIsRefused) {
  const Pki& p = TestPki();
  Outcome r = Verify({&p.leaf_old, &p.ca_old}, {Crl(p.no_crlsign, {})}, {&p.no_crlsign});
  EXPECT_FALSE(r.result.trusted);
  EXPECT_EQ(r.leaf.state, State::kUnknown);
  EXPECT_TRUE(absl::StrContains(r.leaf.detail, "cRLSign")) << r.leaf.detail;
}

TEST(CrlSignerTest, SignerUnderAnotherAnchorIsRefused) {
  const Pki& p = TestPki();
  Outcome r = Verify({&p.leaf_old, &p.ca_old}, {Crl(p.foreign_signer, {})}, {&p.foreign_signer});
  EXPECT_FALSE(r.result.trusted);
  EXPECT_EQ(r.leaf.state, State::kUnknown);
  EXPECT_TRUE(absl::StrContains(r.leaf.detail, "another trust anchor")) << r.leaf.detail;
}

// --- The signer's own path is checked too (one level deep) -----------------

// As Verify, with hard-fail revocation of every certificate but the anchor.
Outcome VerifyWholeChain(const std::vector<const TestCert*>& uploads,
                         std::vector<std::string> crls,
                         const std::vector<const TestCert*>& crl_certificates,
                         std::shared_ptr<const Denylist> denylist = nullptr) {
  return Verify(uploads, std::move(crls), crl_certificates, nullptr, std::nullopt,
                {.leaf_only = false, .denylist = std::move(denylist)});
}

TEST(CrlSignerTest, SignerThatItsIssuerRevokedIsRefused) {
  const Pki& p = TestPki();
  // Root's own CRL revokes the CRL-signing certificate: what its key signs
  // about the leaf no longer counts.
  const std::string root_crl = Crl(p.root, {p.crl_signer.serial_hex()});
  Outcome r = VerifyWholeChain({&p.leaf_old, &p.ca_old}, {Crl(p.crl_signer, {}), root_crl},
                               {&p.crl_signer});
  EXPECT_FALSE(r.result.trusted);
  EXPECT_EQ(r.result.status, ::chainverify::v1::REVOCATION_UNKNOWN);
  EXPECT_EQ(r.leaf.state, State::kUnknown);
  EXPECT_TRUE(absl::StrContains(r.leaf.detail, "revocation.revoked")) << r.leaf.detail;
  EXPECT_TRUE(absl::StrContains(r.leaf.detail, "crl:CN=Root")) << r.leaf.detail;

  // Root's CRL without it: the signer stands, for a good leaf and a revoked one.
  const std::string clean_root_crl = Crl(p.root, {"ABCD"});
  Outcome good = VerifyWholeChain({&p.leaf_old, &p.ca_old},
                                  {Crl(p.crl_signer, {}), clean_root_crl}, {&p.crl_signer});
  EXPECT_TRUE(good.result.trusted) << good.leaf.detail;
  EXPECT_EQ(good.leaf.state, State::kGood) << good.leaf.detail;
  Outcome revoked = VerifyWholeChain({&p.leaf_old, &p.ca_old},
                                     {Crl(p.crl_signer, {"1001"}), clean_root_crl},
                                     {&p.crl_signer});
  EXPECT_EQ(revoked.leaf.state, State::kRevoked) << revoked.leaf.detail;
}

TEST(CrlSignerTest, LeafOnlyPolicyDoesNotCheckTheSignersPath) {
  const Pki& p = TestPki();
  // The policy checks no CA-side certificate, so neither the signer's.
  const std::string root_crl = Crl(p.root, {p.crl_signer.serial_hex()});
  Outcome r = Verify({&p.leaf_old, &p.ca_old}, {Crl(p.crl_signer, {}), root_crl},
                     {&p.crl_signer});
  EXPECT_TRUE(r.result.trusted) << r.leaf.detail;
  EXPECT_EQ(r.leaf.state, State::kGood) << r.leaf.detail;
}

TEST(CrlSignerTest, DenylistedSignerIsRefused) {
  const Pki& p = TestPki();
  auto denylist = std::make_shared<Denylist>();
  ASSERT_TRUE(
      denylist->BlockSpki(absl::Base64Escape(Parsed(p.crl_signer)->spki_sha256())).ok());
  const std::string root_crl = Crl(p.root, {});
  Outcome r = VerifyWholeChain({&p.leaf_old, &p.ca_old}, {Crl(p.crl_signer, {}), root_crl},
                               {&p.crl_signer}, denylist);
  EXPECT_FALSE(r.result.trusted);
  EXPECT_EQ(r.leaf.state, State::kUnknown);
  EXPECT_TRUE(absl::StrContains(r.leaf.detail, "denylist")) << r.leaf.detail;
}

// A CKT_NSS_NOT_TRUSTED-style record for `cert`: its issuer and serial.
DistrustRecord DistrustOf(const TestCert& cert) {
  CertificatePtr parsed = Parsed(cert);
  DistrustRecord record;
  unsigned char* der = nullptr;
  int length = i2d_X509_NAME(X509_get_issuer_name(parsed->x509()), &der);
  record.issuer_der.assign(reinterpret_cast<char*>(der), length);
  OPENSSL_free(der);
  der = nullptr;
  length = i2d_ASN1_INTEGER(X509_get0_serialNumber(parsed->x509()), &der);
  record.serial_der.assign(reinterpret_cast<char*>(der), length);
  OPENSSL_free(der);
  record.server_auth = true;
  record.label = "Compromised CRL signer";
  record.origin = "test";
  return record;
}

TEST(CrlSignerTest, ExplicitlyDistrustedSignerIsRefused) {
  const Pki& p = TestPki();
  // The root program distrusts the signer by issuer and serial; this holds
  // under a leaf-only policy too, as it does on the chain itself.
  Outcome r = Verify({&p.leaf_old, &p.ca_old}, {Crl(p.crl_signer, {})}, {&p.crl_signer},
                     nullptr, std::nullopt, {.distrust = {DistrustOf(p.crl_signer)}});
  EXPECT_FALSE(r.result.trusted);
  EXPECT_EQ(r.leaf.state, State::kUnknown);
  EXPECT_TRUE(absl::StrContains(r.leaf.detail, "Compromised CRL signer")) << r.leaf.detail;
}

TEST(CrlSignerTest, UnknownStatusOfTheSignersPathDoesNotRefuseIt) {
  const Pki& p = TestPki();
  // After a rollover the CA publishes with its new key only. The signer's
  // path is new-with-old <- CA (old key) <- Root; the only CRL about
  // new-with-old is the new key's, the one being judged, so its status is
  // unknown, and that does not refuse the signer. Root's CRL covers CA.
  const std::string root_crl = Crl(p.root, {});
  Outcome revoked = VerifyWholeChain({&p.leaf_old, &p.ca_old},
                                     {Crl(p.ca_new, {"1001"}), root_crl}, {&p.new_with_old});
  EXPECT_EQ(revoked.leaf.state, State::kRevoked) << revoked.leaf.detail;
  Outcome good = VerifyWholeChain({&p.leaf_old, &p.ca_old}, {Crl(p.ca_new, {}), root_crl},
                                  {&p.new_with_old});
  EXPECT_TRUE(good.result.trusted) << good.leaf.detail;
  EXPECT_EQ(good.leaf.state, State::kGood) << good.leaf.detail;
}

// --- Indirect CRLs --------------------------------------------------------

CrlEntrySpec EntryFor(const std::string& serial, const TestCert* issuer) {
  CrlEntrySpec e;
  e.serial_hex = serial;
  e.certificate_issuer = issuer;
  return e;
}

TEST(CrlSignerTest, IndirectCrlRevokes) {
  const Pki& p = TestPki();
  std::string crl = Crl(p.authority, {}, [&p](CrlSpec& s) {
    s.idp.emplace().indirect = true;
    s.entries = {EntryFor("1003", &p.ca_old)};
  });
  Outcome r = Verify({&p.leaf_indirect, &p.ca_old}, {crl}, {&p.authority});
  EXPECT_EQ(r.leaf.state, State::kRevoked) << r.leaf.detail;
  EXPECT_EQ(r.leaf.source, "crl:CN=CRL Authority #1");
}

TEST(CrlSignerTest, IndirectCrlEntriesOfAnotherIssuerDoNotRevoke) {
  const Pki& p = TestPki();
  // Same serial, but certificateIssuer says Other CA; the following entry
  // without certificateIssuer inherits Other CA (5.3.3).
  std::string crl = Crl(p.authority, {}, [&p](CrlSpec& s) {
    s.idp.emplace().indirect = true;
    s.entries = {EntryFor("1003", &p.other_ca), EntryFor("1004", nullptr)};
  });
  Outcome r = Verify({&p.leaf_indirect, &p.ca_old}, {crl}, {&p.authority});
  EXPECT_TRUE(r.result.trusted) << r.leaf.detail;
  EXPECT_EQ(r.leaf.state, State::kGood) << r.leaf.detail;
}

TEST(CrlSignerTest, CrlOfTheCrlIssuerWithoutIndirectFlagIsNotUsed) {
  const Pki& p = TestPki();
  std::string crl = Crl(p.authority, {"1003"});
  Outcome r = Verify({&p.leaf_indirect, &p.ca_old}, {crl}, {&p.authority});
  EXPECT_FALSE(r.result.trusted);
  EXPECT_EQ(r.leaf.state, State::kUnknown);
  EXPECT_TRUE(absl::StrContains(r.leaf.detail, "does not assert indirectCRL")) << r.leaf.detail;
}

TEST(CrlSignerTest, IndirectCrlFromIssuerNotNamedInCrlIssuerIsNotUsed) {
  const Pki& p = TestPki();
  // Other CA's indirect CRL speaks of CA's certificates, but the leaf's
  // distribution point names CRL Authority.
  std::string crl = Crl(p.other_ca, {}, [&p](CrlSpec& s) {
    s.idp.emplace().indirect = true;
    s.entries = {EntryFor("1003", &p.ca_old)};
  });
  Outcome r = Verify({&p.leaf_indirect, &p.ca_old}, {crl}, {&p.other_ca});
  EXPECT_EQ(r.leaf.state, State::kUnknown) << r.leaf.detail;
  EXPECT_TRUE(absl::StrContains(r.leaf.detail, "no CRL from CN=CA")) << r.leaf.detail;
}

// --- Hostile ----------------------------------------------------------------

TEST(CrlSignerTest, SignerPathThatLoopsEnds) {
  const Pki& p = TestPki();
  // The CRL's key belongs to a "CA" certificate whose issuer (Loop B) is
  // certified by that same key: the signer's path goes round and never
  // reaches Root, so the CRL is no source.
  std::string crl = Crl(p.loop_ca, {"1001"});
  const absl::Time start = absl::Now();
  Outcome r = Verify({&p.leaf_old, &p.ca_old, &p.loop_b}, {crl}, {&p.loop_ca, &p.loop_b});
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  EXPECT_FALSE(r.result.trusted);
  EXPECT_EQ(r.leaf.state, State::kUnknown);
  EXPECT_TRUE(absl::StrContains(r.leaf.detail, "has no valid path")) << r.leaf.detail;
}

TEST(CrlSignerTest, SignerSearchesShareTheRequestBudget) {
  const Pki& p = TestPki();
  // The chain needs 2 signature checks; the CRL signer's search (candidate
  // check, its own edge) needs more: with 3 in all, the signer runs out.
  SearchLimits limits;
  limits.max_signature_checks = 3;
  Outcome r = Verify({&p.leaf_old, &p.ca_old}, {Crl(p.crl_signer, {})}, {&p.crl_signer},
                     nullptr, limits);
  EXPECT_FALSE(r.result.trusted);
  EXPECT_EQ(r.leaf.state, State::kUnknown) << r.leaf.detail;
  // With the default budget the same request succeeds.
  Outcome ok = Verify({&p.leaf_old, &p.ca_old}, {Crl(p.crl_signer, {})}, {&p.crl_signer});
  EXPECT_TRUE(ok.result.trusted) << ok.leaf.detail;
}

}  // namespace
}  // namespace chainverify::pki
