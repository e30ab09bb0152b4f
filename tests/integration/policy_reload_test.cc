// Hot reload of the trust policy against the real chainverifyd: the file
// watcher, SIGHUP and the PolicyAdmin service.
#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "chainverify/v1/admin.grpc.pb.h"
#include "chainverify/v1/verifier.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/integration/server_process.h"
#include "tests/testutil/certdata_writer.h"
#include "tests/testutil/test_pki.h"

namespace chainverify {
namespace {

using ::chainverify::testing::CertdataEntry;
using ::chainverify::testing::CertdataFile;
using ::chainverify::testing::IntermediateSpec;
using ::chainverify::testing::LeafSpec;
using ::chainverify::testing::MustIssue;
using ::chainverify::testing::RootSpec;
using ::chainverify::testing::Runfile;
using ::chainverify::testing::ServerProcess;
using ::chainverify::testing::TestCert;

constexpr int64_t kR2NotAfter = 1890000000;  // Before R1's (1900000000).

// Renamed into place, as a ConfigMap update or an editor would: the watcher
// never sees half a file.
void WriteAtomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  std::ofstream(tmp, std::ios::binary) << text;
  ASSERT_EQ(std::rename(tmp.c_str(), path.c_str()), 0);
}

std::string PolicyText(const std::string& version, const std::vector<std::string>& pems) {
  std::string text = absl::StrCat("version: \"", version, "\"\n", "default_policy: \"fleet\"\n",
                                  "policies { name: \"fleet\" profile: RFC5280");
  for (const std::string& pem : pems) {
    absl::StrAppend(&text, " trust_stores { pem_file: \"", pem, "\" }");
  }
  absl::StrAppend(&text, " }\n");
  return text;
}

// Polls `done` until it holds or `timeout` passes.
bool Eventually(const std::function<bool()>& done, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (done()) return true;
    absl::SleepFor(absl::Milliseconds(50));
  }
  return done();
}

std::chrono::system_clock::time_point Deadline() {
  return std::chrono::system_clock::now() + std::chrono::seconds(10);
}

