// The authorization section as part of a loaded bundle, and AuthorizeVerify:
// the check the Verify handlers run, with the audit record of a refusal.
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "server/audit/audit_log.h"
#include "server/pki/openssl_util.h"
#include "server/policy/policy_store.h"
#include "server/service/verifier_service.h"
#include "tests/testutil/test_pki.h"

namespace chainverify::service {
namespace {

using ::chainverify::testing::MustIssue;
using ::chainverify::testing::RootSpec;

std::string TmpDir() { return std::getenv("TEST_TMPDIR"); }

absl::StatusOr<std::shared_ptr<const policy::PolicySet>> Load(const std::string& authorization) {
  static const bool written = [] {
    std::ofstream(TmpDir() + "/root.pem") << MustIssue(RootSpec("Authz Root"), nullptr).pem();
    return true;
  }();
  (void)written;
  return policy::PolicySet::FromText(
      absl::StrCat(R"(version: "v1" default_policy: "default"
          policies { name: "default" trust_stores { pem_file: "root.pem" } }
          policies { name: "billing" trust_stores { pem_file: "root.pem" } })",
                   authorization),
      "p.textproto", TmpDir(), pki::SearchLimits());
}

Caller Spiffe(const std::string& uri) {
  Caller caller;
  caller.uris = {uri};
  return caller;
}

constexpr char kSection[] = R"(
    authorization {
      grants { identities: "spiffe://fleet/ns/billing/*" policies: "billing" }
      grants { identities: "*" policies: "default" }
      admin_identities: "spiffe://fleet/ns/ops/sa/admin"
    })";

TEST(PolicySetAuthorizationTest, AbsentSectionIsNull) {
  auto set = Load("");
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ((*set)->authorization(), nullptr);
}

TEST(PolicySetAuthorizationTest, SectionCompilesAndChangesTheVersion) {
  auto without = Load("");
  auto with = Load(kSection);
  ASSERT_TRUE(with.ok()) << with.status();
  ASSERT_NE((*with)->authorization(), nullptr);
  EXPECT_TRUE((*with)->authorization()->IsAdmin(Spiffe("spiffe://fleet/ns/ops/sa/admin")));
  // Grants are part of what the version names.
  EXPECT_NE((*with)->version(), (*without)->version());
}

TEST(PolicySetAuthorizationTest, BadSectionFailsTheLoad) {
  auto set = Load(R"(authorization { grants { identities: "*" policies: "biling" } })");
  ASSERT_FALSE(set.ok());
  EXPECT_TRUE(absl::StrContains(set.status().message(), "\"biling\" is not defined"))
      << set.status();
}

TEST(AuthorizeVerifyTest, WithoutSectionEveryoneMayUseEverything) {
  auto set = Load("");
  ASSERT_TRUE(set.ok());
  v1::VerifyRequest request;
  request.set_policy("billing");
  EXPECT_TRUE(AuthorizeVerify(request, Caller(), **set, nullptr).ok());
}

class AuthorizeVerifyAuditTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = absl::StrCat(TmpDir(), "/",
                         ::testing::UnitTest::GetInstance()->current_test_info()->name(),
                         "/audit.log");
    audit::AuditLogOptions options;
    options.path = path_;
    auto log = audit::AuditLog::Open(options);
    ASSERT_TRUE(log.ok()) << log.status();
    log_ = *std::move(log);
    auto set = Load(kSection);
    ASSERT_TRUE(set.ok()) << set.status();
    set_ = *std::move(set);
  }

  std::vector<v1::AuditRecord> Records() {
    std::ifstream in(path_);
    std::vector<v1::AuditRecord> records;
    std::string line;
    while (std::getline(in, line)) {
      v1::AuditRecord record;
      EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(line, &record).ok()) << line;
      records.push_back(record);
    }
    return records;
  }

  std::string path_;
  std::unique_ptr<audit::AuditLog> log_;
  std::shared_ptr<const policy::PolicySet> set_;
};

