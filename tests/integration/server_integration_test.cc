// Starts the real chainverifyd on a loopback port and talks to it through the
// generated client, the C++ client library and the CLI.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <sstream>
#include <string>
#include <vector>

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "absl/strings/str_split.h"
#include "chainverify/v1/verifier.grpc.pb.h"
#include "client/chainverify_client.h"
#include "gtest/gtest.h"
#include "tests/integration/server_process.h"
#include "tests/testutil/test_pki.h"

namespace chainverify {
namespace {

using ::chainverify::testing::IntermediateSpec;
using ::chainverify::testing::LeafSpec;
using ::chainverify::testing::MustIssue;
using ::chainverify::testing::ReadLines;
using ::chainverify::testing::RootSpec;
using ::chainverify::testing::Runfile;
using ::chainverify::testing::ServerProcess;
using ::chainverify::testing::TestCert;

// The seed's PKI: L under A; A and B under the trusted root C.
class ServerIntegrationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = new TestCert(MustIssue(RootSpec("Root C"), nullptr));
    a_ = new TestCert(MustIssue(IntermediateSpec("Intermediate A"), root_));
    b_ = new TestCert(MustIssue(IntermediateSpec("Intermediate B"), root_));
    leaf_ = new TestCert(MustIssue(LeafSpec("L", {"service.example.com"}), a_));
    testing::WriteTestFile(testing::TestTmpPath("root.pem"), root_->pem());
    testing::WriteTestFile(testing::TestTmpPath("policy.textproto"),
              "version: \"test-7\"\n"
              "default_policy: \"fleet\"\n"
              "policies { name: \"fleet\" trust_stores { pem_file: \"root.pem\" } }\n"
              "policies { name: \"replay\" trust_stores { pem_file: \"root.pem\" }\n"
              "           allow_request_verification_time: true }\n");
  }

  void SetUp() override {
    audit_path_ = testing::TestTmpPath(absl::StrCat(
        ::testing::UnitTest::GetInstance()->current_test_info()->name(), "/audit.log"));
    auto server = ServerProcess::Start(
        Runfile("server/chainverifyd"),
        {"--policy_file=" + testing::TestTmpPath("policy.textproto"), "--audit_log=" + audit_path_});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::make_unique<ServerProcess>(*std::move(server));
    stub_ = v1::ChainVerifier::NewStub(
        grpc::CreateChannel(server_->target(), grpc::InsecureChannelCredentials()));
  }

  v1::VerifyRequest SeedRequest() {
    v1::VerifyRequest request;
    for (const TestCert* c : {leaf_, a_, b_, root_}) request.add_certificates(c->der);
    request.set_peer_name("service.example.com");
    request.set_request_id("req-1");
    (*request.mutable_labels())["service"] = "billing";
    return request;
  }

  grpc::Status Call(const v1::VerifyRequest& request, v1::VerifyResponse* response) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return stub_->Verify(&context, request, response);
  }

  static TestCert* root_;
  static TestCert* a_;
  static TestCert* b_;
  static TestCert* leaf_;
  std::string audit_path_;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<v1::ChainVerifier::Stub> stub_;
};

TestCert* ServerIntegrationTest::root_ = nullptr;
TestCert* ServerIntegrationTest::a_ = nullptr;
TestCert* ServerIntegrationTest::b_ = nullptr;
TestCert* ServerIntegrationTest::leaf_ = nullptr;

