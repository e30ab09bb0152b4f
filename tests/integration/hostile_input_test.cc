// Hostile inputs against the real chainverifyd: each one gets a clear answer
// (an RPC error naming the problem, or a REJECTED verdict with its reason)
// within its time budget, and afterwards the same server still decides a good
// request. README "Hostile input" lists the outcomes.
#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "chainverify/v1/verifier.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/integration/server_process.h"
#include "tests/testutil/test_pki.h"

namespace chainverify {
namespace {

using ::chainverify::testing::CertSpec;
using ::chainverify::testing::IntermediateSpec;
using ::chainverify::testing::LeafSpec;
using ::chainverify::testing::MustIssue;
using ::chainverify::testing::RootSpec;
using ::chainverify::testing::Runfile;
using ::chainverify::testing::ServerProcess;
using ::chainverify::testing::TestCert;

constexpr char kPeer[] = "service.example.com";
// The server's search budget is 2 s (--search_deadline); every answer must
// come well within this, however hostile the input.
constexpr absl::Duration kBudget = absl::Seconds(5);

struct Outcome {
  grpc::Status status;
  v1::VerifyResponse response;
  absl::Duration elapsed;
};

// A server with default limits, and one whose --max_certificates lets 1,000
// intermediates through to the search budget.
class HostileInputTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = new TestCert(MustIssue(RootSpec("Hostile Root"), nullptr));
    a_ = new TestCert(MustIssue(IntermediateSpec("Hostile Intermediate A"), root_));
    leaf_ = new TestCert(MustIssue(LeafSpec("L", {kPeer}), a_));
    testing::WriteTestFile(testing::TestTmpPath("root.pem"), root_->pem());
    testing::WriteTestFile(testing::TestTmpPath("policy.textproto"),
                           "version: \"hostile-1\"\n"
                           "default_policy: \"fleet\"\n"
                           "policies { name: \"fleet\" trust_stores { pem_file: \"root.pem\" } }\n");
    server_ = StartServer("default", {});
    wide_server_ = StartServer("wide", {"--max_certificates=2000"});
  }

  static void TearDownTestSuite() {
    delete server_;
    delete wide_server_;
    delete leaf_;
    delete a_;
    delete root_;
  }

  static ServerProcess* StartServer(const std::string& name, std::vector<std::string> extra) {
    std::vector<std::string> args = {
        "--policy_file=" + testing::TestTmpPath("policy.textproto"),
        "--audit_log=" + testing::TestTmpPath(absl::StrCat(name, "/audit.log"))};
    args.insert(args.end(), extra.begin(), extra.end());
    absl::StatusOr<ServerProcess> server =
        ServerProcess::Start(Runfile("server/chainverifyd"), args);
    if (!server.ok()) {
      ADD_FAILURE() << server.status();
      return nullptr;
    }
    return new ServerProcess(*std::move(server));
  }

  void SetUp() override {
    ASSERT_NE(server_, nullptr);
    ASSERT_NE(wide_server_, nullptr);
  }

  // After every hostile request: the process is alive and decides the seed
  // chain as before.
  void TearDown() override {
    for (ServerProcess* server : {server_, wide_server_}) {
      if (server == nullptr) continue;
      ASSERT_EQ(kill(server->pid(), 0), 0) << "server " << server->target() << " died";
      Outcome good = Call(*server, GoodRequest());
      ASSERT_TRUE(good.status.ok()) << good.status.error_message();
      EXPECT_EQ(good.response.verdict(), v1::TRUSTED) << good.response.ShortDebugString();
    }
  }

  static v1::VerifyRequest GoodRequest() {
    v1::VerifyRequest request;
    for (const TestCert* c : {leaf_, a_}) request.add_certificates(c->der);
    request.set_peer_name(kPeer);
    return request;
  }

  static v1::VerifyRequest WithCertificates(const std::vector<std::string>& ders) {
    v1::VerifyRequest request;
    for (const std::string& der : ders) request.add_certificates(der);
    request.set_peer_name(kPeer);
    return request;
  }