TEST_F(AuthorizeVerifyAuditTest, GrantedCallersPassAndLeaveNoRecord) {
  v1::VerifyRequest request;
  request.set_policy("billing");
  EXPECT_TRUE(
      AuthorizeVerify(request, Spiffe("spiffe://fleet/ns/billing/sa/api"), *set_, log_.get()).ok());
  request.clear_policy();  // The default policy, granted to "*".
  EXPECT_TRUE(
      AuthorizeVerify(request, Spiffe("spiffe://fleet/ns/web/sa/x"), *set_, log_.get()).ok());
  EXPECT_EQ(log_->records_written(), 0u);
}

TEST_F(AuthorizeVerifyAuditTest, RefusalIsPermissionDeniedAndAudited) {
  v1::VerifyRequest request;
  request.set_policy("billing");
  request.set_request_id("req-7");
  request.set_peer_name("db.billing.internal");
  request.add_certificates("not even DER");
  (*request.mutable_labels())["app"] = "web";
  absl::Status status =
      AuthorizeVerify(request, Spiffe("spiffe://fleet/ns/web/sa/x"), *set_, log_.get());
  EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(absl::StrContains(status.message(), "spiffe://fleet/ns/web/sa/x")) << status;

  std::vector<v1::AuditRecord> records = Records();
  ASSERT_EQ(records.size(), 1u);
  const v1::AuditRecord& r = records[0];
  EXPECT_EQ(r.caller(), "spiffe://fleet/ns/web/sa/x");
  EXPECT_EQ(r.policy_name(), "billing");
  EXPECT_EQ(r.policy_version(), set_->version());
  EXPECT_EQ(r.request_id(), "req-7");
  EXPECT_EQ(r.peer_name(), "db.billing.internal");
  EXPECT_EQ(r.labels().at("app"), "web");
  ASSERT_EQ(r.uploaded_certificate_sha256_size(), 1);
  EXPECT_EQ(r.uploaded_certificate_sha256(0), pki::HexEncode(pki::Sha256("not even DER")));
  EXPECT_FALSE(r.denied_reason().empty());
  EXPECT_FALSE(r.decision_id().empty());
  EXPECT_EQ(r.verdict(), v1::VERDICT_UNSPECIFIED);
  EXPECT_TRUE(r.chain_sha256().empty());
}

TEST_F(AuthorizeVerifyAuditTest, UnknownPolicyIsRefusedLikeAnUngrantedOne) {
  v1::VerifyRequest request;
  request.set_policy("secret-policy");
  absl::Status status =
      AuthorizeVerify(request, Spiffe("spiffe://fleet/ns/web/sa/x"), *set_, log_.get());
  EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(log_->records_written(), 1u);
}

TEST_F(AuthorizeVerifyAuditTest, UnauthenticatedCallerMatchesNoGrant) {
  v1::VerifyRequest request;
  EXPECT_EQ(AuthorizeVerify(request, Caller(), *set_, log_.get()).code(),
            absl::StatusCode::kPermissionDenied);
  ASSERT_EQ(Records().size(), 1u);
  EXPECT_EQ(Records()[0].caller(), "unauthenticated");
  EXPECT_EQ(Records()[0].policy_name(), "default");
}

TEST_F(AuthorizeVerifyAuditTest, OversizedRefusedRequestIsRecordedBounded) {
  v1::VerifyRequest request;
  request.set_request_id(std::string(1000, 'r'));
  for (int i = 0; i < 100; ++i) request.add_certificates(absl::StrCat("cert ", i));
  // A two-byte character straddling the cut is dropped whole.
  request.set_peer_name(std::string(252, 'p') + "\xc3\xa9");
  EXPECT_EQ(AuthorizeVerify(request, Caller(), *set_, log_.get()).code(),
            absl::StatusCode::kPermissionDenied);
  std::vector<v1::AuditRecord> records = Records();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].request_id().size(), 253u);
  EXPECT_EQ(records[0].uploaded_certificate_sha256_size(), 32);
  EXPECT_EQ(records[0].peer_name(), std::string(252, 'p'));
}

}  // namespace
}  // namespace chainverify::service
