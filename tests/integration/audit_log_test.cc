// The audit log end to end: the real chainverifyd under concurrent load,
// SIGTERM and a failing disk, checked with the real `chainverify audit` CLI.
#include <grpcpp/grpcpp.h>
#include <sys/stat.h>

#include <atomic>
#include <fstream>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "chainverify/v1/verifier.grpc.pb.h"
#include "gtest/gtest.h"
#include "server/pki/openssl_util.h"
#include "tests/integration/server_process.h"
#include "tests/testutil/test_pki.h"

namespace chainverify {
namespace {

using ::chainverify::testing::AuditLogFiles;
using ::chainverify::testing::IntermediateSpec;
using ::chainverify::testing::LeafSpec;
using ::chainverify::testing::MustIssue;
using ::chainverify::testing::ReadLines;
using ::chainverify::testing::RootSpec;
using ::chainverify::testing::RunCommand;
using ::chainverify::testing::Runfile;
using ::chainverify::testing::ServerProcess;
using ::chainverify::testing::TestCert;

constexpr int kThreads = 8;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs `chainverify audit ARGS...`; returns the exit code.
int RunAuditCli(std::vector<std::string> args, std::string* out) {
  args.insert(args.begin(), {Runfile("client/chainverify"), "audit"});
  out->clear();
  return RunCommand(args, out);
}

// L under A under the trusted root C; the seed example.
class AuditLogIntegrationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = new TestCert(MustIssue(RootSpec("Audit Root C"), nullptr));
    a_ = new TestCert(MustIssue(IntermediateSpec("Audit Intermediate A"), root_));
    leaf_ = new TestCert(MustIssue(LeafSpec("L", {"service.example.com"}), a_));
    std::ofstream(testing::TestTmpPath("root.pem")) << root_->pem();
    std::ofstream(testing::TestTmpPath("policy.textproto"))
        << "version: \"audit-1\"\n"
           "default_policy: \"fleet\"\n"
           "policies { name: \"fleet\" trust_stores { pem_file: \"root.pem\" } }\n";
  }

  static void TearDownTestSuite() {
    delete leaf_;
    delete a_;
    delete root_;
  }

  void SetUp() override {
    dir_ = testing::TestTmpPath(::testing::UnitTest::GetInstance()->current_test_info()->name());
    mkdir(dir_.c_str(), 0755);
    audit_path_ = dir_ + "/audit.log";
  }

  // Starts the server with the test's audit log and `extra` flags.
  void StartServer(std::vector<std::string> extra, const std::string& audit_log = "") {
    std::vector<std::string> args = {
        "--policy_file=" + testing::TestTmpPath("policy.textproto"),
        "--audit_log=" + (audit_log.empty() ? audit_path_ : audit_log)};
    args.insert(args.end(), extra.begin(), extra.end());
    absl::StatusOr<ServerProcess> server =
        ServerProcess::Start(Runfile("server/chainverifyd"), args);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::make_unique<ServerProcess>(*std::move(server));
    stub_ = v1::ChainVerifier::NewStub(
        grpc::CreateChannel(server_->target(), grpc::InsecureChannelCredentials()));
  }

  // SIGTERM; returns the exit status. The client channel is closed first: an
  // idle connection would hold the server's graceful shutdown to its deadline.
  int StopServer() {
    stub_.reset();
    return server_->Stop();
  }

  static v1::VerifyRequest Request(bool trusted) {
    v1::VerifyRequest request;
    for (const TestCert* c : {leaf_, a_, root_}) request.add_certificates(c->der);
    request.set_peer_name(trusted ? "service.example.com" : "wrong.example.com");
    return request;
  }

