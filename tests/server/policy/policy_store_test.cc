#include "server/policy/policy_store.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "tests/testutil/certdata_writer.h"
#include "tests/testutil/test_pki.h"

namespace chainverify::policy {
namespace {

using ::chainverify::testing::IntermediateSpec;
using ::chainverify::testing::MustIssue;
using ::chainverify::testing::RootSpec;
using ::chainverify::testing::TestCert;

std::string WriteRoot() {
  static const std::string path = [] {
    std::string p = absl::StrCat(std::getenv("TEST_TMPDIR"), "/root.pem");
    std::ofstream(p) << MustIssue(RootSpec("Policy Test Root"), nullptr).pem();
    return p;
  }();
  return path;
}

absl::StatusOr<std::shared_ptr<const PolicySet>> Load(const std::string& text,
                                                      const std::string& hint = "p.textproto") {
  return PolicySet::FromText(text, hint, std::getenv("TEST_TMPDIR"), pki::SearchLimits());
}

TEST(PolicyStoreTest, LoadsNamedPoliciesWithDefault) {
  WriteRoot();
  auto set = Load(R"(version: "v9" default_policy: "a"
      policies { name: "a" trust_stores { pem_file: "root.pem" } }
      policies { name: "b" trust_stores { pem_file: "root.pem" } max_chain_length: 4
                 allow_request_verification_time: true profile: RFC5280 })");
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_TRUE(absl::StartsWith((*set)->version(), "v9+")) << (*set)->version();
  ASSERT_NE((*set)->Find(""), nullptr);
  EXPECT_EQ((*set)->Find("")->name, "a");
  EXPECT_EQ((*set)->Find("a")->verify.validation.max_chain_length, 10);  // 0 means 10.
  EXPECT_EQ((*set)->Find("b")->verify.validation.max_chain_length, 4);
  EXPECT_TRUE((*set)->Find("b")->allow_request_verification_time);
  EXPECT_EQ((*set)->Find("b")->verify.trust_store->size(), 1u);
  EXPECT_EQ((*set)->Find("nope"), nullptr);
}

// Intermediate stores load like trust stores, count in the version, and are
// refused with the field named when a source is bad.
TEST(PolicyStoreTest, IntermediateStoresAreLoadedAndVersioned) {
  WriteRoot();
  const std::string dir = std::getenv("TEST_TMPDIR");
  const TestCert root = MustIssue(RootSpec("Store Root"), nullptr);
  const std::string policy = R"(version: "s1" default_policy: "a"
      policies { name: "a" trust_stores { pem_file: "root.pem" }
                 intermediate_stores { pem_file: "intermediates.pem" }
                 aia_fetching { enabled: true max_fetches_per_request: 2 } })";
  std::ofstream(dir + "/intermediates.pem", std::ios::trunc)
      << MustIssue(IntermediateSpec("CA 1"), &root).pem()
      << MustIssue(IntermediateSpec("CA 2"), &root).pem();
  auto first = Load(policy);
  ASSERT_TRUE(first.ok()) << first.status();
  const CompiledPolicy* a = (*first)->Find("a");
  ASSERT_NE(a->verify.issuers.intermediates, nullptr);
  EXPECT_EQ(a->verify.issuers.intermediates->size(), 2u);
  EXPECT_NE(a->verify.issuers.fetcher, nullptr);
  EXPECT_EQ(a->verify.issuers.max_fetches, 2);
  EXPECT_EQ(a->verify.issuers.max_fetched_per_path, 3);  // 0 means 3.

  std::ofstream(dir + "/intermediates.pem", std::ios::trunc)
      << MustIssue(IntermediateSpec("CA 3"), &root).pem();
  auto second = Load(policy);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_NE((*first)->version(), (*second)->version()) << "the store is part of the version";

  std::ofstream(dir + "/intermediates.pem", std::ios::trunc) << "-----BEGIN CERTIFICATE-----\nAA==\n"
                                                              << "-----END CERTIFICATE-----\n";
  auto bad = Load(policy);
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(absl::StrContains(bad.status().message(), "intermediate_stores")) << bad.status();
}

TEST(PolicyStoreTest, LoadsJson) {
  WriteRoot();
  auto set = Load(R"({"version": "j1", "default_policy": "x",
                      "policies": [{"name": "x", "trust_stores": [{"pem_file": "root.pem"}]}]})",
                  "p.json");
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_TRUE(absl::StartsWith((*set)->Find("")->version, "j1+"));
}

