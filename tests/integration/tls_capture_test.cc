// `chainverify verify --connect`: CaptureHandshake against a real
// `openssl s_server` serving a test PKI, and the real CLI uploading what it
// captured to the real chainverifyd.
#include "client/tls_capture.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/pem.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/integration/server_process.h"
#include "tests/testutil/test_pki.h"

namespace chainverify {
namespace {

using ::chainverify::client::CaptureHandshake;
using ::chainverify::client::CapturedHandshake;
using ::chainverify::testing::CertSpec;
using ::chainverify::testing::IntermediateSpec;
using ::chainverify::testing::LeafSpec;
using ::chainverify::testing::MustIssue;
using ::chainverify::testing::RootSpec;
using ::chainverify::testing::RunCommand;
using ::chainverify::testing::Runfile;
using ::chainverify::testing::ServerProcess;
using ::chainverify::testing::TestCert;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)),
                     std::istreambuf_iterator<char>());
}

std::string IndexTime(absl::Time t) {
  return absl::FormatTime("%y%m%d%H%M%SZ", t, absl::UTCTimeZone());
}

class TlsCaptureTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pki_ = new Pki;
    Pki& p = *pki_;
    p.root = MustIssue(RootSpec("Capture Root"), nullptr);
    p.inter = MustIssue(IntermediateSpec("Capture CA"), &p.root);
    CertSpec leaf = LeafSpec("localhost", {"localhost"});
    leaf.ip_addresses = {"127.0.0.1"};
    p.leaf = MustIssue(leaf, &p.inter);
    p.extra = MustIssue(RootSpec("Unrelated Root"), nullptr);

    testing::WriteTestFile(testing::TestTmpPath("root.pem"), p.root.pem());
    testing::WriteTestFile(testing::TestTmpPath("inter.pem"), p.inter.pem());
    testing::WriteTestFile(testing::TestTmpPath("inter.key"), p.inter.key.PrivateKeyPem());
    testing::WriteTestFile(testing::TestTmpPath("leaf.pem"), p.leaf.pem());
    testing::WriteTestFile(testing::TestTmpPath("leaf.key"), p.leaf.key.PrivateKeyPem());
    // Served after the leaf, in this order: the extra one, then the CA.
    testing::WriteTestFile(testing::TestTmpPath("extra_and_intermediate.pem"), p.extra.pem() + p.inter.pem());

    // A real OCSP response for the leaf, signed by its CA, for stapling.
    const absl::Time now = absl::Now();
    testing::WriteTestFile(testing::TestTmpPath("index.txt"),
          absl::StrCat("V\t", IndexTime(now + absl::Hours(24 * 365)), "\t\t",
                       p.leaf.serial_hex(), "\tunknown\t/CN=localhost\n"));
    std::string out;
    ocsp_status_ = RunCommand(
        {"/usr/bin/openssl", "ocsp", "-index", testing::TestTmpPath("index.txt"), "-rsigner",
         testing::TestTmpPath("inter.pem"), "-rkey", testing::TestTmpPath("inter.key"), "-CA", testing::TestTmpPath("inter.pem"),
         "-issuer", testing::TestTmpPath("inter.pem"), "-cert", testing::TestTmpPath("leaf.pem"), "-respout",
         testing::TestTmpPath("resp.der"), "-ndays", "1"},
        &out);

    port_ = testing::FreeLoopbackPort();
    plain_ = new testing::HelperProcess(ServerArgs(port_, {}), port_);
    stapling_port_ = testing::FreeLoopbackPort();
    stapling_ = new testing::HelperProcess(
        ServerArgs(stapling_port_, {"-status_file", testing::TestTmpPath("resp.der")}),
        stapling_port_);

    testing::WriteTestFile(testing::TestTmpPath("policy.textproto"),
          "version: \"capture-1\" default_policy: \"p\"\n"
          "policies { name: \"p\" trust_stores { pem_file: \"root.pem\" } "
          "profile: RFC5280 }\n");
  }

  static void TearDownTestSuite() {
    delete plain_;
    delete stapling_;
    delete pki_;
  }

  static std::vector<std::string> ServerArgs(int port,
                                             std::vector<std::string> extra) {
    std::vector<std::string> args = {
        // Bound where the tests connect. With a bare port, one CI run saw
        // the port listening in /proc/net and 127.0.0.1 refused.
        "/usr/bin/openssl", "s_server", "-accept", absl::StrCat("127.0.0.1:", port),
        "-cert", testing::TestTmpPath("leaf.pem"), "-key", testing::TestTmpPath("leaf.key"), "-cert_chain",
        testing::TestTmpPath("extra_and_intermediate.pem"), "-www", "-quiet"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }

  static std::string Target(int port) {
    return absl::StrCat("127.0.0.1:", port);
  }

  struct Pki {
    TestCert root, inter, leaf, extra;
  };
  static Pki* pki_;
  static testing::HelperProcess* plain_;
  static testing::HelperProcess* stapling_;
  static int port_;
  static int stapling_port_;
  static int ocsp_status_;
};