  grpc::Status Call(const v1::VerifyRequest& request, v1::VerifyResponse* response) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    return stub_->Verify(&context, request, response);
  }

  // `per_thread` calls from each of kThreads threads; every fourth is
  // REJECTED. Returns the decision ids of the calls that succeeded.
  std::vector<std::string> Burst(int per_thread) {
    std::mutex mu;
    std::vector<std::string> ids;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&] {
        for (int i = 0; i < per_thread; ++i) {
          v1::VerifyResponse response;
          grpc::Status status = Call(Request(i % 4 != 3), &response);
          EXPECT_TRUE(status.ok()) << status.error_message();
          EXPECT_EQ(response.verdict(), i % 4 != 3 ? v1::TRUSTED : v1::REJECTED);
          std::lock_guard<std::mutex> lock(mu);
          ids.push_back(response.decision_id());
        }
      });
    }
    for (std::thread& thread : threads) thread.join();
    return ids;
  }

  static TestCert* root_;
  static TestCert* a_;
  static TestCert* leaf_;
  std::string dir_;
  std::string audit_path_;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<v1::ChainVerifier::Stub> stub_;
};

TestCert* AuditLogIntegrationTest::root_ = nullptr;
TestCert* AuditLogIntegrationTest::a_ = nullptr;
TestCert* AuditLogIntegrationTest::leaf_ = nullptr;

TEST_F(AuditLogIntegrationTest, ConcurrentBurstIsFullyLoggedAndVerifies) {
  StartServer({});
  constexpr int kPerThread = 200 / kThreads;
  const std::vector<std::string> ids = Burst(kPerThread);
  ASSERT_EQ(ids.size(), 200u);
  EXPECT_EQ(StopServer(), 0);
  // Burst() rejects every fourth call of each thread.
  const int rejected = kThreads * ((kPerThread + 1) / 4);
  const std::string trusted_count = absl::StrCat(200 - rejected, "\n");

  const std::vector<std::string> lines = ReadLines(audit_path_);
  ASSERT_EQ(lines.size(), 200u);
  const std::string log = ReadFile(audit_path_);
  for (const std::string& id : ids) EXPECT_TRUE(absl::StrContains(log, id)) << id;

  std::string out;
  EXPECT_EQ(RunAuditCli({"verify", "--require_genesis", audit_path_}, &out), 0) << out;
  EXPECT_TRUE(absl::StrContains(out, "intact: 200 record(s)")) << out;

  // "Who trusted chains through root C?", by certificate and by SPKI hash.
  const std::string root_sha256 = pki::HexEncode(pki::Sha256(root_->der));
  EXPECT_EQ(RunAuditCli({"query", "--verdict=TRUSTED", "--fingerprint=" + root_sha256, "--count",
                         audit_path_},
                        &out),
            0);
  EXPECT_EQ(out, trusted_count);
  const std::string root_spki = absl::Base64Escape(pki::Sha256(root_->key.SpkiDer()));
  EXPECT_EQ(RunAuditCli({"query", "--verdict=TRUSTED", "--fingerprint=" + root_spki, "--count",
                         audit_path_},
                        &out),
            0);
  EXPECT_EQ(out, trusted_count);
  EXPECT_EQ(
      RunAuditCli({"query", "--status=NAME_MISMATCH", "--peer_name=wrong.example.com", audit_path_},
                  &out),
      0);
  EXPECT_EQ(std::vector<std::string>(absl::StrSplit(out, '\n', absl::SkipEmpty())).size(),
            size_t(rejected));

  // One character of record 100 changed: the chain breaks there.
  std::vector<std::string> edited = lines;
  const size_t at = edited[99].find("\"decision_id\":\"");
  ASSERT_NE(at, std::string::npos);
  char& c = edited[99][at + 15];
  c = c == '0' ? '1' : '0';
  std::ofstream(audit_path_, std::ios::trunc) << absl::StrJoin(edited, "\n") << "\n";
  EXPECT_EQ(RunAuditCli({"verify", audit_path_}, &out), 1) << out;
  EXPECT_TRUE(absl::StrContains(out, absl::StrCat(audit_path_, ":100 (sequence 100)"))) << out;
}