TEST(PolicyStoreTest, RejectsBadPolicies) {
  WriteRoot();
  struct Case {
    const char* name;
    const char* text;
  } cases[] = {
      {"no version", R"(default_policy: "a" policies { name: "a" trust_stores { pem_file: "root.pem" } })"},
      {"unknown default", R"(version: "1" default_policy: "z" policies { name: "a" trust_stores { pem_file: "root.pem" } })"},
      {"no anchors", R"(version: "1" default_policy: "a" policies { name: "a" })"},
      {"bad name", R"(version: "1" default_policy: "A B" policies { name: "A B" trust_stores { pem_file: "root.pem" } })"},
      {"duplicate", R"(version: "1" default_policy: "a" policies { name: "a" trust_stores { pem_file: "root.pem" } } policies { name: "a" trust_stores { pem_file: "root.pem" } })"},
      {"missing file", R"(version: "1" default_policy: "a" policies { name: "a" trust_stores { pem_file: "nope.pem" } })"},
      {"too long", R"(version: "1" default_policy: "a" policies { name: "a" trust_stores { pem_file: "root.pem" } max_chain_length: 33 })"},
      {"not text format", "this is not a policy"},
  };
  for (const Case& c : cases) {
    EXPECT_FALSE(Load(c.text).ok()) << c.name;
  }
}

TEST(PolicyStoreTest, AutoProfileIsWebPkiOnlyForServerAuthAgainstSystemRoots) {
  CompiledPolicy p;
  p.trusts_system_store = true;
  EXPECT_EQ(p.ProfileFor(pki::KeyPurpose::kServerAuth), pki::Profile::kWebPki);
  EXPECT_EQ(p.ProfileFor(pki::KeyPurpose::kClientAuth), pki::Profile::kRfc5280);
  p.trusts_system_store = false;
  EXPECT_EQ(p.ProfileFor(pki::KeyPurpose::kServerAuth), pki::Profile::kRfc5280);
  p.profile = v1::WEB_PKI;
  EXPECT_EQ(p.ProfileFor(pki::KeyPurpose::kClientAuth), pki::Profile::kWebPki);
}

// The embedded default is deploy/policy/default.textproto: the OS store.
TEST(PolicyStoreTest, EmbeddedDefaultTrustsTheSystemStore) {
  auto set = PolicySet::Embedded(pki::SearchLimits());
  ASSERT_TRUE(set.ok()) << set.status();
  const CompiledPolicy* p = (*set)->Find("");
  ASSERT_NE(p, nullptr);
  EXPECT_TRUE(p->trusts_system_store);
  EXPECT_GT(p->verify.trust_store->size(), 10u);
}

// deploy/policy/example.textproto loads with the real loader, given the
// fleet root file it names.
TEST(PolicyStoreTest, ExamplePolicyLoads) {
  std::ifstream in(absl::StrCat(std::getenv("TEST_SRCDIR"), "/", std::getenv("TEST_WORKSPACE"),
                                "/deploy/policy/example.textproto"));
  ASSERT_TRUE(in) << "deploy/policy/example.textproto not in runfiles";
  std::stringstream text;
  text << in.rdbuf();
  const TestCert fleet_root = MustIssue(RootSpec("Fleet Root"), nullptr);
  std::ofstream(absl::StrCat(std::getenv("TEST_TMPDIR"), "/fleet-root.pem")) << fleet_root.pem();
  std::ofstream(absl::StrCat(std::getenv("TEST_TMPDIR"), "/fleet-intermediates.pem"))
      << MustIssue(IntermediateSpec("Fleet Issuing CA"), &fleet_root).pem();
  auto set = Load(text.str());
  ASSERT_TRUE(set.ok()) << set.status();
  const CompiledPolicy* internal = (*set)->Find("internal");
  ASSERT_NE(internal, nullptr);
  ASSERT_NE(internal->verify.issuers.intermediates, nullptr);
  EXPECT_EQ(internal->verify.issuers.intermediates->size(), 1u);
  EXPECT_NE((*set)->Find("public")->verify.issuers.fetcher, nullptr);
  EXPECT_EQ(internal->verify.issuers.fetcher, nullptr);
  EXPECT_TRUE(internal->verify.rules.revocation_hard_fail);
  EXPECT_TRUE(internal->verify.rules.fetch_ocsp);
  ASSERT_EQ(internal->verify.rules.pins.size(), 1u);
  EXPECT_TRUE(internal->verify.rules.pins[0].report_only);
  const CompiledPolicy* pub = (*set)->Find("public");
  ASSERT_NE(pub, nullptr);
  EXPECT_NE(pub->verify.rules.denylist, nullptr);
}