// A leaf under an intermediate under root R1; a second root R2 it does not
// chain to. The policy starts out trusting only R2.
class PolicyReloadTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    r1_ = new TestCert(MustIssue(RootSpec("Reload Root R1"), nullptr));
    testing::CertSpec r2_spec = RootSpec("Reload Root R2");
    r2_spec.not_after = absl::FromUnixSeconds(kR2NotAfter);
    r2_ = new TestCert(MustIssue(r2_spec, nullptr));
    ica_ = new TestCert(MustIssue(IntermediateSpec("Reload ICA"), r1_));
    leaf_ = new TestCert(MustIssue(LeafSpec("leaf", {"service.example.com"}), ica_));
  }

  void SetUp() override {
    dir_ = absl::StrCat(std::getenv("TEST_TMPDIR"), "/",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    ASSERT_EQ(mkdir(dir_.c_str(), 0755), 0);
    std::ofstream(dir_ + "/r1.pem") << r1_->pem();
    std::ofstream(dir_ + "/r2.pem") << r2_->pem();
    policy_path_ = dir_ + "/policy.textproto";
    WriteAtomically(policy_path_, PolicyText("only-r2", {"r2.pem"}));
  }

  // Starts the server on the test's policy file (empty `policy_file`: the
  // embedded default).
  void StartServer(const std::string& watch_interval, std::vector<std::string> extra = {},
                   bool with_policy_file = true) {
    std::vector<std::string> args = {"--audit_log=" + dir_ + "/audit.log",
                                     "--audit_fsync=false",
                                     "--policy_watch_interval=" + watch_interval};
    if (with_policy_file) args.push_back("--policy_file=" + policy_path_);
    args.insert(args.end(), extra.begin(), extra.end());
    auto server = ServerProcess::Start(Runfile("server/chainverifyd"), args);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::make_unique<ServerProcess>(*std::move(server));
    auto channel = grpc::CreateChannel(server_->target(), grpc::InsecureChannelCredentials());
    verifier_ = v1::ChainVerifier::NewStub(channel);
    admin_ = v1::PolicyAdmin::NewStub(channel);
  }

  v1::VerifyResponse Verify() {
    v1::VerifyRequest request;
    request.add_certificates(leaf_->der);
    request.add_certificates(ica_->der);
    request.set_peer_name("service.example.com");
    v1::VerifyResponse response;
    grpc::ClientContext context;
    context.set_deadline(Deadline());
    grpc::Status status = verifier_->Verify(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  grpc::Status GetPolicy(v1::GetPolicyResponse* response) {
    grpc::ClientContext context;
    context.set_deadline(Deadline());
    return admin_->GetPolicy(&context, v1::GetPolicyRequest(), response);
  }

  grpc::Status ReloadPolicy(v1::ReloadPolicyResponse* response) {
    grpc::ClientContext context;
    context.set_deadline(Deadline());
    return admin_->ReloadPolicy(&context, v1::ReloadPolicyRequest(), response);
  }

  static TestCert* r1_;
  static TestCert* r2_;
  static TestCert* ica_;
  static TestCert* leaf_;
  std::string dir_;
  std::string policy_path_;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<v1::ChainVerifier::Stub> verifier_;
  std::unique_ptr<v1::PolicyAdmin::Stub> admin_;
};

TestCert* PolicyReloadTest::r1_ = nullptr;
TestCert* PolicyReloadTest::r2_ = nullptr;
TestCert* PolicyReloadTest::ica_ = nullptr;
TestCert* PolicyReloadTest::leaf_ = nullptr;

TEST_F(PolicyReloadTest, WatcherReloadsAChangedFileAndKeepsServingOnABrokenOne) {
  StartServer("200ms");
  v1::VerifyResponse response = Verify();
  EXPECT_EQ(response.verdict(), v1::REJECTED);
  EXPECT_EQ(response.status(), v1::NO_PATH_TO_TRUSTED_ANCHOR);
  const std::string version0 = response.policy_version();

  WriteAtomically(policy_path_, PolicyText("r1-and-r2", {"r1.pem", "r2.pem"}));
  ASSERT_TRUE(Eventually([&] { return Verify().verdict() == v1::TRUSTED; }, absl::Seconds(5)));
  response = Verify();
  EXPECT_EQ(response.verdict(), v1::TRUSTED);
  const std::string version1 = response.policy_version();
  EXPECT_NE(version1, version0);

  WriteAtomically(policy_path_, "version: \"broken\" policies {");
  v1::GetPolicyResponse policy;
  ASSERT_TRUE(Eventually(
      [&] { return GetPolicy(&policy).ok() && !policy.last_reload_error().empty(); },
      absl::Seconds(5)));
  EXPECT_EQ(policy.version(), version1);
  EXPECT_EQ(policy.reload_failures(), 1u);
  EXPECT_TRUE(policy.has_last_reload_attempt());
  response = Verify();
  EXPECT_EQ(response.verdict(), v1::TRUSTED);
  EXPECT_EQ(response.policy_version(), version1);
}

TEST_F(PolicyReloadTest, PolicyAdminReloadsAndDescribes) {
  StartServer("0");  // Watching off: only the RPC reloads.
  v1::GetPolicyResponse policy;
  ASSERT_TRUE(GetPolicy(&policy).ok());
  const std::string version0 = policy.version();
  EXPECT_EQ(policy.default_policy(), "fleet");
  EXPECT_EQ(policy.policy_file(), policy_path_);
  EXPECT_TRUE(policy.last_reload_error().empty());
  EXPECT_EQ(policy.reload_failures(), 0u);
  EXPECT_TRUE(policy.has_loaded_at());
  EXPECT_FALSE(policy.has_last_reload_attempt());
  EXPECT_EQ(Verify().verdict(), v1::REJECTED);

  WriteAtomically(policy_path_, PolicyText("r1-and-r2", {"r1.pem", "r2.pem"}));
  v1::ReloadPolicyResponse reload;
  ASSERT_TRUE(ReloadPolicy(&reload).ok());
  EXPECT_TRUE(reload.reloaded());
  EXPECT_EQ(reload.previous_version(), version0);
  EXPECT_NE(reload.policy_version(), version0);
  EXPECT_TRUE(reload.error().empty());
  const std::string version1 = reload.policy_version();
  v1::VerifyResponse response = Verify();
  EXPECT_EQ(response.verdict(), v1::TRUSTED);
  EXPECT_EQ(response.policy_version(), version1);

  ASSERT_TRUE(GetPolicy(&policy).ok());
  EXPECT_EQ(policy.version(), version1);
  ASSERT_EQ(policy.policies_size(), 1);
  EXPECT_EQ(policy.policies(0).name(), "fleet");
  EXPECT_EQ(policy.policies(0).anchor_count(), 2);
  EXPECT_EQ(policy.policies(0).earliest_anchor_not_after().seconds(), kR2NotAfter);
  EXPECT_EQ(policy.policies(0).profile(), v1::RFC5280);
  EXPECT_TRUE(policy.has_last_reload_attempt());

  // A refused file: the RPC works, the old policy keeps serving.
  WriteAtomically(policy_path_, PolicyText("missing-anchor", {"r1.pem", "gone.pem"}));
  ASSERT_TRUE(ReloadPolicy(&reload).ok());
  EXPECT_FALSE(reload.reloaded());
  EXPECT_NE(reload.error().find("gone.pem"), std::string::npos) << reload.error();
  EXPECT_EQ(reload.policy_version(), version1);
  EXPECT_EQ(reload.previous_version(), version1);
  ASSERT_TRUE(GetPolicy(&policy).ok());
  EXPECT_EQ(policy.version(), version1);
  EXPECT_EQ(policy.last_reload_error(), reload.error());
  EXPECT_EQ(policy.reload_failures(), 1u);
  response = Verify();
  EXPECT_EQ(response.verdict(), v1::TRUSTED);
  EXPECT_EQ(response.policy_version(), version1);

  // A good file again: reloaded, and the error is cleared.
  WriteAtomically(policy_path_, PolicyText("only-r1", {"r1.pem"}));
  ASSERT_TRUE(ReloadPolicy(&reload).ok());
  EXPECT_TRUE(reload.reloaded()) << reload.error();
  EXPECT_EQ(reload.previous_version(), version1);
  EXPECT_NE(reload.policy_version(), version1);
  ASSERT_TRUE(GetPolicy(&policy).ok());
  EXPECT_TRUE(policy.last_reload_error().empty());
  EXPECT_EQ(policy.reload_failures(), 1u);
  EXPECT_EQ(policy.policies(0).anchor_count(), 1);
  EXPECT_EQ(Verify().policy_version(), reload.policy_version());
}

// A root program's certdata.txt as the trust store: verdicts and GetPolicy
// name it, a broken file is refused with its line while the old policy
// serves, and the program's distrust-after rejects leaves issued later.
TEST_F(PolicyReloadTest, RootProgramFileReloadsAndNamesItsDecisions) {
  CertdataEntry r1;
  r1.der = r1_->der;
  r1.label = "Reload Root R1";
  const std::string certdata = dir_ + "/certdata.txt";
  WriteAtomically(certdata, CertdataFile({r1}));
  WriteAtomically(policy_path_, "version: \"program\" default_policy: \"fleet\" policies { "
                                "name: \"fleet\" profile: RFC5280 trust_stores { "
                                "mozilla_certdata: \"certdata.txt\" } }\n");
  StartServer("0");
  v1::VerifyResponse response = Verify();
  ASSERT_EQ(response.verdict(), v1::TRUSTED) << response.DebugString();
  const std::string version0 = response.policy_version();
  const v1::CertificateDetails& anchor = response.verified_chain(2);
  EXPECT_EQ(anchor.source(), v1::TRUST_STORE);
  ASSERT_EQ(anchor.trust_sources_size(), 1);
  EXPECT_EQ(anchor.trust_sources(0).kind(), v1::TrustSource::MOZILLA_CERTDATA);
  EXPECT_EQ(anchor.trust_sources(0).path(), certdata);
  EXPECT_EQ(anchor.trust_sources(0).label(), "Reload Root R1");
  EXPECT_EQ(response.verified_chain(1).trust_sources_size(), 0);  // Uploaded.

  v1::GetPolicyResponse policy;
  ASSERT_TRUE(GetPolicy(&policy).ok());
  ASSERT_EQ(policy.policies(0).trust_sources_size(), 1);
  const v1::TrustSourceSummary& source = policy.policies(0).trust_sources(0);
  EXPECT_EQ(source.source().kind(), v1::TrustSource::MOZILLA_CERTDATA);
  EXPECT_EQ(source.source().path(), certdata);
  EXPECT_EQ(source.certificates(), 1);
  EXPECT_EQ(source.server_auth_anchors(), 1);
  EXPECT_EQ(source.distrust_after(), 0);

  // Truncated in the middle of a value (at a line end): refused, naming the line.
  const std::string good = CertdataFile({r1});
  const size_t cut = good.find('\n', good.find("CKA_VALUE MULTILINE_OCTAL\n") + 100) + 1;
  WriteAtomically(certdata, good.substr(0, cut));
  v1::ReloadPolicyResponse reload;
  ASSERT_TRUE(ReloadPolicy(&reload).ok());
  EXPECT_FALSE(reload.reloaded());
  EXPECT_NE(reload.error().find(certdata + ":"), std::string::npos) << reload.error();
  EXPECT_NE(reload.error().find("the file is truncated"), std::string::npos) << reload.error();
  response = Verify();
  EXPECT_EQ(response.verdict(), v1::TRUSTED);
  EXPECT_EQ(response.policy_version(), version0);

  // The program distrusts what R1's hierarchy issued after 2023-11-01; the
  // leaf dates from 2023-11-14.
  r1.server_distrust_after = "231101000000Z";
  WriteAtomically(certdata, CertdataFile({r1}));
  ASSERT_TRUE(ReloadPolicy(&reload).ok());
  ASSERT_TRUE(reload.reloaded()) << reload.error();
  EXPECT_NE(reload.policy_version(), version0);
  response = Verify();
  EXPECT_EQ(response.verdict(), v1::REJECTED);
  EXPECT_EQ(response.status(), v1::POLICY_DENIED);
  ASSERT_GE(response.errors_size(), 1);
  EXPECT_EQ(response.errors(0).id(), "anchor.distrust_after");
  EXPECT_EQ(response.errors(0).chain_index(), 2);
  EXPECT_NE(response.errors(0).diagnostic().find("\"Reload Root R1\""), std::string::npos)
      << response.errors(0).diagnostic();
  ASSERT_EQ(response.best_attempted_chain_size(), 3);
  EXPECT_EQ(response.best_attempted_chain(2).trust_sources(0).kind(),
            v1::TrustSource::MOZILLA_CERTDATA);
}

TEST_F(PolicyReloadTest, SighupReloads) {
  StartServer("0");  // Watching off, so the change below is SIGHUP's doing.
  v1::VerifyResponse response = Verify();
  ASSERT_EQ(response.verdict(), v1::REJECTED);
  const std::string version0 = response.policy_version();

  WriteAtomically(policy_path_, PolicyText("r1", {"r1.pem"}));
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(Verify().verdict(), v1::REJECTED);  // Not reloaded by itself.

  ASSERT_EQ(kill(server_->pid(), SIGHUP), 0);
  ASSERT_TRUE(Eventually([&] { return Verify().verdict() == v1::TRUSTED; }, absl::Seconds(5)));
  const std::string version1 = Verify().policy_version();
  EXPECT_NE(version1, version0);

  // A broken file on SIGHUP: recorded, the server keeps serving the old one.
  WriteAtomically(policy_path_, "not a policy");
  ASSERT_EQ(kill(server_->pid(), SIGHUP), 0);
  v1::GetPolicyResponse policy;
  ASSERT_TRUE(Eventually(
      [&] { return GetPolicy(&policy).ok() && policy.reload_failures() == 1; },
      absl::Seconds(5)));
  EXPECT_FALSE(policy.last_reload_error().empty());
  response = Verify();
  EXPECT_EQ(response.verdict(), v1::TRUSTED);
  EXPECT_EQ(response.policy_version(), version1);
  // Still exits cleanly on SIGTERM. The channel is closed first: the server's
  // shutdown otherwise waits out its 5 s grace period for the idle connection.
  verifier_.reset();
  admin_.reset();
  EXPECT_EQ(server_->Stop(), 0);
}

TEST_F(PolicyReloadTest, EmbeddedDefaultHasNothingToReload) {
  StartServer("200ms", {}, /*with_policy_file=*/false);
  v1::ReloadPolicyResponse reload;
  grpc::Status status = ReloadPolicy(&reload);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION)
      << status.error_message();
  v1::GetPolicyResponse policy;
  ASSERT_TRUE(GetPolicy(&policy).ok());
  EXPECT_TRUE(policy.policy_file().empty());
  EXPECT_GT(policy.policies_size(), 0);

  // SIGHUP is logged and ignored; the server keeps running.
  ASSERT_EQ(kill(server_->pid(), SIGHUP), 0);
  absl::SleepFor(absl::Milliseconds(300));
  ASSERT_TRUE(GetPolicy(&policy).ok());
  EXPECT_EQ(policy.reload_failures(), 0u);
}

TEST_F(PolicyReloadTest, PolicyAdminCanBeTurnedOff) {
  StartServer("200ms", {"--enable_policy_admin=false"});
  v1::GetPolicyResponse policy;
  EXPECT_EQ(GetPolicy(&policy).error_code(), grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_EQ(Verify().verdict(), v1::REJECTED);  // The verifier still serves.
}

}  // namespace
}  // namespace chainverify
