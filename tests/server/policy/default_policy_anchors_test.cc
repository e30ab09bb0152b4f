// Trust anchors under the embedded default policy: an anchor is an input to
// path validation (RFC 5280 6.1.1 (d)), judged by what the path relies on, not
// by how its own certificate was issued. Real roots still in the root programs
// are self-signed with SHA-1, carry an AKI with issuer and serial, a
// non-critical basicConstraints or no SKI; chains under them must verify.
//
// Every case issues a modern chain (SHA-256, P-256 intermediate and leaf)
// under a root and verifies it with the embedded default policy
// (deploy/policy/default.textproto), the root given to it the way an operator
// would: as the OS bundle, through $SSL_CERT_FILE. The verification time is
// fixed.
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "server/pki/certdata.h"
#include "server/pki/hostname_match.h"
#include "server/policy/policy_store.h"
#include "tests/testutil/shared_data.h"
#include "tests/testutil/test_pki.h"

namespace chainverify::policy {
namespace {

using ::chainverify::testing::CertSpec;
using ::chainverify::testing::IntermediateSpec;
using ::chainverify::testing::Issue;
using ::chainverify::testing::KeyType;
using ::chainverify::testing::LeafSpec;
using ::chainverify::testing::MustIssue;
using ::chainverify::testing::RootSpec;
using ::chainverify::testing::TestCert;
using ::chainverify::testing::TestKey;

const absl::Time kNow = absl::FromUnixSeconds(1780272000);  // 2026-06-01
constexpr char kHost[] = "www.example.com";

// The embedded default policy with `root_pem` as the whole OS store.
std::shared_ptr<const PolicySet> DefaultPolicyTrusting(const std::string& root_pem) {
  const std::string path = absl::StrCat(std::getenv("TEST_TMPDIR"), "/os-store.pem");
  std::ofstream(path, std::ios::trunc) << root_pem;
  setenv("SSL_CERT_FILE", path.c_str(), 1);
  auto set = PolicySet::Embedded(pki::SearchLimits());
  unsetenv("SSL_CERT_FILE");
  EXPECT_TRUE(set.ok()) << set.status();
  return set.ok() ? *set : nullptr;
}

// SERVER_AUTH for kHost at `time`, as the decider runs it.
pki::VerifyResult VerifyServer(const PolicySet& set, const std::vector<std::string>& chain,
                               const std::string& host, absl::Time time) {
  const CompiledPolicy* policy = set.Find("");
  pki::VerifyPolicy verify = policy->verify;
  verify.validation.profile = policy->ProfileFor(pki::KeyPurpose::kServerAuth);
  pki::VerifyInput input;
  input.certificates = chain;
  input.peer_name = *pki::ParsePeerName(host);
  input.time = time;
  return pki::VerifyChain(input, verify);
}

std::string Explain(const pki::VerifyResult& result) {
  std::vector<std::string> lines;
  for (const pki::CertError& e : result.errors) {
    lines.push_back(absl::StrCat(e.id->name, " at chain index ", e.chain_index, ": ",
                                 e.diagnostic));
  }
  return absl::StrJoin(lines, "; ");
}

bool HasErrorAt(const pki::VerifyResult& result, const pki::CertErrorId& id, int index) {
  for (const pki::CertError& e : result.errors) {
    if (e.id == &id && e.chain_index == index && e.severity == pki::Severity::kError) return true;
  }
  return false;
}

// A modern intermediate and leaf under `root`, valid around `time`.
struct Chain {
  TestCert intermediate;
  TestCert leaf;

