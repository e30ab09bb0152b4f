// Transport security and caller authorization against the real chainverifyd:
// mutual TLS with SPIFFE client certificates, grants and admin identities from
// the policy file, refusals in the audit log, and no plaintext off loopback.
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <openssl/bio.h>
#include <openssl/pem.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "chainverify/v1/admin.grpc.pb.h"
#include "chainverify/v1/audit.pb.h"
#include "chainverify/v1/verifier.grpc.pb.h"
#include "client/chainverify_client.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "server/pki/openssl_util.h"
#include "tests/integration/server_process.h"
#include "tests/testutil/test_pki.h"

namespace chainverify {
namespace {

using ::chainverify::testing::CertSpec;
using ::chainverify::testing::LeafSpec;
using ::chainverify::testing::MustIssue;
using ::chainverify::testing::RootSpec;
using ::chainverify::testing::Runfile;
using ::chainverify::testing::ServerProcess;
using ::chainverify::testing::TestCert;

constexpr char kBillingId[] = "spiffe://fleet/ns/billing/sa/api";
constexpr char kWebId[] = "spiffe://fleet/ns/web/sa/front";
constexpr char kAdminId[] = "spiffe://fleet/ns/ops/sa/admin";

// A client certificate: URI SANs (and DNS SANs), EKU clientAuth.
TestCert ClientCert(const std::string& cn, std::vector<std::string> uris,
                    std::vector<std::string> dns, const TestCert& ca) {
  CertSpec spec = LeafSpec(cn, std::move(dns));
  spec.uris = std::move(uris);
  spec.extended_key_usage = std::vector<std::string>{"clientAuth"};
  return MustIssue(spec, &ca);
}

// A client's certificate and key on disk, and in memory for grpc::SslCredentials.
struct Client {
  std::string cert_file, key_file, cert_pem, key_pem;
};

Client WriteClient(const std::string& name, const TestCert& cert) {
  Client c{testing::TestTmpPath(name + ".pem"), testing::TestTmpPath(name + ".key"), cert.pem(), cert.key.PrivateKeyPem()};
  testing::WriteTestFile(c.cert_file, c.cert_pem);
  testing::WriteTestFile(c.key_file, c.key_pem);
  return c;
}

std::vector<v1::AuditRecord> ReadAudit(const std::string& path) {
  std::vector<v1::AuditRecord> records;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    v1::AuditRecord record;
    if (google::protobuf::util::JsonStringToMessage(line, &record).ok()) {
      records.push_back(record);
    }
  }
  return records;
}

// The audit record of the request `request_id`, if any.
std::optional<v1::AuditRecord> FindRecord(const std::string& audit_path,
                                          const std::string& request_id) {
  for (v1::AuditRecord& r : ReadAudit(audit_path)) {
    if (r.request_id() == request_id) return std::move(r);
  }
  return std::nullopt;
}

std::chrono::system_clock::time_point Deadline() {
  return std::chrono::system_clock::now() + std::chrono::seconds(10);
}

// Three CAs: one for the server, one for clients (--tls_client_ca), and a rogue
// one whose certificates carry real identities but must not get in. The policy
// trusts a fourth root, for the chains the tests ask about.
class MtlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const TestCert server_ca = MustIssue(RootSpec("Server CA"), nullptr);
    CertSpec server_spec = LeafSpec("localhost", {"localhost"});
    server_spec.ip_addresses = {"127.0.0.1"};
    const TestCert server_cert = MustIssue(server_spec, &server_ca);
    const TestCert client_ca = MustIssue(RootSpec("Client CA"), nullptr);
    const TestCert rogue_ca = MustIssue(RootSpec("Client CA"), nullptr);  // Same name.
    testing::WriteTestFile(testing::TestTmpPath("server_ca.pem"), server_ca.pem());
    testing::WriteTestFile(testing::TestTmpPath("server.pem"), server_cert.pem());
    testing::WriteTestFile(testing::TestTmpPath("server.key"), server_cert.key.PrivateKeyPem());
    testing::WriteTestFile(testing::TestTmpPath("client_ca.pem"), client_ca.pem());