TlsCaptureTest::Pki* TlsCaptureTest::pki_ = nullptr;
testing::HelperProcess* TlsCaptureTest::plain_ = nullptr;
testing::HelperProcess* TlsCaptureTest::stapling_ = nullptr;
int TlsCaptureTest::port_ = 0;
int TlsCaptureTest::stapling_port_ = 0;
int TlsCaptureTest::ocsp_status_ = -1;

TEST_F(TlsCaptureTest, CapturesTheChainAsServed) {
  ASSERT_TRUE(plain_->listening());
  absl::StatusOr<CapturedHandshake> captured =
      CaptureHandshake(Target(port_), "localhost", absl::Seconds(10));
  ASSERT_TRUE(captured.ok()) << captured.status();
  ASSERT_EQ(captured->chain_der.size(), 3u);
  EXPECT_EQ(captured->chain_der[0], pki_->leaf.der);
  EXPECT_EQ(captured->chain_der[1], pki_->extra.der);
  EXPECT_EQ(captured->chain_der[2], pki_->inter.der);
  EXPECT_TRUE(captured->stapled_ocsp_der.empty());
  EXPECT_TRUE(absl::StartsWith(captured->negotiated_protocol, "TLSv1"))
      << captured->negotiated_protocol;
}

TEST_F(TlsCaptureTest, NoServernameForAnIpTarget) {
  ASSERT_TRUE(plain_->listening());
  absl::StatusOr<CapturedHandshake> captured =
      CaptureHandshake(Target(port_), "", absl::Seconds(10));
  ASSERT_TRUE(captured.ok()) << captured.status();
  ASSERT_EQ(captured->chain_der.size(), 3u);
  EXPECT_EQ(captured->chain_der[0], pki_->leaf.der);
}

TEST_F(TlsCaptureTest, StapledResponseComesBackByteIdentical) {
  ASSERT_EQ(ocsp_status_, 0) << "openssl ocsp could not make a response";
  const std::string response = ReadFile(testing::TestTmpPath("resp.der"));
  ASSERT_FALSE(response.empty());
  ASSERT_TRUE(stapling_->listening());
  absl::StatusOr<CapturedHandshake> captured =
      CaptureHandshake(Target(stapling_port_), "localhost", absl::Seconds(10));
  ASSERT_TRUE(captured.ok()) << captured.status();
  EXPECT_EQ(captured->chain_der.size(), 3u);
  EXPECT_EQ(captured->stapled_ocsp_der, response);
}

TEST_F(TlsCaptureTest, RefusedPortFailsQuicklyNamingTheTarget) {
  const std::string target = Target(testing::FreeLoopbackPort());
  const absl::Time start = absl::Now();
  absl::StatusOr<CapturedHandshake> captured =
      CaptureHandshake(target, "localhost", absl::Seconds(10));
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
  ASSERT_FALSE(captured.ok());
  EXPECT_EQ(captured.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(absl::StrContains(captured.status().message(), target))
      << captured.status();
}

TEST_F(TlsCaptureTest, MalformedTargetsAreInvalidArguments) {
  for (const char* target : {"localhost", "localhost:", "localhost:0",
                             "localhost:99999", "::1:443", ":443", "[::1"}) {
    EXPECT_EQ(CaptureHandshake(target, "", absl::Seconds(1)).status().code(),
              absl::StatusCode::kInvalidArgument)
        << target;
  }
}

TEST_F(TlsCaptureTest, CliUploadsTheCapturedChain) {
  ASSERT_TRUE(plain_->listening());
  absl::StatusOr<ServerProcess> server = ServerProcess::Start(
      Runfile("server/chainverifyd"),
      {"--policy_file=" + testing::TestTmpPath("policy.textproto"),
       "--audit_log=" + testing::TestTmpPath("audit.log")});
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string cli = Runfile("client/chainverify");
  const std::string server_flag = "--server=" + server->target();

  std::string out;
  EXPECT_EQ(RunCommand({cli, "verify", "--connect", Target(port_),
                        "--servername", "localhost", server_flag, "--json"},
                       &out),
            0)
      << out;
  EXPECT_TRUE(absl::StrContains(out, "\"verdict\":\"TRUSTED\"")) << out;
  // The unrelated certificate, uploaded second, was not needed.
  EXPECT_TRUE(absl::StrContains(out, "\"unused_certificate_indices\":[1]"))
      << out;

  // The IP of --connect is the name to check when no other is given.
  out.clear();
  EXPECT_EQ(
      RunCommand({cli, "verify", "--connect", Target(port_), server_flag}, &out),
      0)
      << out;

  out.clear();
  EXPECT_EQ(RunCommand({cli, "verify", "--connect", Target(port_),
                        "--servername", "wrong.example", server_flag, "--json"},
                       &out),
            1)
      << out;

  // Nothing listening: an error, not a verdict.
  out.clear();
  EXPECT_EQ(RunCommand({cli, "verify", "--connect", Target(testing::FreeLoopbackPort()),
                        server_flag},
                       &out),
            2);
  // --connect and files are exclusive.
  EXPECT_EQ(RunCommand({cli, "verify", "--connect", Target(port_), server_flag,
                        testing::TestTmpPath("leaf.pem")},
                       &out),
            2);
}

}  // namespace
}  // namespace chainverify