  // The upload, leaf first, without the root.
  std::vector<std::string> Uploads() const {
    if (intermediate.der.empty()) return {leaf.der};
    return {leaf.der, intermediate.der};
  }
};

// A root whose pathLenConstraint is 0 may certify only end entities, so the
// leaf is issued directly under it (Chain::intermediate then empty).
absl::StatusOr<Chain> IssueModernChain(const TestCert& root, absl::Time time,
                                       const std::string& host,
                                       const std::string& intermediate_digest = "sha256") {
  CertSpec leaf = LeafSpec(host, {host});
  leaf.extended_key_usage = std::vector<std::string>{"serverAuth"};
  leaf.not_before = time - absl::Hours(24 * 30);
  leaf.not_after = time + absl::Hours(24 * 30);
  if (X509_get_pathlen(root.x509()) == 0) {
    absl::StatusOr<TestCert> issued_leaf = Issue(leaf, &root);
    if (!issued_leaf.ok()) return issued_leaf.status();
    return Chain{TestCert(), *std::move(issued_leaf)};
  }
  CertSpec ica = IntermediateSpec("chainverify Test Issuing CA");
  ica.extra_subject = {{"O", "chainverify tests"}};
  ica.path_len = 0;
  ica.extended_key_usage = std::vector<std::string>{"serverAuth"};
  ica.not_before = time - absl::Hours(24 * 60);
  ica.not_after = time + absl::Hours(24 * 60);
  ica.digest = intermediate_digest;
  absl::StatusOr<TestCert> intermediate = Issue(ica, &root);
  if (!intermediate.ok()) return intermediate.status();
  absl::StatusOr<TestCert> issued_leaf = Issue(leaf, &*intermediate);
  if (!issued_leaf.ok()) return issued_leaf.status();
  return Chain{*std::move(intermediate), *std::move(issued_leaf)};
}

// Verifies a modern chain under `root` with the default policy, with and
// without the root among the uploads; returns both results.
std::vector<pki::VerifyResult> VerifyUnder(const TestCert& root, absl::Time time,
                                           const std::string& host = kHost) {
  absl::StatusOr<Chain> chain = IssueModernChain(root, time, host);
  EXPECT_TRUE(chain.ok()) << chain.status();
  if (!chain.ok()) return {};
  std::shared_ptr<const PolicySet> set = DefaultPolicyTrusting(root.pem());
  if (set == nullptr) return {};
  std::vector<std::string> with_root = chain->Uploads();
  with_root.push_back(root.der);
  return {VerifyServer(*set, chain->Uploads(), host, time),
          VerifyServer(*set, with_root, host, time)};
}

void ExpectTrustedUnder(const TestCert& root) {
  std::vector<pki::VerifyResult> results = VerifyUnder(root, kNow);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_TRUE(results[0].trusted) << "root not uploaded: " << Explain(results[0]);
  EXPECT_TRUE(results[1].trusted) << "root uploaded too: " << Explain(results[1]);
  for (const pki::VerifyResult& result : results) {
    ASSERT_EQ(result.chain.size(), 3u);
    EXPECT_NE(result.chain[2].anchor, nullptr);
  }
}

// An authorityKeyIdentifier holding keyIdentifier, authorityCertIssuer and
// authorityCertSerialNumber, as Go Daddy's and QuoVadis' roots carry.
std::string FullAkiDer(const std::string& key_id, const std::string& issuer_cn,
                       const std::string& serial_hex) {
  AUTHORITY_KEYID* aki = AUTHORITY_KEYID_new();
  aki->keyid = ASN1_OCTET_STRING_new();
  ASN1_OCTET_STRING_set(aki->keyid, reinterpret_cast<const unsigned char*>(key_id.data()),
                        static_cast<int>(key_id.size()));
  X509_NAME* name = X509_NAME_new();
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(issuer_cn.c_str()), -1, -1,
                             0);
  GENERAL_NAME* dir = GENERAL_NAME_new();
  GENERAL_NAME_set0_value(dir, GEN_DIRNAME, name);
  aki->issuer = sk_GENERAL_NAME_new_null();
  sk_GENERAL_NAME_push(aki->issuer, dir);
  BIGNUM* bn = nullptr;
  BN_hex2bn(&bn, serial_hex.c_str());
  aki->serial = BN_to_ASN1_INTEGER(bn, nullptr);
  BN_free(bn);
  unsigned char* der = nullptr;
  const int len = i2d_AUTHORITY_KEYID(aki, &der);
  std::string out(reinterpret_cast<char*>(der), len);
  OPENSSL_free(der);
  AUTHORITY_KEYID_free(aki);
  return out;
}

CertSpec RsaRoot(const std::string& cn) {
  CertSpec spec = RootSpec(cn);
  spec.key_type = KeyType::kRsa2048;
  spec.not_before = absl::FromUnixSeconds(1262304000);  // 2010-01-01
  spec.not_after = absl::FromUnixSeconds(2051222400);   // 2035-01-01
  return spec;
}

TEST(DefaultPolicyAnchorsTest, RootSelfSignedWithSha1) {
  CertSpec spec = RsaRoot("SHA-1 Root");
  spec.digest = "sha1";
  ExpectTrustedUnder(MustIssue(spec, nullptr));
}

TEST(DefaultPolicyAnchorsTest, RootSelfSignedWithMd5) {
  CertSpec spec = RsaRoot("MD5 Root");
  spec.digest = "md5";
  ExpectTrustedUnder(MustIssue(spec, nullptr));
}

TEST(DefaultPolicyAnchorsTest, RootWithAkiCarryingIssuerAndSerial) {
  CertSpec spec = RsaRoot("Full AKI Root");
  spec.serial_hex = "00";
  TestKey key = TestKey::Generate(KeyType::kRsa2048, /*fresh=*/true);
  // The key id: SHA-1 of the subjectPublicKey bits, as the SKI holds it.
  TestCert probe = MustIssue(spec, nullptr, key);
  const ASN1_OCTET_STRING* ski = X509_get0_subject_key_id(probe.x509());
  ASSERT_NE(ski, nullptr);
  spec.include_authority_key_id = false;
  spec.raw_extensions.push_back(
      {"2.5.29.35", false,
       FullAkiDer(std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(ski)),
                              ASN1_STRING_length(ski)),
                  "Full AKI Root", "00")});
  ExpectTrustedUnder(MustIssue(spec, nullptr, key));
}