    billing_ = new Client(WriteClient("billing", ClientCert("billing", {kBillingId}, {}, client_ca)));
    web_ = new Client(
        WriteClient("web", ClientCert("web", {kWebId}, {"front.web.internal"}, client_ca)));
    admin_ = new Client(WriteClient("admin", ClientCert("admin", {kAdminId}, {}, client_ca)));
    rogue_ = new Client(WriteClient("rogue", ClientCert("rogue", {kBillingId}, {}, rogue_ca)));

    const TestCert fleet_root = MustIssue(RootSpec("Fleet Root"), nullptr);
    leaf_ = new TestCert(MustIssue(LeafSpec("db", {"db.billing.internal"}), &fleet_root));
    testing::WriteTestFile(testing::TestTmpPath("fleet_root.pem"), fleet_root.pem());
    const std::string policies =
        "version: \"mtls-1\"\n"
        "default_policy: \"default\"\n"
        "policies { name: \"default\" profile: RFC5280 trust_stores { pem_file: "
        "\"fleet_root.pem\" } }\n"
        "policies { name: \"billing\" profile: RFC5280 trust_stores { pem_file: "
        "\"fleet_root.pem\" } }\n";
    testing::WriteTestFile(testing::TestTmpPath("policy.textproto"),
          absl::StrCat(policies,
                       "authorization {\n"
                       "  grants { identities: \"spiffe://fleet/ns/billing/*\"\n"
                       "           policies: \"billing\" policies: \"default\" }\n"
                       "  grants { identities: \"*.web.internal\" policies: \"default\" }\n"
                       "  admin_identities: \"",
                       kAdminId, "\"\n}\n"));
    testing::WriteTestFile(testing::TestTmpPath("open_policy.textproto"), policies);
  }

  static std::vector<std::string> TlsFlags() {
    return {"--tls_cert=" + testing::TestTmpPath("server.pem"), "--tls_key=" + testing::TestTmpPath("server.key"),
            "--tls_client_ca=" + testing::TestTmpPath("client_ca.pem")};
  }

  void StartServer(const std::string& policy_file) {
    audit_path_ = testing::TestTmpPath(absl::StrCat(
        ::testing::UnitTest::GetInstance()->current_test_info()->name(), "/audit.log"));
    std::vector<std::string> args = TlsFlags();
    args.push_back("--policy_file=" + testing::TestTmpPath(policy_file));
    args.push_back("--audit_log=" + audit_path_);
    auto server = ServerProcess::Start(Runfile("server/chainverifyd"), args);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::make_unique<ServerProcess>(*std::move(server));
  }

  void SetUp() override { StartServer("policy.textproto"); }

  // A channel that checks the server against the server CA (its SAN IP
  // 127.0.0.1 matches the target) and presents `client`'s certificate, if any.
  std::shared_ptr<grpc::Channel> Channel(const Client* client) {
    grpc::SslCredentialsOptions ssl;
    std::ifstream in(testing::TestTmpPath("server_ca.pem"));
    ssl.pem_root_certs.assign(std::istreambuf_iterator<char>(in), {});
    if (client != nullptr) {
      ssl.pem_cert_chain = client->cert_pem;
      ssl.pem_private_key = client->key_pem;
    }
    return grpc::CreateChannel(server_->target(), grpc::SslCredentials(ssl));
  }

  v1::VerifyRequest Request(const std::string& policy, const std::string& request_id) {
    v1::VerifyRequest request;
    request.add_certificates(leaf_->der);
    request.set_peer_name("db.billing.internal");
    request.set_policy(policy);
    request.set_request_id(request_id);
    return request;
  }

  grpc::Status Verify(const Client* client, const v1::VerifyRequest& request,
                      v1::VerifyResponse* response) {
    auto stub = v1::ChainVerifier::NewStub(Channel(client));
    grpc::ClientContext context;
    context.set_deadline(Deadline());
    return stub->Verify(&context, request, response);
  }

  grpc::Status GetPolicy(const Client* client) {
    auto stub = v1::PolicyAdmin::NewStub(Channel(client));
    grpc::ClientContext context;
    context.set_deadline(Deadline());
    v1::GetPolicyResponse response;
    return stub->GetPolicy(&context, v1::GetPolicyRequest(), &response);
  }

  static Client* billing_;
  static Client* web_;
  static Client* admin_;
  static Client* rogue_;
  static TestCert* leaf_;
  std::string audit_path_;
  std::unique_ptr<ServerProcess> server_;
};