  static Outcome Call(const ServerProcess& server, const v1::VerifyRequest& request,
                      std::chrono::milliseconds deadline = std::chrono::seconds(20)) {
    // One connected channel per server, so a short deadline measures the
    // call rather than the connection.
    static auto* const stubs =
        new std::map<std::string, std::unique_ptr<v1::ChainVerifier::Stub>>();
    std::unique_ptr<v1::ChainVerifier::Stub>& stub = (*stubs)[server.target()];
    if (stub == nullptr) {
      stub = v1::ChainVerifier::NewStub(
          grpc::CreateChannel(server.target(), grpc::InsecureChannelCredentials()));
    }
    Outcome outcome;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + deadline);
    const absl::Time start = absl::Now();
    outcome.status = stub->Verify(&context, request, &outcome.response);
    outcome.elapsed = absl::Now() - start;
    return outcome;
  }

  static Outcome Call(const v1::VerifyRequest& request) { return Call(*server_, request); }

  // An RPC error with `code` whose message contains `says`, within budget.
  static void ExpectError(const Outcome& outcome, grpc::StatusCode code, const std::string& says) {
    EXPECT_EQ(outcome.status.error_code(), code) << outcome.status.error_message();
    EXPECT_TRUE(absl::StrContains(outcome.status.error_message(), says))
        << outcome.status.error_message();
    EXPECT_LT(outcome.elapsed, kBudget);
  }

  // A REJECTED verdict with `status`, within budget.
  static void ExpectRejected(const Outcome& outcome, v1::Status status) {
    ASSERT_TRUE(outcome.status.ok()) << outcome.status.error_message();
    EXPECT_EQ(outcome.response.verdict(), v1::REJECTED);
    EXPECT_EQ(outcome.response.status(), status) << outcome.response.ShortDebugString();
    EXPECT_FALSE(outcome.response.decision_id().empty());
    EXPECT_LT(outcome.elapsed, kBudget);
  }

  static TestCert* root_;
  static TestCert* a_;
  static TestCert* leaf_;
  static ServerProcess* server_;
  static ServerProcess* wide_server_;
};

TestCert* HostileInputTest::root_ = nullptr;
TestCert* HostileInputTest::a_ = nullptr;
TestCert* HostileInputTest::leaf_ = nullptr;
ServerProcess* HostileInputTest::server_ = nullptr;
ServerProcess* HostileInputTest::wide_server_ = nullptr;

TEST_F(HostileInputTest, EmptyChain) {
  ExpectError(Call(WithCertificates({})), grpc::StatusCode::INVALID_ARGUMENT,
              "at least one certificate");
}

TEST_F(HostileInputTest, TenThousandCertificatesOverTheCountLimit) {
  // Small enough for the message limit: the count limit answers.
  std::vector<std::string> tiny(10000, std::string("\x30\x00", 2));
  ExpectError(Call(WithCertificates(tiny)), grpc::StatusCode::INVALID_ARGUMENT,
              "10000 given, at most 32");
}

TEST_F(HostileInputTest, TenThousandRealCertificatesOverTheMessageLimit) {
  // 10,000 copies of a real certificate are past the 4 MiB message limit:
  // gRPC refuses the message before it is parsed.
  std::vector<std::string> many(10000, leaf_->der);
  ASSERT_GT(many.size() * leaf_->der.size(), size_t{4} << 20);
  ExpectError(Call(WithCertificates(many)), grpc::StatusCode::RESOURCE_EXHAUSTED,
              "larger than max");
}

TEST_F(HostileInputTest, TenMegabyteCertificate) {
  ExpectError(Call(WithCertificates({std::string(10 << 20, '\x30')})),
              grpc::StatusCode::RESOURCE_EXHAUSTED, "larger than max");
}

TEST_F(HostileInputTest, CertificateOverTheByteLimit) {
  ExpectError(Call(WithCertificates({leaf_->der, std::string(100000, '\x30')})),
              grpc::StatusCode::INVALID_ARGUMENT, "certificates[1]: 100000 bytes; must be 1 to 65536");
}

TEST_F(HostileInputTest, TruncatedDer) {
  for (size_t keep : {size_t{1}, size_t{10}, leaf_->der.size() / 2, leaf_->der.size() - 1}) {
    SCOPED_TRACE(keep);
    ExpectRejected(Call(WithCertificates({leaf_->der.substr(0, keep), a_->der})),
                   v1::MALFORMED_CERTIFICATE);
  }
}

TEST_F(HostileInputTest, GarbageDer) {
  std::string garbage;
  uint32_t x = 12345;
  for (int i = 0; i < 2000; ++i) {
    x = x * 1103515245 + 12345;
    garbage.push_back(static_cast<char>(x >> 16));
  }
  ExpectRejected(Call(WithCertificates({garbage})), v1::MALFORMED_CERTIFICATE);
  // Garbage intermediates next to a good leaf: ignored, the path is found.
  Outcome outcome = Call(WithCertificates({leaf_->der, garbage, a_->der, "\xff"}));
  ASSERT_TRUE(outcome.status.ok()) << outcome.status.error_message();
  EXPECT_EQ(outcome.response.verdict(), v1::TRUSTED) << outcome.response.ShortDebugString();
}