TEST(DefaultPolicyAnchorsTest, RootWithNonCriticalBasicConstraints) {
  CertSpec spec = RsaRoot("Non-critical BC Root");
  spec.include_basic_constraints = false;
  spec.raw_extensions.push_back({"2.5.29.19", false, std::string("\x30\x03\x01\x01\xff", 5)});
  ExpectTrustedUnder(MustIssue(spec, nullptr));
}

TEST(DefaultPolicyAnchorsTest, RootWithoutSubjectKeyIdentifier) {
  CertSpec spec = RsaRoot("No SKI Root");
  spec.include_subject_key_id = false;
  spec.include_authority_key_id = false;
  ExpectTrustedUnder(MustIssue(spec, nullptr));
}

TEST(DefaultPolicyAnchorsTest, VersionOneRoot) {
  CertSpec spec = RsaRoot("Version 1 Root");
  spec.version = 1;
  spec.digest = "sha1";
  ExpectTrustedUnder(MustIssue(spec, nullptr));
}

// What the path relies on still counts: an intermediate signed with SHA-1 is
// judged by how it was issued, and a root's own key must be strong enough.
TEST(DefaultPolicyAnchorsTest, IntermediateSignedWithSha1IsStillRejected) {
  const TestCert root = MustIssue(RsaRoot("Root"), nullptr);
  absl::StatusOr<Chain> chain = IssueModernChain(root, kNow, kHost, "sha1");
  ASSERT_TRUE(chain.ok()) << chain.status();
  std::shared_ptr<const PolicySet> set = DefaultPolicyTrusting(root.pem());
  ASSERT_NE(set, nullptr);
  pki::VerifyResult result =
      VerifyServer(*set, chain->Uploads(), kHost, kNow);
  EXPECT_FALSE(result.trusted);
  EXPECT_EQ(result.status, v1::WEAK_ALGORITHM);
  EXPECT_TRUE(HasErrorAt(result, pki::kSignatureAlgorithmDisallowed, 1)) << Explain(result);
}