Client* MtlsTest::billing_ = nullptr;
Client* MtlsTest::web_ = nullptr;
Client* MtlsTest::admin_ = nullptr;
Client* MtlsTest::rogue_ = nullptr;
TestCert* MtlsTest::leaf_ = nullptr;

TEST_F(MtlsTest, GrantedClientGetsVerdictThroughClientLibrary) {
  client::ConnectOptions options;
  options.target = server_->target();
  options.plaintext = false;
  options.tls_ca_file = testing::TestTmpPath("server_ca.pem");
  options.tls_cert_file = billing_->cert_file;
  options.tls_key_file = billing_->key_file;
  auto client = client::ChainVerifierClient::Connect(options);
  ASSERT_TRUE(client.ok()) << client.status();
  absl::StatusOr<v1::VerifyResponse> response = (*client)->Verify(Request("billing", "lib-1"));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->verdict(), v1::TRUSTED) << client::FormatVerdict(*response);
  EXPECT_EQ(response->policy_name(), "billing");

  const std::optional<v1::AuditRecord> record = FindRecord(audit_path_, "lib-1");
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ(record->caller(), kBillingId);
  EXPECT_EQ(record->verdict(), v1::TRUSTED);
  EXPECT_TRUE(record->denied_reason().empty());
}

TEST_F(MtlsTest, DnsGrantAndSpiffeIdentityInTheAuditLog) {
  // web is granted the default policy by its DNS SAN; the record names it by
  // its SPIFFE ID.
  v1::VerifyResponse response;
  grpc::Status status = Verify(web_, Request("", "web-default"), &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.verdict(), v1::TRUSTED);
  const std::optional<v1::AuditRecord> record = FindRecord(audit_path_, "web-default");
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ(record->caller(), kWebId);
}