TEST_F(ServerIntegrationTest, SeedExampleIsTrustedWithPrunedChain) {
  v1::VerifyResponse response;
  grpc::Status status = Call(SeedRequest(), &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.verdict(), v1::TRUSTED);
  EXPECT_EQ(response.status(), v1::OK);
  ASSERT_EQ(response.verified_chain_size(), 3);
  EXPECT_EQ(response.verified_chain(0).subject(), "CN=L");
  EXPECT_EQ(response.verified_chain(1).subject(), "CN=Intermediate A");
  EXPECT_EQ(response.verified_chain(2).subject(), "CN=Root C");
  EXPECT_EQ(response.verified_chain(0).source(), v1::REQUEST);
  EXPECT_EQ(response.verified_chain(2).source(), v1::TRUST_STORE);
  EXPECT_EQ(response.verified_chain(2).request_index(), 3);
  ASSERT_EQ(response.unused_certificate_indices_size(), 1);
  EXPECT_EQ(response.unused_certificate_indices(0), 2u);  // B.
  EXPECT_EQ(response.request_id(), "req-1");
  EXPECT_EQ(response.policy_name(), "fleet");
  EXPECT_TRUE(absl::StartsWith(response.policy_version(), "test-7+")) << response.policy_version();
  EXPECT_EQ(response.decision_id().size(), 32u);
  EXPECT_EQ(response.verified_chain(0).subject_alt_names(0).value(), "service.example.com");
  EXPECT_EQ(response.verified_chain(0).sha256().size(), 64u);

  // The decision is in the audit log, with the caller's labels.
  server_->Stop();
  std::vector<std::string> lines = ReadLines(audit_path_);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find(response.decision_id()), std::string::npos);
  EXPECT_NE(lines[0].find("\"service\":\"billing\""), std::string::npos);
}

TEST_F(ServerIntegrationTest, RejectionsAreVerdictsNotRpcErrors) {
  v1::VerifyRequest wrong_host = SeedRequest();
  wrong_host.set_peer_name("other.example.com");
  v1::VerifyResponse response;
  ASSERT_TRUE(Call(wrong_host, &response).ok());
  EXPECT_EQ(response.verdict(), v1::REJECTED);
  EXPECT_EQ(response.status(), v1::NAME_MISMATCH);
  EXPECT_EQ(response.best_attempted_chain_size(), 3);
  EXPECT_EQ(response.verified_chain_size(), 0);

  v1::VerifyRequest garbage;
  garbage.add_certificates("not a certificate");
  ASSERT_TRUE(Call(garbage, &response).ok());
  EXPECT_EQ(response.verdict(), v1::REJECTED);
  EXPECT_EQ(response.status(), v1::MALFORMED_CERTIFICATE);
}