TEST_F(AuditLogIntegrationTest, RotatedGroupCommittedFilesVerifyAsOneChain) {
  StartServer({"--audit_durability=group_commit", "--audit_group_commit_delay=2ms",
               "--audit_max_file_bytes=16384"});
  ASSERT_EQ(Burst(200 / kThreads).size(), 200u);
  EXPECT_EQ(StopServer(), 0);

  const std::vector<std::string> files = AuditLogFiles(dir_);
  EXPECT_GT(files.size(), 2u);
  size_t records = 0;
  for (const std::string& file : files) {
    records += ReadLines(file).size();
    struct stat st;
    ASSERT_EQ(stat(file.c_str(), &st), 0);
    EXPECT_LE(st.st_size, 16384) << file;
  }
  EXPECT_EQ(records, 200u);
  std::vector<std::string> args = {"verify", "--require_genesis"};
  args.insert(args.end(), files.begin(), files.end());  // Directory order.
  std::string out;
  EXPECT_EQ(RunAuditCli(args, &out), 0) << out;
  EXPECT_TRUE(absl::StrContains(out, "intact: 200 record(s)")) << out;

  // A restart continues the chain in the current file.
  StartServer({"--audit_max_file_bytes=16384"});
  v1::VerifyResponse response;
  ASSERT_TRUE(Call(Request(true), &response).ok());
  EXPECT_EQ(StopServer(), 0);
  args = {"verify", "--require_genesis"};
  const std::vector<std::string> after = AuditLogFiles(dir_);
  args.insert(args.end(), after.begin(), after.end());
  EXPECT_EQ(RunAuditCli(args, &out), 0) << out;
  EXPECT_TRUE(absl::StrContains(out, "intact: 201 record(s)")) << out;
}

// SIGTERM while calls are in flight: every decision a client received is in
// the log, and the chain is intact.
class AuditLogSigtermTest : public AuditLogIntegrationTest,
                            public ::testing::WithParamInterface<const char*> {};

TEST_P(AuditLogSigtermTest, EveryReturnedDecisionIsLogged) {
  StartServer({absl::StrCat("--audit_durability=", GetParam())});
  std::mutex mu;
  std::vector<std::string> ids;
  std::atomic<bool> stop{false};
  std::atomic<int> ok_calls{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      while (!stop.load()) {
        v1::VerifyResponse response;
        if (!Call(Request(true), &response).ok()) break;  // Server gone.
        ++ok_calls;
        std::lock_guard<std::mutex> lock(mu);
        ids.push_back(response.decision_id());
      }
    });
  }
  for (int i = 0; i < 4000 && ok_calls.load() < 100; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(server_->Stop(), 0);  // SIGTERM in the middle of the burst.
  stop.store(true);
  for (std::thread& thread : threads) thread.join();

  std::set<std::string> logged;
  for (const std::string& line : ReadLines(audit_path_)) {
    const size_t at = line.find("\"decision_id\":\"");
    ASSERT_NE(at, std::string::npos) << line;
    logged.insert(line.substr(at + 15, 32));
  }
  ASSERT_GE(ids.size(), 100u);
  for (const std::string& id : ids) EXPECT_EQ(logged.count(id), 1u) << id;
  std::string out;
  EXPECT_EQ(RunAuditCli({"verify", "--require_genesis", audit_path_}, &out), 0) << out;
}

INSTANTIATE_TEST_SUITE_P(Durability, AuditLogSigtermTest,
                         ::testing::Values("fsync", "group_commit"));

TEST_F(AuditLogIntegrationTest, UnwritableLogFailsClosedByDefault) {
  StartServer({}, "/dev/full");
  v1::VerifyResponse response;
  grpc::Status status = Call(Request(true), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  EXPECT_TRUE(absl::StrContains(status.error_message(), "audit")) << status.error_message();
}

TEST_F(AuditLogIntegrationTest, UnwritableLogFailsOpenWhenConfigured) {
  StartServer({"--audit_failure_mode=fail_open"}, "/dev/full");
  for (bool trusted : {true, false}) {
    v1::VerifyResponse response;
    grpc::Status status = Call(Request(trusted), &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(response.verdict(), trusted ? v1::TRUSTED : v1::REJECTED);
  }
  EXPECT_EQ(StopServer(), 0);
}

}  // namespace
}  // namespace chainverify