TEST_F(HostileInputTest, PemWhereDerIsExpected) {
  Outcome outcome = Call(WithCertificates({leaf_->pem(), a_->der}));
  ExpectRejected(outcome, v1::MALFORMED_CERTIFICATE);
  std::string diagnostics;
  for (const v1::CertificateError& e : outcome.response.errors()) {
    absl::StrAppend(&diagnostics, e.id(), ": ", e.diagnostic(), "\n");
  }
  EXPECT_TRUE(absl::StrContains(diagnostics, "PEM")) << diagnostics;
}

TEST_F(HostileInputTest, DuplicatedCertificates) {
  // Duplicates are harmless: the path is built once.
  std::vector<std::string> ders = {leaf_->der};
  for (int i = 0; i < 30; ++i) ders.push_back(i % 2 == 0 ? a_->der : leaf_->der);
  Outcome outcome = Call(WithCertificates(ders));
  ASSERT_TRUE(outcome.status.ok()) << outcome.status.error_message();
  EXPECT_EQ(outcome.response.verdict(), v1::TRUSTED) << outcome.response.ShortDebugString();
  EXPECT_LT(outcome.elapsed, kBudget);
}

TEST_F(HostileInputTest, IssuerCycle) {
  // X and Y certify each other; neither is trusted.
  TestCert x = MustIssue(RootSpec("Cycle X"), nullptr);
  TestCert y = MustIssue(IntermediateSpec("Cycle Y"), &x);
  TestCert x_by_y = MustIssue(IntermediateSpec("Cycle X"), &y, x.key);
  TestCert leaf = MustIssue(LeafSpec("cycle leaf", {kPeer}), &x);
  ExpectRejected(Call(WithCertificates({leaf.der, x_by_y.der, y.der})),
                 v1::NO_PATH_TO_TRUSTED_ANCHOR);
}

TEST_F(HostileInputTest, ChainInReverseOrder) {
  // certificates[0] is the leaf by contract: root first makes the root the
  // certificate being verified, and the diagnostic says so.
  Outcome outcome = Call(WithCertificates({root_->der, a_->der, leaf_->der}));
  ExpectRejected(outcome, v1::NO_PATH_TO_TRUSTED_ANCHOR);
  ASSERT_GT(outcome.response.errors_size(), 0);
  EXPECT_TRUE(absl::StrContains(outcome.response.errors(0).diagnostic(), "reverse order"))
      << outcome.response.errors(0).diagnostic();
  // Intermediate first: it is the certificate verified, and it does not
  // name the peer.
  ExpectRejected(Call(WithCertificates({a_->der, leaf_->der})), v1::NAME_MISMATCH);
}

TEST_F(HostileInputTest, LeafOnly) {
  ExpectRejected(Call(WithCertificates({leaf_->der})), v1::NO_PATH_TO_TRUSTED_ANCHOR);
}

TEST_F(HostileInputTest, ThousandSameSubjectIntermediates) {
  // 1,000 "Decoy CA" certificates with their own keys; the leaf names "Decoy
  // CA" as issuer but has no authorityKeyIdentifier to tell them apart, and
  // the real issuer comes last.
  CertSpec issuer_spec = IntermediateSpec("Decoy CA");
  TestCert real = MustIssue(issuer_spec, root_);
  CertSpec leaf_spec = LeafSpec("decoy leaf", {kPeer});
  leaf_spec.include_authority_key_id = false;
  TestCert leaf = MustIssue(leaf_spec, &real);
  CertSpec decoy_spec = issuer_spec;
  decoy_spec.include_subject_key_id = false;
  std::vector<std::string> ders = {leaf.der};
  for (int i = 0; i < 1000; ++i) ders.push_back(MustIssue(decoy_spec, root_).der);
  ders.push_back(real.der);

  // Default limits: refused by count before any work.
  ExpectError(Call(WithCertificates(ders)), grpc::StatusCode::INVALID_ARGUMENT,
              "1002 given, at most 32");
  // Let through: the search budget ends it.
  ExpectRejected(Call(*wide_server_, WithCertificates(ders)), v1::SEARCH_LIMIT_REACHED);
  // The same with a 1 ms client deadline: the client's deadline ends it.
  Outcome hurried = Call(*wide_server_, WithCertificates(ders), std::chrono::milliseconds(1));
  EXPECT_EQ(hurried.status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED)
      << hurried.status.error_message();
  EXPECT_LT(hurried.elapsed, absl::Seconds(1));
}