TEST(DefaultPolicyAnchorsTest, RootWith1024BitKeyIsStillRejected) {
  CertSpec spec = RsaRoot("Weak Key Root");
  spec.key_type = KeyType::kRsa1024;
  for (const pki::VerifyResult& result : VerifyUnder(MustIssue(spec, nullptr), kNow)) {
    EXPECT_FALSE(result.trusted);
    EXPECT_EQ(result.status, v1::WEAK_ALGORITHM);
    EXPECT_TRUE(HasErrorAt(result, pki::kPublicKeyDisallowed, 2)) << Explain(result);
  }
}

TEST(DefaultPolicyAnchorsTest, ExpiredRootIsStillRejected) {
  CertSpec spec = RsaRoot("Expired Root");
  spec.not_after = kNow - absl::Hours(24);
  for (const pki::VerifyResult& result : VerifyUnder(MustIssue(spec, nullptr), kNow)) {
    EXPECT_EQ(result.status, v1::EXPIRED) << Explain(result);
  }
}

// The policy option restores issuance checks on anchors (what x509-limbo
// expects): the SHA-1 root is then WEAK_ALGORITHM at the anchor.
TEST(DefaultPolicyAnchorsTest, StrictAnchorChecksJudgeHowTheRootWasIssued) {
  CertSpec spec = RsaRoot("SHA-1 Root");
  spec.digest = "sha1";
  const TestCert root = MustIssue(spec, nullptr);
  absl::StatusOr<Chain> chain = IssueModernChain(root, kNow, kHost);
  ASSERT_TRUE(chain.ok()) << chain.status();
  const std::string dir = std::getenv("TEST_TMPDIR");
  std::ofstream(dir + "/root.pem", std::ios::trunc) << root.pem();
  auto set = PolicySet::FromText(
      R"(version: "strict" default_policy: "strict"
         policies { name: "strict" trust_stores { pem_file: "root.pem" } profile: WEB_PKI
                    strict_anchor_checks: true })",
      "strict.textproto", dir, pki::SearchLimits());
  ASSERT_TRUE(set.ok()) << set.status();
  pki::VerifyResult result =
      VerifyServer(**set, chain->Uploads(), kHost, kNow);
  EXPECT_EQ(result.status, v1::WEAK_ALGORITHM);
  EXPECT_TRUE(HasErrorAt(result, pki::kSignatureAlgorithmDisallowed, 2)) << Explain(result);
}

// The same root reached through a cross-signed copy of itself among the
// uploads, and pinned: the path ends at the trust store's copy, judged as an
// anchor, and the anchor pin is satisfied.
TEST(DefaultPolicyAnchorsTest, CrossSignedCopyUploadedAndAnchorPinned) {
  CertSpec spec = RsaRoot("Legacy Root");
  spec.digest = "sha1";
  spec.include_authority_key_id = false;
  const TestCert root = MustIssue(spec, nullptr);
  const TestCert other_root = MustIssue(RsaRoot("Other Root"), nullptr);
  CertSpec cross_spec = IntermediateSpec("Legacy Root");
  cross_spec.not_before = spec.not_before;
  cross_spec.not_after = spec.not_after;
  const TestCert cross = MustIssue(cross_spec, &other_root, root.key);
  absl::StatusOr<Chain> chain = IssueModernChain(root, kNow, kHost);
  ASSERT_TRUE(chain.ok()) << chain.status();

  unsigned char digest[SHA256_DIGEST_LENGTH];
  const std::string spki = root.key.SpkiDer();
  SHA256(reinterpret_cast<const unsigned char*>(spki.data()), spki.size(), digest);
  const std::string pin =
      absl::Base64Escape(absl::string_view(reinterpret_cast<char*>(digest), sizeof(digest)));
  const std::string dir = std::getenv("TEST_TMPDIR");
  std::ofstream(dir + "/legacy-root.pem", std::ios::trunc) << root.pem();
  auto set = PolicySet::FromText(
      absl::StrCat(R"(version: "pinned" default_policy: "pinned"
         policies { name: "pinned" trust_stores { pem_file: "legacy-root.pem" } profile: WEB_PKI
                    pin_sets { name: "legacy" pin_sha256: ")",
                   pin, R"(" scope: ANCHOR } })"),
      "pinned.textproto", dir, pki::SearchLimits());
  ASSERT_TRUE(set.ok()) << set.status();
  std::vector<std::string> uploads = chain->Uploads();
  uploads.push_back(cross.der);
  uploads.push_back(other_root.der);
  pki::VerifyResult result = VerifyServer(**set, uploads, kHost, kNow);
  EXPECT_TRUE(result.trusted) << Explain(result);
  ASSERT_EQ(result.chain.size(), 3u);
  ASSERT_NE(result.chain[2].anchor, nullptr);
  EXPECT_EQ(result.chain[2].certificate->der(), root.der);
}

