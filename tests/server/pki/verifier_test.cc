// End-to-end tests of the verification core (path building + validation) on
// a PKI generated at test time. Every case fixes the verification time.
#include "server/pki/verifier.h"

#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "server/pki/hostname_match.h"
#include "tests/testutil/test_pki.h"

namespace chainverify::pki {
namespace {

using ::chainverify::testing::CertSpec;
using ::chainverify::testing::IntermediateSpec;
using ::chainverify::testing::KeyType;
using ::chainverify::testing::LeafSpec;
using ::chainverify::testing::MustIssue;
using ::chainverify::testing::RootSpec;
using ::chainverify::testing::TestCert;
using ::chainverify::testing::TestKey;
using ::chainverify::v1::Status;

const absl::Time kNow = absl::FromUnixSeconds(1800000000);  // 2027-01-15

// The PKI: trusted root C; intermediates A and B under C; leaf L under A;
// and the variations the cases below need.
struct Pki {
  TestCert root_c = MustIssue(RootSpec("Root C"), nullptr);
  TestCert inter_a = MustIssue(IntermediateSpec("Intermediate A"), &root_c);
  TestCert inter_b = MustIssue(IntermediateSpec("Intermediate B"), &root_c);
  TestCert leaf = MustIssue(LeafSpec("leaf.example.com", {"leaf.example.com"}), &inter_a);
};

const Pki& TestPki() {
  static const Pki* pki = new Pki();
  return *pki;
}

std::shared_ptr<TrustStore> StoreOf(const std::vector<const TestCert*>& anchors) {
  auto store = std::make_shared<TrustStore>();
  for (const TestCert* cert : anchors) {
    ParseError error;
    CertificatePtr parsed = Certificate::Parse(cert->der, &error);
    EXPECT_NE(parsed, nullptr) << error.diagnostic;
    store->Add(parsed, "test");
  }
  return store;
}

VerifyResult Verify(const std::vector<const TestCert*>& uploads,
                    std::shared_ptr<TrustStore> store, const std::string& host,
                    VerifyPolicy policy = VerifyPolicy()) {
  VerifyInput input;
  for (const TestCert* cert : uploads) input.certificates.push_back(cert->der);
  absl::StatusOr<PeerName> name = ParsePeerName(host);
  EXPECT_TRUE(name.ok()) << name.status();
  input.peer_name = *name;
  input.time = kNow;
  policy.trust_store = std::move(store);
  return VerifyChain(input, policy);
}

std::vector<std::string> ChainSubjects(const VerifyResult& result) {
  std::vector<std::string> out;
  for (const ChainEntry& e : result.chain) {
    char buf[256];
    X509_NAME_get_text_by_NID(e.certificate->subject(), NID_commonName, buf, sizeof(buf));
    out.push_back(buf);
  }
  return out;
}

bool HasError(const VerifyResult& result, const CertErrorId& id) {
  for (const CertError& e : result.errors) {
    if (e.id == &id) return true;
  }
  return false;
}

// The seed's example: L signed by A; A and B signed by trusted C; the client
// uploads L, A, B, C. The answer is L, A, C with B unused.
TEST(VerifierTest, SeedExamplePrunesUnneededIntermediate) {
  const Pki& p = TestPki();
  VerifyResult r = Verify({&p.leaf, &p.inter_a, &p.inter_b, &p.root_c},
                          StoreOf({&p.root_c}), "leaf.example.com");
  ASSERT_TRUE(r.trusted) << r.status;
  EXPECT_EQ(r.status, v1::OK);
  EXPECT_EQ(ChainSubjects(r),
            (std::vector<std::string>{"leaf.example.com", "Intermediate A", "Root C"}));
  EXPECT_EQ(r.unused_request_indices, std::vector<int>{2});
  EXPECT_EQ(r.chain[0].request_index, 0);
  EXPECT_EQ(r.chain[1].request_index, 1);
  EXPECT_EQ(r.chain[2].request_index, 3);  // The anchor, also uploaded.
  EXPECT_NE(r.chain[2].anchor, nullptr);
}

TEST(VerifierTest, MisorderedUploadStillBuildsThePath) {
  const Pki& p = TestPki();
  VerifyResult r = Verify({&p.leaf, &p.root_c, &p.inter_b, &p.inter_a},
                          StoreOf({&p.root_c}), "leaf.example.com");
  ASSERT_TRUE(r.trusted) << r.status;
  EXPECT_EQ(ChainSubjects(r),
            (std::vector<std::string>{"leaf.example.com", "Intermediate A", "Root C"}));
  EXPECT_EQ(r.unused_request_indices, std::vector<int>{2});
}

TEST(VerifierTest, RootFromTrustStoreWhenNotUploaded) {
  const Pki& p = TestPki();
  VerifyResult r = Verify({&p.leaf, &p.inter_a}, StoreOf({&p.root_c}), "leaf.example.com");
  ASSERT_TRUE(r.trusted);
  EXPECT_EQ(r.chain.back().request_index, -1);
  EXPECT_TRUE(r.unused_request_indices.empty());
}

TEST(VerifierTest, MissingIntermediateIsNoPath) {
  const Pki& p = TestPki();
  VerifyResult r = Verify({&p.leaf}, StoreOf({&p.root_c}), "leaf.example.com");
  EXPECT_FALSE(r.trusted);
  EXPECT_EQ(r.status, v1::NO_PATH_TO_TRUSTED_ANCHOR);
  EXPECT_TRUE(HasError(r, kPathNoIssuer));
}

TEST(VerifierTest, UntrustedRootIsNoPath) {
  const Pki& p = TestPki();
  TestCert other_root = MustIssue(RootSpec("Other Root"), nullptr);
  VerifyResult r = Verify({&p.leaf, &p.inter_a, &p.root_c}, StoreOf({&other_root}),
                          "leaf.example.com");
  EXPECT_EQ(r.status, v1::NO_PATH_TO_TRUSTED_ANCHOR);
}

TEST(VerifierTest, WrongHostIsNameMismatch) {
  const Pki& p = TestPki();
  VerifyResult r = Verify({&p.leaf, &p.inter_a}, StoreOf({&p.root_c}), "other.example.com");
  EXPECT_FALSE(r.trusted);
  EXPECT_EQ(r.status, v1::NAME_MISMATCH);
  // The best attempted path is still reported.
  EXPECT_EQ(r.chain.size(), 3u);
}

TEST(VerifierTest, ExpiredAndNotYetValidLeaves) {
  const Pki& p = TestPki();
  CertSpec expired = LeafSpec("expired.example.com", {"expired.example.com"});
  expired.not_before = kNow - absl::Hours(24 * 90);
  expired.not_after = kNow - absl::Seconds(1);
  TestCert expired_leaf = MustIssue(expired, &p.inter_a);
  VerifyResult r = Verify({&expired_leaf, &p.inter_a}, StoreOf({&p.root_c}),
                          "expired.example.com");
  EXPECT_EQ(r.status, v1::EXPIRED);

  CertSpec future = LeafSpec("future.example.com", {"future.example.com"});
  future.not_before = kNow + absl::Seconds(1);
  TestCert future_leaf = MustIssue(future, &p.inter_a);
  r = Verify({&future_leaf, &p.inter_a}, StoreOf({&p.root_c}), "future.example.com");
  EXPECT_EQ(r.status, v1::NOT_YET_VALID);

  // notAfter is inclusive (RFC 5280 4.1.2.5).
  CertSpec edge = LeafSpec("edge.example.com", {"edge.example.com"});
  edge.not_after = kNow;
  TestCert edge_leaf = MustIssue(edge, &p.inter_a);
  r = Verify({&edge_leaf, &p.inter_a}, StoreOf({&p.root_c}), "edge.example.com");
  EXPECT_TRUE(r.trusted) << r.status;
}

// Cross-signing: A exists twice with one key, once under an untrusted root X
// (tried first: newer) and once under trusted C. Backtracking finds C.
TEST(VerifierTest, CrossSignedIntermediateBacktracksToTrustedRoot) {
  const Pki& p = TestPki();
  TestCert root_x = MustIssue(RootSpec("Root X"), nullptr);
  CertSpec a_spec = IntermediateSpec("Intermediate A");
  a_spec.not_before = absl::FromUnixSeconds(1750000000);  // Newer than A under C.
  TestCert a_by_x = MustIssue(a_spec, &root_x, p.inter_a.key);
  VerifyResult r = Verify({&p.leaf, &a_by_x, &p.inter_a}, StoreOf({&p.root_c}),
                          "leaf.example.com");
  ASSERT_TRUE(r.trusted) << r.status;
  EXPECT_EQ(r.chain[1].request_index, 2);
  EXPECT_EQ(r.unused_request_indices, std::vector<int>{1});
  EXPECT_GE(r.stats.signature_checks, 2);
}

// Two valid paths: through a cross-sign (found first: newer) and direct. The
// shorter one is chosen, whatever the search order.
TEST(VerifierTest, ShortestValidPathIsChosen) {
  const Pki& p = TestPki();
  TestCert x_by_c = MustIssue(IntermediateSpec("Bridge X"), &p.root_c);
  CertSpec a_spec = IntermediateSpec("Intermediate A");
  a_spec.not_before = absl::FromUnixSeconds(1750000000);  // Newer: tried first.
  TestCert a_by_x = MustIssue(a_spec, &x_by_c, p.inter_a.key);
  VerifyResult r = Verify({&p.leaf, &a_by_x, &x_by_c, &p.inter_a}, StoreOf({&p.root_c}),
                          "leaf.example.com");
  ASSERT_TRUE(r.trusted) << r.status;
  EXPECT_EQ(ChainSubjects(r),
            (std::vector<std::string>{"leaf.example.com", "Intermediate A", "Root C"}));
  EXPECT_EQ(r.chain[1].request_index, 3);
  EXPECT_EQ(r.unused_request_indices, (std::vector<int>{1, 2}));
}

// Equal length: the path that stays valid longer wins.
TEST(VerifierTest, AmongEqualLengthPathsLatestExpiryWins) {
  const Pki& p = TestPki();
  CertSpec short_lived = IntermediateSpec("Intermediate A");
  short_lived.not_after = absl::FromUnixSeconds(1850000000);
  short_lived.not_before = absl::FromUnixSeconds(1750000000);  // Newer: tried first.
  TestCert a_short = MustIssue(short_lived, &p.root_c, p.inter_a.key);
  VerifyResult r = Verify({&p.leaf, &a_short, &p.inter_a}, StoreOf({&p.root_c}),
                          "leaf.example.com");
  ASSERT_TRUE(r.trusted) << r.status;
  EXPECT_EQ(r.chain[1].request_index, 2);
}

TEST(VerifierTest, ForgedIssuerIsBadSignature) {
  const Pki& p = TestPki();
  // Same name as A, different key: the leaf's signature does not verify.
  TestCert fake_a = MustIssue(IntermediateSpec("Intermediate A"), &p.root_c);
  VerifyResult r = Verify({&p.leaf, &fake_a}, StoreOf({&p.root_c}), "leaf.example.com");
  EXPECT_FALSE(r.trusted);
  EXPECT_EQ(r.status, v1::BAD_SIGNATURE);
  // The diagnostic says what was tried.
  ASSERT_FALSE(r.errors.empty());
  EXPECT_NE(r.errors[0].diagnostic.find("CN=Intermediate A\" (uploaded #1)"), std::string::npos)
      << r.errors[0].diagnostic;
}

TEST(VerifierTest, NonCaIntermediateIsInvalidCa) {
  const Pki& p = TestPki();
  CertSpec not_ca = LeafSpec("Not A CA", {"notaca.example.com"});
  TestCert mid = MustIssue(not_ca, &p.root_c);
  TestCert leaf = MustIssue(LeafSpec("x.example.com", {"x.example.com"}), &mid);
  VerifyResult r = Verify({&leaf, &mid}, StoreOf({&p.root_c}), "x.example.com");
  EXPECT_EQ(r.status, v1::INVALID_CA);
}

TEST(VerifierTest, PathLenConstraintExceeded) {
  const Pki& p = TestPki();
  CertSpec upper_spec = IntermediateSpec("Upper");
  upper_spec.path_len = 0;
  TestCert upper = MustIssue(upper_spec, &p.root_c);
  TestCert lower = MustIssue(IntermediateSpec("Lower"), &upper);
  TestCert leaf = MustIssue(LeafSpec("deep.example.com", {"deep.example.com"}), &lower);
  VerifyResult r = Verify({&leaf, &lower, &upper}, StoreOf({&p.root_c}), "deep.example.com");
  EXPECT_EQ(r.status, v1::CHAIN_TOO_LONG);
  EXPECT_TRUE(HasError(r, kPathLenExceeded));
}

TEST(VerifierTest, ClientAuthOnlyLeafRejectedForServerUsage) {
  const Pki& p = TestPki();
  CertSpec spec = LeafSpec("client.example.com", {"client.example.com"});
  spec.extended_key_usage = std::vector<std::string>{"clientAuth"};
  TestCert leaf = MustIssue(spec, &p.inter_a);
  VerifyResult r = Verify({&leaf, &p.inter_a}, StoreOf({&p.root_c}), "client.example.com");
  EXPECT_EQ(r.status, v1::USAGE_NOT_ALLOWED);
}

TEST(VerifierTest, LeafKeyUsageMustAllowTls) {
  const Pki& p = TestPki();
  CertSpec spec = LeafSpec("ku.example.com", {"ku.example.com"});
  spec.key_usage = "critical,nonRepudiation";
  TestCert leaf = MustIssue(spec, &p.inter_a);
  VerifyResult r = Verify({&leaf, &p.inter_a}, StoreOf({&p.root_c}), "ku.example.com");
  EXPECT_EQ(r.status, v1::USAGE_NOT_ALLOWED);
  EXPECT_TRUE(HasError(r, kKeyUsageDisallowed));
}

TEST(VerifierTest, WeakKeyAndWeakDigestRejected) {
  const Pki& p = TestPki();
  CertSpec rsa1024 = LeafSpec("weak.example.com", {"weak.example.com"});
  rsa1024.key_type = KeyType::kRsa1024;
  TestCert weak_key = MustIssue(rsa1024, &p.inter_a);
  EXPECT_EQ(Verify({&weak_key, &p.inter_a}, StoreOf({&p.root_c}), "weak.example.com").status,
            v1::WEAK_ALGORITHM);

  CertSpec sha1 = LeafSpec("sha1.example.com", {"sha1.example.com"});
  sha1.digest = "sha1";
  TestCert weak_digest = MustIssue(sha1, &p.inter_a);
  EXPECT_EQ(Verify({&weak_digest, &p.inter_a}, StoreOf({&p.root_c}), "sha1.example.com").status,
            v1::WEAK_ALGORITHM);
}

TEST(VerifierTest, IpAddressPeerName) {
  const Pki& p = TestPki();
  CertSpec spec = LeafSpec("ip", {});
  spec.ip_addresses = {"192.0.2.7", "2001:db8::7"};
  TestCert leaf = MustIssue(spec, &p.inter_a);
  auto store = StoreOf({&p.root_c});
  EXPECT_TRUE(Verify({&leaf, &p.inter_a}, store, "192.0.2.7").trusted);
  EXPECT_TRUE(Verify({&leaf, &p.inter_a}, store, "2001:db8::7").trusted);
  EXPECT_EQ(Verify({&leaf, &p.inter_a}, store, "192.0.2.8").status, v1::NAME_MISMATCH);
}

TEST(VerifierTest, UnparsableLeafIsMalformed) {
  VerifyInput input;
  input.certificates = {"\x30\x03\x02\x01\x01"};
  input.time = kNow;
  VerifyPolicy policy;
  policy.trust_store = StoreOf({&TestPki().root_c});
  VerifyResult r = VerifyChain(input, policy);
  EXPECT_FALSE(r.trusted);
  EXPECT_EQ(r.status, v1::MALFORMED_CERTIFICATE);
  ASSERT_FALSE(r.errors.empty());
  EXPECT_EQ(r.errors[0].request_index, 0);
}

TEST(VerifierTest, UnparsableExtraCertificateIsOnlyAWarning) {
  const Pki& p = TestPki();
  VerifyInput input;
  input.certificates = {p.leaf.der, "garbage", p.inter_a.der};
  input.time = kNow;
  VerifyPolicy policy;
  policy.trust_store = StoreOf({&p.root_c});
  VerifyResult r = VerifyChain(input, policy);
  ASSERT_TRUE(r.trusted) << r.status;
  EXPECT_EQ(r.unused_request_indices, std::vector<int>{1});
  ASSERT_TRUE(HasError(r, kCertUnusedUnparsable));
}

// Two CAs that certify each other, neither trusted: the search must end.
TEST(VerifierTest, IssuerCycleTerminates) {
  TestCert x = MustIssue(RootSpec("Cycle X"), nullptr);
  TestCert y_by_x = MustIssue(IntermediateSpec("Cycle Y"), &x);
  TestCert x_by_y = MustIssue(IntermediateSpec("Cycle X"), &y_by_x, x.key);
  TestCert leaf = MustIssue(LeafSpec("cycle.example.com", {"cycle.example.com"}), &y_by_x);
  TestCert unrelated = MustIssue(RootSpec("Unrelated"), nullptr);
  VerifyResult r = Verify({&leaf, &y_by_x, &x_by_y, &x}, StoreOf({&unrelated}),
                          "cycle.example.com");
  EXPECT_EQ(r.status, v1::NO_PATH_TO_TRUSTED_ANCHOR);
}

// Many candidate issuers with one name and no valid path: the budget ends the
// search with SEARCH_LIMIT_REACHED, not "no issuer".
TEST(VerifierTest, SignatureBudgetExhaustedIsSearchLimit) {
  const Pki& p = TestPki();
  std::vector<TestCert> decoys;
  for (int i = 0; i < 12; ++i) {
    decoys.push_back(MustIssue(IntermediateSpec("Intermediate A"), &p.root_c));
  }
  std::vector<const TestCert*> uploads = {&p.leaf};
  for (const TestCert& d : decoys) uploads.push_back(&d);
  VerifyPolicy policy;
  policy.limits.max_signature_checks = 5;
  VerifyResult r = Verify(uploads, StoreOf({&p.root_c}), "leaf.example.com", policy);
  EXPECT_FALSE(r.trusted);
  EXPECT_EQ(r.status, v1::SEARCH_LIMIT_REACHED);
  EXPECT_TRUE(HasError(r, kPathSignatureCheckLimit));
  EXPECT_LE(r.stats.signature_checks, 6);
}

TEST(VerifierTest, MaxChainLengthEnforced) {
  const Pki& p = TestPki();
  VerifyPolicy policy;
  policy.validation.max_chain_length = 2;
  VerifyResult r = Verify({&p.leaf, &p.inter_a}, StoreOf({&p.root_c}), "leaf.example.com",
                          policy);
  EXPECT_FALSE(r.trusted);
  EXPECT_EQ(r.status, v1::CHAIN_TOO_LONG);
}

// --- Profile rules that two x509-limbo cases each pin from opposite sides ---

VerifyPolicy WithProfile(Profile profile) {
  VerifyPolicy policy;
  policy.validation.profile = profile;
  return policy;
}

// CA/B BR 7.1.2.7.8: a CA certificate that could still issue is no TLS leaf.
TEST(VerifierTest, WebPkiRejectsCaLeafThatCouldIssue) {
  TestCert root = MustIssue(RootSpec("CA-leaf Root"), nullptr);
  CertSpec spec = IntermediateSpec("ca-leaf.example");
  spec.dns_names = {"ca-leaf.example"};
  TestCert ca_leaf = MustIssue(spec, &root);
  VerifyResult web = Verify({&ca_leaf}, StoreOf({&root}), "ca-leaf.example",
                            WithProfile(Profile::kWebPki));
  EXPECT_FALSE(web.trusted);
  EXPECT_TRUE(HasError(web, kLeafIsCa)) << web.status;
  // RFC 5280 4.2.1.9: the last certificate of a path may be a CA.
  VerifyResult rfc = Verify({&ca_leaf}, StoreOf({&root}), "ca-leaf.example",
                            WithProfile(Profile::kRfc5280));
  EXPECT_TRUE(rfc.trusted) << rfc.status;
}

// Below a pathLenConstraint-0 CA the leaf's cA bit is inert: it cannot certify
// anything in this path, so it is judged as the end entity it is.
TEST(VerifierTest, WebPkiAcceptsCaLeafWhosePathLengthIsExhausted) {
  TestCert root = MustIssue(RootSpec("Pathlen Root"), nullptr);
  CertSpec ica_spec = IntermediateSpec("Pathlen-0 ICA");
  ica_spec.path_len = 0;
  TestCert ica = MustIssue(ica_spec, &root);
  CertSpec spec = IntermediateSpec("inert-ca.example");
  spec.dns_names = {"inert-ca.example"};
  TestCert ca_leaf = MustIssue(spec, &ica);
  VerifyResult r = Verify({&ca_leaf, &ica}, StoreOf({&root}), "inert-ca.example",
                          WithProfile(Profile::kWebPki));
  EXPECT_TRUE(r.trusted) << r.status;
  // The same leaf directly under the unconstrained root could issue.
  TestCert direct = MustIssue(spec, &root);
  EXPECT_TRUE(HasError(Verify({&direct}, StoreOf({&root}), "inert-ca.example",
                              WithProfile(Profile::kWebPki)),
                       kLeafIsCa));
}

// RFC 5280 4.2.1.1: only a certificate through which a CA distributes its own
// key may omit the AKI. Under strict anchor checks, an anchor signed by its own
// key under another issuer name qualifies; an anchor signed by someone else (a
// cross-certificate) does not. By default an anchor's AKI is not judged at all.
TEST(VerifierTest, AnchorWithoutAkiMustBeSignedByItsOwnKey) {
  TestKey key = TestKey::Generate(KeyType::kEcP256, /*fresh=*/true);
  CertSpec spec = RootSpec("Renamed Root");
  spec.issuer_override = "Old Root Name";
  spec.include_authority_key_id = false;
  TestCert self_signed = MustIssue(spec, nullptr, key);
  TestCert leaf = MustIssue(LeafSpec("aki.example", {"aki.example"}), &self_signed);
  for (Profile profile : {Profile::kWebPki, Profile::kRfc5280}) {
    VerifyPolicy strict = WithProfile(profile);
    strict.validation.strict_anchor_checks = true;
    VerifyResult r = Verify({&leaf}, StoreOf({&self_signed}), "aki.example", strict);
    EXPECT_TRUE(r.trusted) << r.status;
  }

  TestCert other_root = MustIssue(RootSpec("Other Root"), nullptr);
  CertSpec cross_spec = IntermediateSpec("Cross-signed Root");
  cross_spec.include_authority_key_id = false;
  TestCert cross = MustIssue(cross_spec, &other_root);
  TestCert leaf2 = MustIssue(LeafSpec("aki.example", {"aki.example"}), &cross);
  VerifyPolicy strict = WithProfile(Profile::kRfc5280);
  strict.validation.strict_anchor_checks = true;
  VerifyResult r = Verify({&leaf2}, StoreOf({&cross}), "aki.example", strict);
  EXPECT_FALSE(r.trusted);
  EXPECT_TRUE(HasError(r, kCertAkiInvalid)) << r.status;
  EXPECT_TRUE(Verify({&leaf2}, StoreOf({&cross}), "aki.example", WithProfile(Profile::kRfc5280))
                  .trusted);
}

// RFC 5280 4.2.1.10 makes nameConstraints critical; CA/B BR 7.1.2.5.2 allows
// it non-critical.
TEST(VerifierTest, NonCriticalNameConstraintsOnlyUnderWebPki) {
  TestCert root = MustIssue(RootSpec("NC Root"), nullptr);
  CertSpec spec = IntermediateSpec("NC ICA");
  // nameConstraints { permittedSubtrees { dNSName "example" } }, non-critical.
  spec.raw_extensions.push_back(
      {"2.5.29.30", false, std::string("\x30\x0d\xa0\x0b\x30\x09\x82\x07" "example", 15)});
  TestCert ica = MustIssue(spec, &root);
  TestCert leaf = MustIssue(LeafSpec("a.example", {"a.example"}), &ica);
  VerifyResult web =
      Verify({&leaf, &ica}, StoreOf({&root}), "a.example", WithProfile(Profile::kWebPki));
  EXPECT_TRUE(web.trusted) << web.status;
  VerifyResult rfc =
      Verify({&leaf, &ica}, StoreOf({&root}), "a.example", WithProfile(Profile::kRfc5280));
  EXPECT_FALSE(rfc.trusted);
  EXPECT_TRUE(HasError(rfc, kNameConstraintsInvalid)) << rfc.status;
}

}  // namespace
}  // namespace chainverify::pki