TEST_F(HostileInputTest, EnormousNamesAndSanLists) {
  // A subject of 300 OU attributes and a leaf with 2,000 SANs, both under the
  // per-certificate byte limit: decided, and the name is found.
  CertSpec big_ca_spec = IntermediateSpec("Big Name CA");
  for (int i = 0; i < 300; ++i) {
    big_ca_spec.extra_subject.push_back({"OU", absl::StrCat(std::string(50, 'u'), i)});
  }
  TestCert big_ca = MustIssue(big_ca_spec, root_);
  CertSpec leaf_spec = LeafSpec("many names", {});
  for (int i = 0; i < 2000; ++i) leaf_spec.dns_names.push_back(absl::StrCat("h", i, ".example.com"));
  leaf_spec.dns_names.push_back(kPeer);
  TestCert leaf = MustIssue(leaf_spec, &big_ca);
  ASSERT_LT(leaf.der.size(), 65536u);
  Outcome outcome = Call(WithCertificates({leaf.der, big_ca.der}));
  ASSERT_TRUE(outcome.status.ok()) << outcome.status.error_message();
  EXPECT_EQ(outcome.response.verdict(), v1::TRUSTED) << outcome.response.status();
  EXPECT_LT(outcome.elapsed, kBudget);

  v1::VerifyRequest absent = WithCertificates({leaf.der, big_ca.der});
  absent.set_peer_name("absent.example.com");
  ExpectRejected(Call(absent), v1::NAME_MISMATCH);

  // Past the byte limit: refused by size.
  CertSpec huge_spec = LeafSpec("too many names", {});
  for (int i = 0; i < 5000; ++i) huge_spec.dns_names.push_back(absl::StrCat("h", i, ".example.com"));
  TestCert huge = MustIssue(huge_spec, &big_ca);
  ExpectError(Call(WithCertificates({huge.der, big_ca.der})), grpc::StatusCode::INVALID_ARGUMENT,
              "must be 1 to 65536");
}

TEST_F(HostileInputTest, TenKilobytePeerName) {
  v1::VerifyRequest request = GoodRequest();
  request.set_peer_name(std::string(10 * 1024, 'a'));
  ExpectError(Call(request), grpc::StatusCode::INVALID_ARGUMENT, "peer_name: more than 253 bytes");
  request.set_peer_name(absl::StrCat(std::string(10 * 1024, 'a'), ".example.com"));
  ExpectError(Call(request), grpc::StatusCode::INVALID_ARGUMENT, "peer_name");
}

TEST_F(HostileInputTest, InvalidUtf8InStrings) {
  const std::string bad = "\xff\xfe\xc3(";
  v1::VerifyRequest label = GoodRequest();
  (*label.mutable_labels())["service"] = bad;
  v1::VerifyRequest label_key = GoodRequest();
  (*label_key.mutable_labels())[bad] = "billing";
  v1::VerifyRequest peer = GoodRequest();
  peer.set_peer_name(bad);
  v1::VerifyRequest request_id = GoodRequest();
  request_id.set_request_id(bad);
  for (const v1::VerifyRequest* request : {&label, &label_key, &peer, &request_id}) {
    Outcome outcome = Call(*request);
    EXPECT_EQ(outcome.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << outcome.status.error_message();
    EXPECT_TRUE(absl::StrContains(outcome.status.error_message(), "not valid UTF-8"))
        << outcome.status.error_message();
    EXPECT_LT(outcome.elapsed, kBudget);
  }

  // In a stream the bad request gets its own request_error, and the stream
  // goes on.
  auto stub = v1::ChainVerifier::NewStub(
      grpc::CreateChannel(server_->target(), grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  auto stream = stub->VerifyStream(&context);
  ASSERT_TRUE(stream->Write(peer));
  ASSERT_TRUE(stream->Write(GoodRequest()));
  ASSERT_TRUE(stream->WritesDone());
  v1::VerifyResponse first, second;
  ASSERT_TRUE(stream->Read(&first));
  ASSERT_TRUE(stream->Read(&second));
  EXPECT_EQ(first.request_error().code(), grpc::StatusCode::INVALID_ARGUMENT)
      << first.ShortDebugString();
  EXPECT_EQ(second.verdict(), v1::TRUSTED) << second.ShortDebugString();
  EXPECT_TRUE(stream->Finish().ok());
}

TEST_F(HostileInputTest, OneMillisecondDeadline) {
  for (int i = 0; i < 20; ++i) {
    Outcome outcome = Call(*server_, GoodRequest(), std::chrono::milliseconds(1));
    // Either the deadline won or the (fast) decision did; never anything else.
    if (!outcome.status.ok()) {
      EXPECT_EQ(outcome.status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED)
          << outcome.status.error_message();
    }
    EXPECT_LT(outcome.elapsed, absl::Seconds(1));
  }
}

}  // namespace
}  // namespace chainverify