TEST(PolicyStoreTest, UnmatchedAnchorConstraintIsAWarning) {
  WriteRoot();
  auto set = Load(R"(version: "w" default_policy: "a"
      policies { name: "a" trust_stores { pem_file: "root.pem" }
                 removed_anchors: "00"
                 anchor_constraints { certificate_sha256: "ff" distrust_issued_after { seconds: 1 } } })");
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ((*set)->warnings().size(), 2u);
  EXPECT_EQ((*set)->Find("a")->verify.trust_store->size(), 1u);
}

TEST(PolicyStoreTest, RejectsBadRules) {
  WriteRoot();
  const char* bad[] = {
      R"(version: "1" default_policy: "a" policies { name: "a" trust_stores { pem_file: "root.pem" } pin_sets { name: "p" } })",
      R"(version: "1" default_policy: "a" policies { name: "a" trust_stores { pem_file: "root.pem" } pin_sets { name: "p" pin_sha256: "nope" } })",
      R"(version: "1" default_policy: "a" policies { name: "a" trust_stores { pem_file: "root.pem" } revocation { denylist { blocked_spki_sha256: "short" } } })",
      R"(version: "1" default_policy: "a" policies { name: "a" trust_stores { pem_file: "root.pem" } revocation { crl_files: "missing.crl" } })",
      R"(version: "1" default_policy: "a" policies { name: "a" trust_stores { pem_file: "root.pem" } algorithms { allowed_curves: "no-such-curve" } })",
      R"(version: "1" default_policy: "a" policies { name: "a" trust_stores { pem_file: "root.pem" } anchor_constraints { distrust_issued_after { seconds: 1 } } })",
  };
  for (const char* text : bad) EXPECT_FALSE(Load(text).ok()) << text;
}