// --- Every root of the host's OS store, and of Mozilla's certdata.txt ---------
//
// For each root: a stand-in with the same names, extensions, serial, validity
// and signature algorithm but a fresh key of the same type and size, a modern
// chain under it, and the default policy's verdict. OS stores change, so this
// is how the service keeps up with them; a failure names the root.

struct OsStoreRoot {
  int index;
  std::string der;
  std::string subject;
};

std::string SubjectOf(X509* x) {
  char subject[512];
  X509_NAME_oneline(X509_get_subject_name(x), subject, sizeof(subject));
  return subject;
}

// The bundle the default policy loads: $SSL_CERT_FILE, else OpenSSL's default.
std::string OsStorePath() {
  const char* env = std::getenv("SSL_CERT_FILE");
  return env != nullptr ? env : X509_get_default_cert_file();
}

std::vector<OsStoreRoot> LoadOsStoreRoots() {
  std::vector<OsStoreRoot> roots;
  std::ifstream in(OsStorePath());
  std::stringstream text;
  text << in.rdbuf();
  const std::string pem = text.str();
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  while (X509* x = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
    unsigned char* der = nullptr;
    const int len = i2d_X509(x, &der);
    roots.push_back({static_cast<int>(roots.size()), std::string(reinterpret_cast<char*>(der), len),
                     SubjectOf(x)});
    OPENSSL_free(der);
    X509_free(x);
  }
  BIO_free(bio);
  return roots;
}

// A host name the root's own nameConstraints (if any) permit.
std::string HostFor(X509* root) {
  auto* nc = static_cast<NAME_CONSTRAINTS*>(
      X509_get_ext_d2i(root, NID_name_constraints, nullptr, nullptr));
  std::string host = kHost;
  if (nc != nullptr) {
    for (int i = 0; i < sk_GENERAL_SUBTREE_num(nc->permittedSubtrees); ++i) {
      const GENERAL_NAME* base = sk_GENERAL_SUBTREE_value(nc->permittedSubtrees, i)->base;
      if (base->type != GEN_DNS) continue;
      std::string subtree(reinterpret_cast<const char*>(ASN1_STRING_get0_data(base->d.dNSName)),
                          ASN1_STRING_length(base->d.dNSName));
      if (!subtree.empty() && subtree[0] == '.') subtree = subtree.substr(1);
      host = absl::StrCat("www.", subtree);
      break;
    }
    NAME_CONSTRAINTS_free(nc);
  }
  return host;
}

// A verification time inside the root's validity: kNow when it is, else the
// middle of the root's validity (an expired root still has an exact profile).
absl::Time TimeFor(X509* root) {
  auto to_time = [](const ASN1_TIME* t) {
    struct tm tm;
    ASN1_TIME_to_tm(t, &tm);
    return absl::FromUnixSeconds(timegm(&tm));
  };
  const absl::Time not_before = to_time(X509_get0_notBefore(root));
  const absl::Time not_after = to_time(X509_get0_notAfter(root));
  const absl::Duration margin = absl::Hours(24 * 90);
  if (kNow - margin > not_before && kNow + margin < not_after) return kNow;
  return not_before + (not_after - not_before) / 2;
}