TEST_F(MtlsTest, ClientWithoutCertificateCannotConnect) {
  v1::VerifyResponse response;
  grpc::Status status = Verify(nullptr, Request("", "anon"), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  EXPECT_FALSE(FindRecord(audit_path_, "anon").has_value());
}

TEST_F(MtlsTest, ClientCertificateFromAnotherCaCannotConnect) {
  v1::VerifyResponse response;
  grpc::Status status = Verify(rogue_, Request("billing", "rogue"), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  EXPECT_FALSE(FindRecord(audit_path_, "rogue").has_value());
}

TEST_F(MtlsTest, UngrantedPolicyIsDeniedAndAudited) {
  v1::VerifyRequest request = Request("billing", "web-billing");
  v1::VerifyResponse response;
  grpc::Status status = Verify(web_, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_TRUE(absl::StrContains(status.error_message(), kWebId)) << status.error_message();

  const std::optional<v1::AuditRecord> record = FindRecord(audit_path_, "web-billing");
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ(record->caller(), kWebId);
  EXPECT_EQ(record->policy_name(), "billing");
  EXPECT_FALSE(record->denied_reason().empty());
  EXPECT_EQ(record->verdict(), v1::VERDICT_UNSPECIFIED);
  ASSERT_EQ(record->uploaded_certificate_sha256_size(), 1);
  EXPECT_EQ(record->uploaded_certificate_sha256(0), pki::HexEncode(pki::Sha256(leaf_->der)));
}

TEST_F(MtlsTest, StreamAuthorizesEachRequest) {
  auto stub = v1::ChainVerifier::NewStub(Channel(web_));
  grpc::ClientContext context;
  context.set_deadline(Deadline());
  auto stream = stub->VerifyStream(&context);
  ASSERT_TRUE(stream->Write(Request("billing", "s-1")));
  ASSERT_TRUE(stream->Write(Request("default", "s-2")));
  stream->WritesDone();
  v1::VerifyResponse first, second;
  ASSERT_TRUE(stream->Read(&first));
  ASSERT_TRUE(stream->Read(&second));
  EXPECT_EQ(first.request_id(), "s-1");
  EXPECT_EQ(first.request_error().code(), static_cast<int>(grpc::StatusCode::PERMISSION_DENIED));
  EXPECT_EQ(second.request_id(), "s-2");
  EXPECT_EQ(second.verdict(), v1::TRUSTED);
  EXPECT_TRUE(stream->Finish().ok());
}

TEST_F(MtlsTest, PolicyAdminOnlyForAdmins) {
  EXPECT_EQ(GetPolicy(web_).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(GetPolicy(billing_).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  grpc::Status status = GetPolicy(admin_);
  EXPECT_TRUE(status.ok()) << status.error_message();
}

TEST_F(MtlsTest, WithoutAuthorizationSectionTlsCallersMayVerifyButNotAdminister) {
  server_.reset();
  StartServer("open_policy.textproto");
  v1::VerifyResponse response;
  grpc::Status status = Verify(web_, Request("billing", "open-1"), &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.verdict(), v1::TRUSTED);
  EXPECT_EQ(GetPolicy(admin_).error_code(), grpc::StatusCode::PERMISSION_DENIED);
}

// Runs chainverifyd to completion (bounded by `timeout`), stdout and stderr
// together.
int RunServer(const std::vector<std::string>& flags, std::string* output) {
  std::string command = absl::StrCat("exec timeout 20 ", Runfile("server/chainverifyd"));
  for (const std::string& flag : flags) absl::StrAppend(&command, " '", flag, "'");
  absl::StrAppend(&command, " 2>&1");
  return testing::RunCommand({"/bin/sh", "-c", command}, output);
}

TEST(TransportFlagsTest, RefusesPlaintextOffLoopback) {
  std::string output;
  const int code = RunServer({"--listen=0.0.0.0:0", "--audit_log=" + testing::TestTmpPath("refused/audit.log"),
                              "--policy_watch_interval=0"},
                             &output);
  EXPECT_EQ(code, 1) << output;
  EXPECT_FALSE(absl::StrContains(output, "listening on")) << output;
  EXPECT_TRUE(absl::StrContains(output, "refusing to serve plaintext")) << output;
}

TEST(TransportFlagsTest, RefusesIncompleteOrMismatchedTlsFlags) {
  const TestCert ca = MustIssue(RootSpec("Flags CA"), nullptr);
  const TestCert a = MustIssue(LeafSpec("a", {"localhost"}), &ca);
  const TestCert b = MustIssue(LeafSpec("b", {"localhost"}), &ca);
  testing::WriteTestFile(testing::TestTmpPath("a.pem"), a.pem());
  testing::WriteTestFile(testing::TestTmpPath("b.key"), b.key.PrivateKeyPem());
  struct Case {
    std::vector<std::string> flags;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"--tls_cert=" + testing::TestTmpPath("a.pem")}, "go together"},
      {{"--tls_client_ca=" + testing::TestTmpPath("a.pem")}, "go together"},
      {{"--tls_cert=" + testing::TestTmpPath("a.pem"), "--tls_key=" + testing::TestTmpPath("b.key")}, "does not match"},
      {{"--tls_cert=" + testing::TestTmpPath("missing.pem"), "--tls_key=" + testing::TestTmpPath("b.key")}, "cannot open"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> flags = c.flags;
    flags.push_back("--listen=127.0.0.1:0");
    flags.push_back("--audit_log=" + testing::TestTmpPath("flags/audit.log"));
    std::string output;
    EXPECT_EQ(RunServer(flags, &output), 1) << output;
    EXPECT_TRUE(absl::StrContains(output, c.message)) << output;
  }
}

}  // namespace
}  // namespace chainverify
