#include "server/policy/policy_store.h"

#include <cstdlib>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/testutil/test_pki.h"

namespace chainverify::policy {
namespace {

using ::chainverify::testing::MustIssue;
using ::chainverify::testing::RootSpec;

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

}  // namespace
}  // namespace chainverify::policy