namespace certdata {

using ::chainverify::testing::CertdataEntry;
using ::chainverify::testing::CertdataFile;
using ::chainverify::testing::TestCert;

std::string Write(const std::string& name, const std::string& text) {
  std::ofstream(absl::StrCat(std::getenv("TEST_TMPDIR"), "/", name), std::ios::binary) << text;
  return name;
}

CertdataEntry Entry(const TestCert& cert, const std::string& label) {
  CertdataEntry e;
  e.der = cert.der;
  e.label = label;
  return e;
}

std::string Policy(const std::string& stores) {
  return absl::StrCat(R"(version: "c1" default_policy: "p" policies { name: "p" )", stores, " }");
}

TEST(PolicyStoreCertdataTest, RootProgramSource) {
  const TestCert a = MustIssue(RootSpec("Program A"), nullptr);
  const TestCert b = MustIssue(RootSpec("Program B"), nullptr);
  CertdataEntry email_only = Entry(b, "Program B");
  email_only.server_auth = "CKT_NSS_MUST_VERIFY_TRUST";
  Write("program.txt", CertdataFile({Entry(a, "Program A"), email_only}));
  auto set = Load(Policy(R"(trust_stores { mozilla_certdata: "program.txt" })"));
  ASSERT_TRUE(set.ok()) << set.status();
  const CompiledPolicy* p = (*set)->Find("");
  EXPECT_EQ(p->verify.trust_store->size(), 2u);
  EXPECT_EQ(p->verify.trust_store->anchor_count(), 1u);
  // Public roots: PROFILE_AUTO is Web PKI for SERVER_AUTH, as for the OS store.
  EXPECT_EQ(p->ProfileFor(pki::KeyPurpose::kServerAuth), pki::Profile::kWebPki);
  EXPECT_TRUE((*set)->warnings().empty());

  // The root program changes its mind about the same certificates: a new version.
  CertdataEntry a_dated = Entry(a, "Program A");
  a_dated.server_distrust_after = "250101000000Z";
  Write("program.txt", CertdataFile({a_dated, email_only}));
  auto changed = Load(Policy(R"(trust_stores { mozilla_certdata: "program.txt" })"));
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_NE((*changed)->version(), (*set)->version());

  // Nothing trusted for any usage: no anchors.
  Write("email-only.txt", CertdataFile({email_only}));
  auto none = Load(Policy(R"(trust_stores { mozilla_certdata: "email-only.txt" })"));
  ASSERT_FALSE(none.ok());
  EXPECT_TRUE(absl::StrContains(none.status().message(), "has no trust anchors"));
}

TEST(PolicyStoreCertdataTest, MalformedFileFailsTheLoadWithItsLine) {
  Write("broken.txt", "BEGINDATA\nCKA_CLASS CK_OBJECT_CLASS CKO_NSS_TRUST\n"
                      "CKA_TRUST_SERVER_AUTH CK_TRUST CKT_NSS_SOMETIMES\n");
  auto set = Load(Policy(R"(trust_stores { mozilla_certdata: "broken.txt" })"));
  ASSERT_FALSE(set.ok());
  EXPECT_TRUE(absl::StrContains(set.status().message(), "policy \"p\": "));
  EXPECT_TRUE(absl::StrContains(set.status().message(), "/broken.txt:3: CKA_TRUST_SERVER_AUTH: "
                                                        "unknown trust value"))
      << set.status();
  WriteRoot();
  auto client_auth_on_pem = Load(
      Policy(R"(trust_stores { pem_file: "root.pem" certdata_client_auth: NO_CLIENT_AUTH })"));
  ASSERT_FALSE(client_auth_on_pem.ok());
  EXPECT_TRUE(absl::StrContains(client_auth_on_pem.status().message(),
                                "certdata_client_auth is only for mozilla_certdata"));
}

TEST(PolicyStoreCertdataTest, MixedSourcesWarnWhereOthersTrustMore) {
  const TestCert absent = MustIssue(RootSpec("Only In Bundle"), nullptr);
  const TestCert email = MustIssue(RootSpec("Email Root"), nullptr);
  const TestCert dated = MustIssue(RootSpec("Dated Root"), nullptr);
  const TestCert distrusted = MustIssue(RootSpec("Distrusted Root"), nullptr);
  CertdataEntry email_entry = Entry(email, "Email Root");
  email_entry.server_auth = "CKT_NSS_MUST_VERIFY_TRUST";
  CertdataEntry dated_entry = Entry(dated, "Dated Root");
  dated_entry.server_distrust_after = "241130235959Z";
  CertdataEntry distrusted_entry = Entry(distrusted, "Distrusted Root");
  distrusted_entry.server_auth = "CKT_NSS_NOT_TRUSTED";
  Write("mixed.txt", CertdataFile({email_entry, dated_entry, distrusted_entry}));
  Write("bundle.pem", absent.pem() + email.pem() + dated.pem() + distrusted.pem());
  auto set = Load(Policy(R"(trust_stores { pem_file: "bundle.pem" }
                            trust_stores { mozilla_certdata: "mixed.txt" })"));
  ASSERT_TRUE(set.ok()) << set.status();
  const std::vector<std::string>& w = (*set)->warnings();
  ASSERT_EQ(w.size(), 3u) << absl::StrJoin(w, "\n");
  EXPECT_TRUE(absl::StrContains(w[0], "1 server-auth anchors from its other trust sources are not "
                                      "in the root program's file"));
  EXPECT_TRUE(absl::StrContains(w[0], "CN=Only In Bundle"));
  EXPECT_TRUE(absl::StrContains(w[1], "are not trusted for server authentication"));
  EXPECT_TRUE(absl::StrContains(w[1], "\"Email Root\""));
  EXPECT_TRUE(absl::StrContains(w[2], "distrust-after date that another source overrides"));
  EXPECT_TRUE(absl::StrContains(w[2], "\"Dated Root\""));
  // The explicitly distrusted root wins over the bundle: no warning, no anchor.
  EXPECT_EQ((*set)->Find("")->verify.trust_store->anchor_count(), 3u);
}

}  // namespace certdata

}  // namespace
}  // namespace chainverify::policy