TEST_F(ServerIntegrationTest, MalformedRequestsAreInvalidArgument) {
  v1::VerifyResponse response;
  EXPECT_EQ(Call(v1::VerifyRequest(), &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  v1::VerifyRequest too_many = SeedRequest();
  for (int i = 0; i < 40; ++i) too_many.add_certificates(b_->der);
  EXPECT_EQ(Call(too_many, &response).error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  v1::VerifyRequest bad_name = SeedRequest();
  bad_name.set_peer_name("not a host name");
  EXPECT_EQ(Call(bad_name, &response).error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  v1::VerifyRequest time_not_allowed = SeedRequest();
  time_not_allowed.mutable_verification_time()->set_seconds(1800000000);
  EXPECT_EQ(Call(time_not_allowed, &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  v1::VerifyRequest unknown_policy = SeedRequest();
  unknown_policy.set_policy("nope");
  EXPECT_EQ(Call(unknown_policy, &response).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(ServerIntegrationTest, PolicyMayAllowVerificationTime) {
  v1::VerifyRequest request = SeedRequest();
  request.set_policy("replay");
  request.mutable_verification_time()->set_seconds(1950000000);  // After notAfter.
  v1::VerifyResponse response;
  ASSERT_TRUE(Call(request, &response).ok());
  EXPECT_EQ(response.status(), v1::EXPIRED);
  EXPECT_EQ(response.evaluated_at().seconds(), 1950000000);
}

TEST_F(ServerIntegrationTest, StreamAnswersInOrderWithRequestIds) {
  grpc::ClientContext context;
  auto stream = stub_->VerifyStream(&context);
  std::vector<v1::VerifyRequest> requests;
  for (int i = 0; i < 5; ++i) {
    v1::VerifyRequest r = SeedRequest();
    r.set_request_id(absl::StrCat("s-", i));
    if (i == 2) r.clear_certificates();          // A request error, not a stream error.
    if (i == 3) r.set_peer_name("wrong.example.com");
    ASSERT_TRUE(stream->Write(r));
  }
  stream->WritesDone();
  v1::VerifyResponse response;
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(stream->Read(&response)) << i;
    EXPECT_EQ(response.request_id(), absl::StrCat("s-", i));
    if (i == 2) {
      EXPECT_EQ(response.request_error().code(), grpc::StatusCode::INVALID_ARGUMENT);
    } else if (i == 3) {
      EXPECT_EQ(response.status(), v1::NAME_MISMATCH);
    } else {
      EXPECT_EQ(response.verdict(), v1::TRUSTED);
    }
  }
  EXPECT_FALSE(stream->Read(&response));
  EXPECT_TRUE(stream->Finish().ok());
}

TEST_F(ServerIntegrationTest, AuditRecordsFormAHashChain) {
  v1::VerifyResponse response;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Call(SeedRequest(), &response).ok());
  EXPECT_EQ(server_->Stop(), 0);  // Graceful exit on SIGTERM.
  std::vector<std::string> lines = ReadLines(audit_path_);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_NE(lines[0].find("\"previous_record_sha256\":\"0000"), std::string::npos);
  for (int i = 1; i < 3; ++i) {
    EXPECT_NE(lines[i].find(absl::StrCat("\"sequence\":\"", i + 1, "\"")), std::string::npos)
        << lines[i];
  }
}

// SIGTERM with a client connection still open (idle) exits promptly and
// cleanly.
TEST_F(ServerIntegrationTest, SigtermWithIdleClientExitsPromptly) {
  v1::VerifyResponse response;
  ASSERT_TRUE(Call(SeedRequest(), &response).ok());  // The channel stays open.
  const absl::Time start = absl::Now();
  EXPECT_EQ(server_->Stop(), 0);
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  EXPECT_EQ(ReadLines(audit_path_).size(), 1u);
}

TEST_F(ServerIntegrationTest, HealthServiceReportsServing) {
  auto channel = grpc::CreateChannel(server_->target(), grpc::InsecureChannelCredentials());
  grpc::ByteBuffer request_buffer;
  // grpc.health.v1.HealthCheckRequest{} is the empty message.
  grpc::GenericStub generic(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  grpc::Slice empty("", 0);
  grpc::ByteBuffer empty_request(&empty, 1);
  grpc::ByteBuffer reply;
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  grpc::Status status;
  generic.UnaryCall(&context, "/grpc.health.v1.Health/Check", grpc::StubOptions(),
                    &empty_request, &reply, [&](grpc::Status s) {
                      std::lock_guard<std::mutex> lock(mu);
                      status = s;
                      done = true;
                      cv.notify_one();
                    });
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return done; });
  ASSERT_TRUE(status.ok()) << status.error_message();
  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(reply.Dump(&slices).ok());
  std::string bytes;
  for (const grpc::Slice& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  EXPECT_EQ(bytes, std::string("\x08\x01", 2));  // status: SERVING
}

TEST_F(ServerIntegrationTest, MetricsCountDecisionsAndErrors) {
  v1::VerifyResponse response;
  ASSERT_TRUE(Call(SeedRequest(), &response).ok());
  ASSERT_TRUE(Call(SeedRequest(), &response).ok());
  v1::VerifyRequest wrong = SeedRequest();
  wrong.set_peer_name("other.example.com");
  ASSERT_TRUE(Call(wrong, &response).ok());
  EXPECT_FALSE(Call(v1::VerifyRequest(), &response).ok());

  ASSERT_GT(server_->metrics_port(), 0);
  const std::string text = testing::HttpGet(server_->metrics_port(), "/metrics");
  EXPECT_NE(text.find(R"(chainverify_decisions_total{policy="fleet",status="OK",verdict="TRUSTED"} 2)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(R"(status="NAME_MISMATCH",verdict="REJECTED"} 1)"), std::string::npos);
  EXPECT_NE(text.find(R"(chainverify_request_errors_total{code="INVALID_ARGUMENT"} 1)"),
            std::string::npos);
  EXPECT_NE(text.find("chainverify_decision_seconds_count 3"), std::string::npos);
  EXPECT_NE(text.find(R"(chainverify_policy_info{version="test-7+)"), std::string::npos);
  EXPECT_NE(text.find("chainverify_anchor_earliest_expiry_timestamp_seconds 1900000000"),
            std::string::npos);
}

// Over --max_concurrent_requests the server refuses with RESOURCE_EXHAUSTED
// rather than queueing; every other call is answered normally.
TEST_F(ServerIntegrationTest, ConcurrencyLimitRefusesWithResourceExhausted) {
  auto limited = ServerProcess::Start(
      Runfile("server/chainverifyd"),
      {"--policy_file=" + testing::TestTmpPath("policy.textproto"), "--audit_log=" + audit_path_ + ".limited",
       "--max_concurrent_requests=1"});
  ASSERT_TRUE(limited.ok()) << limited.status();
  auto stub = v1::ChainVerifier::NewStub(
      grpc::CreateChannel(limited->target(), grpc::InsecureChannelCredentials()));
  std::atomic<int> ok{0}, exhausted{0}, other{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 40; ++i) {
        grpc::ClientContext context;
        v1::VerifyResponse response;
        grpc::Status status = stub->Verify(&context, SeedRequest(), &response);
        if (status.ok() && response.verdict() == v1::TRUSTED) {
          ++ok;
        } else if (status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
          ++exhausted;
        } else {
          ++other;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(other.load(), 0);
  EXPECT_GT(ok.load(), 0);
  EXPECT_GT(exhausted.load(), 0);  // 8 callers, one slot, an fsync per decision.
  // Every admitted decision, and only those, is in the audit log.
  stub.reset();
  limited->Stop();
  EXPECT_EQ(ReadLines(audit_path_ + ".limited").size(), static_cast<size_t>(ok.load()));
}

// A client deadline shorter than any decision: DEADLINE_EXCEEDED, and the
// server keeps serving.
TEST_F(ServerIntegrationTest, ExpiredClientDeadlineIsHonoured) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() - std::chrono::seconds(1));
  v1::VerifyResponse response;
  EXPECT_EQ(stub_->Verify(&context, SeedRequest(), &response).error_code(),
            grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_TRUE(Call(SeedRequest(), &response).ok());
}

// The client library and the CLI, as a person would use them.
TEST_F(ServerIntegrationTest, CliVerifiesSeedExample) {
  std::string chain;
  for (const TestCert* c : {leaf_, a_, b_, root_}) chain += c->pem();
  testing::WriteTestFile(testing::TestTmpPath("seed-chain.pem"), chain);

  std::string out;
  int code = testing::RunCommand({Runfile("client/chainverify"), "verify",
                                  "--server=" + server_->target(),
                                  "--host=service.example.com", "--json",
                                  "--chain=" + testing::TestTmpPath("seed-chain.pem")},
                                 &out);
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("\"verdict\":\"TRUSTED\""), std::string::npos) << out;
  EXPECT_NE(out.find("\"unused_certificate_indices\":[2]"), std::string::npos) << out;

  code = testing::RunCommand({Runfile("client/chainverify"), "verify",
                              "--server=" + server_->target(), "--host=wrong.example.com",
                              testing::TestTmpPath("seed-chain.pem")},
                             &out);
  EXPECT_EQ(code, 1);

  server_->Stop();
  code = testing::RunCommand({Runfile("client/chainverify"), "verify",
                              "--server=" + server_->target(),
                              testing::TestTmpPath("seed-chain.pem")},
                             &out);
  EXPECT_EQ(code, 2);
}

// Abseil's --help lists only flags of a file named after the program; the
// server's are in server/main.cc and must still be listed.
TEST(ServerHelpTest, HelpListsTheServersFlags) {
  std::string out;
  testing::RunCommand({Runfile("server/chainverifyd"), "--help"}, &out);
  EXPECT_EQ(out.find("No flags matched"), std::string::npos) << out;
  for (const char* flag : {"--listen", "--policy_file", "--audit_log", "--audit_stdout",
                           "--instance_name", "--metrics_listen", "--tls_client_ca"}) {
    EXPECT_NE(out.find(absl::StrCat("    ", flag, " (")), std::string::npos) << flag << "\n" << out;
  }
}

}  // namespace
}  // namespace chainverify