void PrintTo(const OsStoreRoot& root, std::ostream* out) {
  *out << "#" << root.index << " " << root.subject;
}

class OsStoreRootTest : public ::testing::TestWithParam<OsStoreRoot> {};

TEST_P(OsStoreRootTest, ModernChainUnderAStandInIsTrusted) {
  const OsStoreRoot& root = GetParam();
  SCOPED_TRACE(absl::StrCat("OS store root #", root.index, ": ", root.subject));
  const unsigned char* p = reinterpret_cast<const unsigned char*>(root.der.data());
  std::unique_ptr<X509, decltype(&X509_free)> x(d2i_X509(nullptr, &p, root.der.size()),
                                                 X509_free);
  ASSERT_NE(x, nullptr);
  absl::StatusOr<KeyType> type = testing::KeyTypeOf(X509_get0_pubkey(x.get()));
  ASSERT_TRUE(type.ok()) << type.status();
  absl::StatusOr<TestCert> stand_in = testing::Resign(root.der, TestKey::Generate(*type));
  ASSERT_TRUE(stand_in.ok()) << stand_in.status();
  std::vector<pki::VerifyResult> results =
      VerifyUnder(*stand_in, TimeFor(x.get()), HostFor(x.get()));
  ASSERT_EQ(results.size(), 2u);
  EXPECT_TRUE(results[0].trusted) << "root not uploaded: " << Explain(results[0]);
  EXPECT_TRUE(results[1].trusted) << "root uploaded too: " << Explain(results[1]);
}

std::string RootTestName(const ::testing::TestParamInfo<OsStoreRoot>& info) {
  std::string name = absl::StrCat("root", info.param.index, "_");
  const size_t cn = info.param.subject.find("CN=");
  const std::string label =
      cn == std::string::npos ? info.param.subject : info.param.subject.substr(cn + 3);
  for (char c : label.substr(0, 48)) name += absl::ascii_isalnum(c) ? c : '_';
  return name;
}

INSTANTIATE_TEST_SUITE_P(OsStore, OsStoreRootTest, ::testing::ValuesIn(LoadOsStoreRoots()),
                         RootTestName);

// Says so loudly when the host has no OS store, instead of running nothing.
TEST(OsStoreRootsTest, HostHasAnOsStore) {
  EXPECT_FALSE(LoadOsStoreRoots().empty())
      << "no certificates in " << OsStorePath() << "; install ca-certificates";
}

// The same for every certificate of Mozilla's root store (certdata.txt in
// ../shared, or $CHAINVERIFY_CERTDATA): the roots a fleet may switch to.
std::vector<OsStoreRoot> LoadCertdataRoots() {
  std::vector<OsStoreRoot> roots;
  std::string why;
  const std::string path = testing::LocateMozillaCertdata(&why);
  if (path.empty()) return roots;
  absl::StatusOr<pki::LoadedTrustSource> loaded = pki::LoadCertdataFile({path});
  if (!loaded.ok()) return roots;
  for (const pki::SourceCertificate& entry : loaded->certificates) {
    roots.push_back({static_cast<int>(roots.size()), entry.certificate->der(),
                     SubjectOf(entry.certificate->x509())});
  }
  return roots;
}

INSTANTIATE_TEST_SUITE_P(MozillaCertdata, OsStoreRootTest,
                         ::testing::ValuesIn(LoadCertdataRoots()), RootTestName);

TEST(OsStoreRootsTest, MozillaCertdataIsThere) {
  std::string why;
  if (testing::LocateMozillaCertdata(&why).empty()) {
    GTEST_SKIP() << "Mozilla's certdata.txt not found (" << why
                 << "): its roots were not checked";
  }
  EXPECT_EQ(LoadCertdataRoots().size(), 167u) << "Mozilla's file of May 2026 holds 167";
}

}  // namespace
}  // namespace chainverify::policy
