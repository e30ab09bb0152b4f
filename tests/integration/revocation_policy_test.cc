// Fleet policy features end to end, with real parts: chainverifyd, an
// `openssl ocsp` responder and an HTTP server serving CRLs, all on loopback,
// and a test PKI generated here whose certificates point at them.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <sstream>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <openssl/pem.h>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "chainverify/v1/verifier.grpc.pb.h"
#include "gtest/gtest.h"
#include "server/pki/certificate.h"
#include "tests/integration/server_process.h"
#include "tests/testutil/test_pki.h"

namespace chainverify {
namespace {

using ::chainverify::testing::CertSpec;
using ::chainverify::testing::IntermediateSpec;
using ::chainverify::testing::IssueCrl;
using ::chainverify::testing::LeafSpec;
using ::chainverify::testing::MustIssue;
using ::chainverify::testing::RootSpec;
using ::chainverify::testing::Runfile;
using ::chainverify::testing::ServerProcess;
using ::chainverify::testing::TestCert;

// How long the HTTP server takes to serve the slow CRLs: over the test's
// deadline, under the policy's fetch total_timeout_ms (2 s).
constexpr absl::Duration kSlowCrl = absl::Milliseconds(1500);

std::string IndexTime(absl::Time t) { return absl::FormatTime("%y%m%d%H%M%SZ", t, absl::UTCTimeZone()); }

class RevocationPolicyTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const int ocsp_port = ocsp_port_ = testing::FreeLoopbackPort();
    const int delegated_ocsp_port = testing::FreeLoopbackPort();
    const int http_port = testing::FreeLoopbackPort();
    dead_port_ = testing::FreeLoopbackPort();
    const std::string ocsp_url = absl::StrCat("http://127.0.0.1:", ocsp_port, "/");
    const std::string crl_base = absl::StrCat("http://127.0.0.1:", http_port, "/");

    pki_ = new Pki;
    Pki& p = *pki_;
    p.root = MustIssue(RootSpec("Revocation Root"), nullptr);
    CertSpec inter = IntermediateSpec("Revocation CA");
    inter.crl_distribution_points = {crl_base + "root.crl"};
    p.inter = MustIssue(inter, &p.root);
    CertSpec revoked_inter = IntermediateSpec("Revoked CA");
    revoked_inter.crl_distribution_points = {crl_base + "root.crl"};
    p.revoked_inter = MustIssue(revoked_inter, &p.root);
    // A CRL authority whose certificate Root has revoked (root.crl lists it).
    CertSpec revoked_authority = IntermediateSpec("Revoked CRL Authority");
    revoked_authority.key_usage = "critical,cRLSign";
    revoked_authority.crl_distribution_points = {crl_base + "root.crl"};
    p.revoked_authority = MustIssue(revoked_authority, &p.root);
    auto leaf_spec = [&](const std::string& name, const std::string& ocsp) {
      CertSpec s = LeafSpec(name, {name});
      s.ocsp_urls = {ocsp};
      s.crl_distribution_points = {crl_base + "ca.crl"};
      return s;
    };
    p.good = MustIssue(leaf_spec("good.example.com", ocsp_url), &p.inter);
    p.revoked = MustIssue(leaf_spec("revoked.example.com", ocsp_url), &p.inter);
    p.unreachable =
        MustIssue(leaf_spec("dead.example.com", absl::StrCat("http://127.0.0.1:", dead_port_, "/")),
                  &p.inter);
    p.under_revoked_ca = MustIssue(leaf_spec("sub.example.com", ocsp_url), &p.revoked_inter);
    // Leaves whose only revocation source is a CRL that takes kSlowCrl to
    // arrive (each its own URL, so each test call is the first to fetch it).
    auto slow_crl_leaf = [&](const std::string& name, const std::string& crl) {
      CertSpec s = LeafSpec(name, {name});
      s.crl_distribution_points = {
          absl::StrCat(crl_base, "slow/", absl::ToInt64Milliseconds(kSlowCrl), "/", crl)};
      return MustIssue(s, &p.inter);
    };
    p.slow_crl_hard = slow_crl_leaf("slow-hard.example.com", "slow-hard.crl");
    p.slow_crl_soft = slow_crl_leaf("slow-soft.example.com", "slow-soft.crl");

    // A delegated OCSP responder of Revocation CA (RFC 6960 4.2.2.2), which
    // the CA has since revoked (ca.crl, its distribution point, lists it),
    // and a leaf whose only revocation source is that responder.
    CertSpec responder_spec = LeafSpec("Revocation OCSP Responder", {});
    responder_spec.extended_key_usage = {{"OCSPSigning"}};
    responder_spec.crl_distribution_points = {crl_base + "ca.crl"};
    p.revoked_responder = MustIssue(responder_spec, &p.inter);
    CertSpec delegated_leaf = LeafSpec("delegated.example.com", {"delegated.example.com"});
    delegated_leaf.ocsp_urls = {absl::StrCat("http://127.0.0.1:", delegated_ocsp_port, "/")};
    p.answered_by_delegated = MustIssue(delegated_leaf, &p.inter);
    testing::WriteTestFile(testing::TestTmpPath("responder.pem"), p.revoked_responder.pem());
    testing::WriteTestFile(testing::TestTmpPath("responder.key"),
                           p.revoked_responder.key.PrivateKeyPem());

    const absl::Time now = absl::Now();
    testing::WriteTestFile(testing::TestTmpPath("root.pem"), p.root.pem());
    testing::WriteTestFile(testing::TestTmpPath("ca.pem"), p.inter.pem());
    testing::WriteTestFile(testing::TestTmpPath("ca.key"), p.inter.key.PrivateKeyPem());
    // The OpenSSL CA database the responder answers from.
    const std::string expiry = IndexTime(now + absl::Hours(24 * 365));
    testing::WriteTestFile(testing::TestTmpPath("index.txt"),
          absl::StrCat("V\t", expiry, "\t\t", p.good.serial_hex(), "\tunknown\t/CN=good\n",
                       "R\t", expiry, "\t", IndexTime(now - absl::Hours(1)), "\t",
                       p.revoked.serial_hex(), "\tunknown\t/CN=revoked\n"));
    // CRLs served over HTTP, and pushed ones (stale, forged) as files.
    mkdir(testing::TestTmpPath("www").c_str(), 0755);
    testing::WriteTestFile(testing::TestTmpPath("www/ca.crl"),
          *IssueCrl(p.inter, {p.revoked.serial_hex(), p.revoked_responder.serial_hex()},
                    now - absl::Hours(1), now + absl::Hours(24)));
    // Both slow CRLs revoke their leaf.
    testing::WriteTestFile(testing::TestTmpPath("www/slow-hard.crl"),
          *IssueCrl(p.inter, {p.slow_crl_hard.serial_hex()}, now - absl::Hours(1),
                    now + absl::Hours(24)));
    testing::WriteTestFile(testing::TestTmpPath("www/slow-soft.crl"),
          *IssueCrl(p.inter, {p.slow_crl_soft.serial_hex()}, now - absl::Hours(1),
                    now + absl::Hours(24)));
    testing::WriteTestFile(testing::TestTmpPath("delegated-index.txt"),
          absl::StrCat("V\t", expiry, "\t\t", p.answered_by_delegated.serial_hex(),
                       "\tunknown\t/CN=delegated\n"));
    testing::WriteTestFile(testing::TestTmpPath("www/root.crl"), *IssueCrl(p.root, {p.revoked_inter.serial_hex(), p.revoked_authority.serial_hex()},
                                         now - absl::Hours(1), now + absl::Hours(24)));
    testing::WriteTestFile(testing::TestTmpPath("stale.crl"),
          *IssueCrl(p.inter, {}, now - absl::Hours(48), now - absl::Hours(24)));
    TestCert impostor = MustIssue(IntermediateSpec("Revocation CA"), &p.root);
    testing::WriteTestFile(testing::TestTmpPath("forged.crl"),
          *IssueCrl(impostor, {}, now - absl::Hours(1), now + absl::Hours(24)));

    // RFC 5280 6.3.3 (f): Revocation CA rolled its key over. The CRL in its
    // name is signed with the new key; the new-with-old certificate (the new
    // key certified by the old one) is pushed next to it.
    TestCert new_with_old = MustIssue(IntermediateSpec("Revocation CA"), &p.inter);
    testing::CrlSpec rollover_spec;
    rollover_spec.this_update = now - absl::Hours(1);
    rollover_spec.next_update = now + absl::Hours(24);
    rollover_spec.entries = {{p.revoked.serial_hex()}};
    const std::string rollover_crl = *IssueCrl(new_with_old, rollover_spec);
    testing::WriteTestFile(testing::TestTmpPath("rollover.pem"),
                           absl::StrCat(testing::DerToPem(rollover_crl, "X509 CRL"),
                                        new_with_old.pem()));
    testing::WriteTestFile(testing::TestTmpPath("rollover-alone.crl"), rollover_crl);

    // An indirect CRL, fetched: the leaves' distribution point names
    // "Revocation CRL Authority" as cRLIssuer; its CRL lists the revoked one
    // under certificateIssuer = Revocation CA. The authority's certificate
    // is in the policy's intermediate store.
    CertSpec authority_spec = IntermediateSpec("Revocation CRL Authority");
    authority_spec.key_usage = "critical,cRLSign";
    p.authority = MustIssue(authority_spec, &p.root);
    testing::WriteTestFile(testing::TestTmpPath("authority.pem"), p.authority.pem());
    testing::WriteTestFile(testing::TestTmpPath("authorities.pem"),
                           absl::StrCat(p.authority.pem(), p.revoked_authority.pem()));
    auto indirect_leaf = [&](const std::string& name, const TestCert& authority,
                             const std::string& url) {
      CertSpec s = LeafSpec(name, {name});
      s.raw_extensions.push_back(
          {"2.5.29.31", false, testing::CrlDistributionPointsDer({url}, &authority)});
      return MustIssue(s, &p.inter);
    };
    p.indirect_good =
        indirect_leaf("indirect-good.example.com", p.authority, crl_base + "authority.crl");
    p.indirect_revoked =
        indirect_leaf("indirect-revoked.example.com", p.authority, crl_base + "authority.crl");
    p.indirect_by_revoked_authority =
        indirect_leaf("indirect-by-revoked.example.com", p.revoked_authority,
                      crl_base + "revoked-authority.crl");
    auto indirect_crl = [&](const std::string& url, std::vector<std::string> serials) {
      testing::CrlSpec spec;
      spec.this_update = now - absl::Hours(1);
      spec.next_update = now + absl::Hours(24);
      spec.idp.emplace().indirect = true;
      spec.idp->uris = {url};
      for (std::string& serial : serials) {
        testing::CrlEntrySpec entry;
        entry.serial_hex = std::move(serial);
        entry.certificate_issuer = &p.inter;
        spec.entries.push_back(entry);
      }
      return spec;
    };
    testing::WriteTestFile(
        testing::TestTmpPath("www/authority.crl"),
        *IssueCrl(p.authority, indirect_crl(crl_base + "authority.crl",
                                            {p.indirect_revoked.serial_hex()})));
    testing::WriteTestFile(
        testing::TestTmpPath("www/revoked-authority.crl"),
        *IssueCrl(p.revoked_authority, indirect_crl(crl_base + "revoked-authority.crl", {})));

    // A CRL whose freshestCRL names itself: fetched once, no loop.
    CertSpec self_spec = LeafSpec("self.example.com", {"self.example.com"});
    self_spec.crl_distribution_points = {crl_base + "self.crl"};
    p.self_named = MustIssue(self_spec, &p.inter);
    testing::CrlSpec self_crl;
    self_crl.this_update = now - absl::Hours(1);
    self_crl.next_update = now + absl::Hours(24);
    self_crl.freshest_urls = {crl_base + "self.crl"};
    testing::WriteTestFile(testing::TestTmpPath("www/self.crl"), *IssueCrl(p.inter, self_crl));

    // `openssl ocsp` for Revocation CA, answering from `index` and signing
    // with `signer` (its files <signer>.pem and <signer>.key).
    auto ocsp_responder = [](const std::string& index, int port, const std::string& signer) {
      return new testing::HelperProcess(
          {"/usr/bin/openssl", "ocsp", "-index", testing::TestTmpPath(index), "-port",
           absl::StrCat(port), "-rsigner", testing::TestTmpPath(signer + ".pem"), "-rkey",
           testing::TestTmpPath(signer + ".key"), "-CA", testing::TestTmpPath("ca.pem"),
           "-nmin", "10"},
          port);
    };
    ocsp_ = ocsp_responder("index.txt", ocsp_port, "ca");
    // The same responder software, signing as the delegated responder.
    delegated_ocsp_ = ocsp_responder("delegated-index.txt", delegated_ocsp_port, "responder");
    http_ = new testing::HelperProcess({"/usr/bin/python3",
                                        Runfile("tests/integration/aia_http_server.py"),
                                        absl::StrCat(http_port), testing::TestTmpPath("www")},
                                       http_port);

    pki::ParseError error;
    const std::string root_spki = absl::Base64Escape(
        pki::Certificate::Parse(p.root.der, &error)->spki_sha256());
    const std::string other_spki = absl::Base64Escape(std::string(32, 'x'));
    const std::string fetch =
        "fetch { allowed_hosts: \"127.0.0.1\" allow_private_addresses: true "
        "total_timeout_ms: 2000 }";
    const std::string store = "trust_stores { pem_file: \"root.pem\" } profile: RFC5280 ";
    testing::WriteTestFile(testing::TestTmpPath("policy.textproto"),
          absl::StrCat(
              "version: \"rev-1\" default_policy: \"ocsp\"\n",
              "policies { name: \"ocsp\" ", store,
              "revocation { mode: HARD_FAIL fetch_ocsp: true leaf_only: true ", fetch, " } }\n",
              "policies { name: \"ocsp_whole_chain\" ", store,
              "revocation { mode: HARD_FAIL fetch_ocsp: true fetch_crls: true ", fetch, " } }\n",
              "policies { name: \"crl\" ", store,
              "revocation { mode: HARD_FAIL fetch_crls: true ", fetch, " } }\n",
              "policies { name: \"crl_soft\" ", store,
              "revocation { mode: SOFT_FAIL fetch_crls: true ", fetch, " } }\n",
              "policies { name: \"stapled\" ", store,
              "revocation { mode: HARD_FAIL leaf_only: true } }\n",
              "policies { name: \"soft\" ", store,
              "revocation { mode: SOFT_FAIL fetch_ocsp: true leaf_only: true ", fetch, " } }\n",
              "policies { name: \"stale\" ", store,
              "revocation { mode: HARD_FAIL leaf_only: true crl_files: \"stale.crl\" } }\n",
              "policies { name: \"forged\" ", store,
              "revocation { mode: HARD_FAIL leaf_only: true crl_files: \"forged.crl\" } }\n",
              "policies { name: \"rollover\" ", store,
              "revocation { mode: HARD_FAIL leaf_only: true crl_files: \"rollover.pem\" } }\n",
              "policies { name: \"rollover_alone\" ", store,
              "revocation { mode: HARD_FAIL leaf_only: true crl_files: \"rollover-alone.crl\" } }\n",
              "policies { name: \"indirect\" ", store,
              "intermediate_stores { pem_file: \"authority.pem\" } ",
              "revocation { mode: HARD_FAIL fetch_crls: true leaf_only: true ", fetch, " } }\n",
              "policies { name: \"indirect_whole_chain\" ", store,
              "intermediate_stores { pem_file: \"authorities.pem\" } ",
              "revocation { mode: HARD_FAIL fetch_crls: true ", fetch, " } }\n",
              "policies { name: \"crl_cap\" ", store,
              "revocation { mode: HARD_FAIL fetch_crls: true leaf_only: true fetch { ",
              "allowed_hosts: \"127.0.0.1\" allow_private_addresses: true max_crl_bytes: 64 } } }\n",
              "policies { name: \"pinned\" ", store, "pin_sets { name: \"root\" scope: ANCHOR ",
              "pin_sha256: \"", root_spki, "\" } }\n",
              "policies { name: \"pinned_wrong\" ", store, "pin_sets { name: \"other\" ",
              "pin_sha256: \"", other_spki, "\" } }\n",
              "policies { name: \"pinned_report\" ", store, "pin_sets { name: \"other\" ",
              "report_only: true pin_sha256: \"", other_spki, "\" } }\n",
              "policies { name: \"distrusted\" ", store, "anchor_constraints { spki_sha256: \"",
              root_spki, "\" distrust_issued_after { seconds: 1600000000 } } }\n"));
  }

  static void TearDownTestSuite() {
    delete ocsp_;
    delete delegated_ocsp_;
    delete http_;
  }

  void SetUp() override {
    auto server = ServerProcess::Start(
        Runfile("server/chainverifyd"),
        {"--policy_file=" + testing::TestTmpPath("policy.textproto"), "--audit_log=" + testing::TestTmpPath("audit.log")});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::make_unique<ServerProcess>(*std::move(server));
    stub_ = v1::ChainVerifier::NewStub(
        grpc::CreateChannel(server_->target(), grpc::InsecureChannelCredentials()));
  }

  v1::VerifyResponse Verify(const std::string& policy, const TestCert& leaf,
                            const TestCert& inter, const std::string& staple = "",
                            absl::Duration deadline = absl::Seconds(20)) {
    v1::VerifyRequest request;
    request.add_certificates(leaf.der);
    request.add_certificates(inter.der);
    request.set_policy(policy);
    request.set_stapled_ocsp_response(staple);
    v1::VerifyResponse response;
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + deadline));
    grpc::Status status = stub_->Verify(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  struct Pki {
    TestCert root, inter, revoked_inter, good, revoked, unreachable, under_revoked_ca;
    TestCert slow_crl_hard, slow_crl_soft;
    TestCert revoked_responder, answered_by_delegated;
    TestCert authority, revoked_authority, indirect_good, indirect_revoked,
        indirect_by_revoked_authority, self_named;
  };
  static Pki* pki_;
  static testing::HelperProcess* ocsp_;
  static testing::HelperProcess* delegated_ocsp_;
  static testing::HelperProcess* http_;
  static int dead_port_;
  static int ocsp_port_;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<v1::ChainVerifier::Stub> stub_;
};

RevocationPolicyTest::Pki* RevocationPolicyTest::pki_ = nullptr;
testing::HelperProcess* RevocationPolicyTest::ocsp_ = nullptr;
testing::HelperProcess* RevocationPolicyTest::delegated_ocsp_ = nullptr;
testing::HelperProcess* RevocationPolicyTest::http_ = nullptr;
int RevocationPolicyTest::dead_port_ = 0;
int RevocationPolicyTest::ocsp_port_ = 0;

TEST_F(RevocationPolicyTest, FetchedOcspGoodAndRevoked) {
  v1::VerifyResponse good = Verify("ocsp", pki_->good, pki_->inter);
  EXPECT_EQ(good.verdict(), v1::TRUSTED) << good.DebugString();
  ASSERT_EQ(good.revocation_size(), 1);
  EXPECT_EQ(good.revocation(0).state(), v1::RevocationResult::GOOD);
  EXPECT_EQ(good.revocation(0).source().rfind("ocsp:", 0), 0u) << good.revocation(0).source();

  v1::VerifyResponse revoked = Verify("ocsp", pki_->revoked, pki_->inter);
  EXPECT_EQ(revoked.status(), v1::REVOKED);
}

TEST_F(RevocationPolicyTest, FetchedCrlsCoverLeafAndIntermediate) {
  v1::VerifyResponse good = Verify("crl", pki_->good, pki_->inter);
  EXPECT_EQ(good.verdict(), v1::TRUSTED) << good.DebugString();
  EXPECT_EQ(good.revocation_size(), 2);
  EXPECT_EQ(Verify("crl", pki_->revoked, pki_->inter).status(), v1::REVOKED);
  // The intermediate is on the root's CRL.
  v1::VerifyResponse sub = Verify("crl", pki_->under_revoked_ca, pki_->revoked_inter);
  EXPECT_EQ(sub.status(), v1::REVOKED);
}

TEST_F(RevocationPolicyTest, StapledResponseIsUsedWithoutFetching) {
  // Ask the real responder for the leaf's status, as a TLS server would, and
  // staple it.
  std::string out;
  const std::string leaf_pem = testing::TestTmpPath("good-leaf.pem");
  testing::WriteTestFile(leaf_pem, pki_->good.pem());
  ASSERT_EQ(testing::RunCommand({"/usr/bin/openssl", "ocsp", "-issuer", testing::TestTmpPath("ca.pem"), "-cert",
                                 leaf_pem, "-url", absl::StrCat("http://127.0.0.1:", ocsp_port_),
                                 "-respout", testing::TestTmpPath("staple.der"), "-noverify"},
                                &out),
            0);
  std::ifstream in(testing::TestTmpPath("staple.der"), std::ios::binary);
  const std::string staple((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_FALSE(staple.empty());

  v1::VerifyResponse with = Verify("stapled", pki_->good, pki_->inter, staple);
  EXPECT_EQ(with.verdict(), v1::TRUSTED) << with.DebugString();
  ASSERT_EQ(with.revocation_size(), 1);
  EXPECT_EQ(with.revocation(0).source().rfind("stapled-ocsp:", 0), 0u);
  // Without the staple the hard-fail policy has no source for the leaf.
  EXPECT_EQ(Verify("stapled", pki_->good, pki_->inter).status(), v1::REVOCATION_UNKNOWN);
  // A staple for another certificate does not vouch for this one.
  EXPECT_EQ(Verify("stapled", pki_->revoked, pki_->inter, staple).status(),
            v1::REVOCATION_UNKNOWN);
}

TEST_F(RevocationPolicyTest, UnreachableResponderHardVersusSoftFail) {
  const absl::Time start = absl::Now();
  EXPECT_EQ(Verify("ocsp", pki_->unreachable, pki_->inter).status(), v1::REVOCATION_UNKNOWN);
  v1::VerifyResponse soft = Verify("soft", pki_->unreachable, pki_->inter);
  EXPECT_EQ(soft.verdict(), v1::TRUSTED);
  ASSERT_EQ(soft.revocation_size(), 1);
  EXPECT_EQ(soft.revocation(0).state(), v1::RevocationResult::UNKNOWN);
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));  // Never a hang.
}

// A revocation source slower than the caller's deadline: the caller gets the
// policy's answer for an unknown status in time (not DEADLINE_EXCEEDED), and
// the transfer goes on, so the next request is answered from its CRL.
TEST_F(RevocationPolicyTest, SlowCrlAnswersUnknownInTimeAndServesTheNextRequest) {
  const absl::Duration deadline = absl::Milliseconds(600);
  absl::Time start = absl::Now();
  v1::VerifyResponse hard = Verify("crl", pki_->slow_crl_hard, pki_->inter, "", deadline);
  EXPECT_LT(absl::Now() - start, deadline);
  EXPECT_EQ(hard.status(), v1::REVOCATION_UNKNOWN);
  ASSERT_GE(hard.revocation_size(), 1);
  EXPECT_EQ(hard.revocation(0).state(), v1::RevocationResult::UNKNOWN);
  EXPECT_TRUE(absl::StrContains(hard.revocation(0).detail(), "the transfer goes on"))
      << hard.revocation(0).detail();

  start = absl::Now();
  v1::VerifyResponse soft = Verify("crl_soft", pki_->slow_crl_soft, pki_->inter, "", deadline);
  EXPECT_LT(absl::Now() - start, deadline);
  EXPECT_EQ(soft.verdict(), v1::TRUSTED);
  ASSERT_GE(soft.revocation_size(), 1);
  EXPECT_EQ(soft.revocation(0).state(), v1::RevocationResult::UNKNOWN);

  // Both transfers have landed by now.
  absl::SleepFor(kSlowCrl);
  EXPECT_EQ(Verify("crl", pki_->slow_crl_hard, pki_->inter, "", deadline).status(),
            v1::REVOKED);
  EXPECT_EQ(Verify("crl_soft", pki_->slow_crl_soft, pki_->inter, "", deadline).status(),
            v1::REVOKED);
}

TEST_F(RevocationPolicyTest, StaleAndForgedPushedCrlsAreUnknown) {
  EXPECT_EQ(Verify("stale", pki_->good, pki_->inter).status(), v1::REVOCATION_UNKNOWN);
  EXPECT_EQ(Verify("forged", pki_->good, pki_->inter).status(), v1::REVOCATION_UNKNOWN);
}

TEST_F(RevocationPolicyTest, CrlSignedWithTheCasNewKeyAfterRollover) {
  v1::VerifyResponse good = Verify("rollover", pki_->good, pki_->inter);
  EXPECT_EQ(good.verdict(), v1::TRUSTED) << good.DebugString();
  ASSERT_EQ(good.revocation_size(), 1);
  EXPECT_EQ(good.revocation(0).state(), v1::RevocationResult::GOOD);
  EXPECT_EQ(Verify("rollover", pki_->revoked, pki_->inter).status(), v1::REVOKED);
  // Without the certificate linking the keys, the CRL is not known to be
  // the CA's.
  v1::VerifyResponse alone = Verify("rollover_alone", pki_->good, pki_->inter);
  EXPECT_EQ(alone.status(), v1::REVOCATION_UNKNOWN) << alone.DebugString();
}

TEST_F(RevocationPolicyTest, FetchedIndirectCrl) {
  v1::VerifyResponse good = Verify("indirect", pki_->indirect_good, pki_->inter);
  EXPECT_EQ(good.verdict(), v1::TRUSTED) << good.DebugString();
  ASSERT_EQ(good.revocation_size(), 1);
  EXPECT_EQ(good.revocation(0).source(), "crl:CN=Revocation CRL Authority #1");
  v1::VerifyResponse revoked = Verify("indirect", pki_->indirect_revoked, pki_->inter);
  EXPECT_EQ(revoked.status(), v1::REVOKED) << revoked.DebugString();
}

TEST_F(RevocationPolicyTest, RevokedDelegatedOcspResponderIsNoSource) {
  // A leaf-only policy does not check the responder: `openssl ocsp`, signing
  // as the delegated responder, answers "good".
  v1::VerifyResponse leaf_only = Verify("ocsp", pki_->answered_by_delegated, pki_->inter);
  EXPECT_EQ(leaf_only.verdict(), v1::TRUSTED) << leaf_only.DebugString();
  ASSERT_GE(leaf_only.revocation_size(), 1);
  EXPECT_EQ(leaf_only.revocation(0).source(), "ocsp:CN=Revocation OCSP Responder");
  // The whole-chain policy checks it too: CA's CRL, fetched from the
  // responder's distribution point, revokes it, so its answer is not used
  // and the leaf has no other source.
  v1::VerifyResponse whole = Verify("ocsp_whole_chain", pki_->answered_by_delegated, pki_->inter);
  EXPECT_EQ(whole.status(), v1::REVOCATION_UNKNOWN) << whole.DebugString();
  ASSERT_GE(whole.revocation_size(), 1);
  EXPECT_TRUE(absl::StrContains(whole.revocation(0).detail(),
                                "its delegated responder is refused (revocation.revoked"))
      << whole.DebugString();
  // Answers the CA signs itself stand under the same policy.
  EXPECT_EQ(Verify("ocsp_whole_chain", pki_->good, pki_->inter).verdict(), v1::TRUSTED);
}

TEST_F(RevocationPolicyTest, CrlAuthorityRevokedByItsIssuerIsNoSource) {
  // Whole-chain policy: the CRL authority's own path is checked too. Root's
  // CRL (fetched from the authority's distribution point) revokes "Revoked
  // CRL Authority", so the indirect CRL it signed does not count, and the
  // leaf's status is unknown under hard fail.
  v1::VerifyResponse refused =
      Verify("indirect_whole_chain", pki_->indirect_by_revoked_authority, pki_->inter);
  EXPECT_EQ(refused.status(), v1::REVOCATION_UNKNOWN) << refused.DebugString();
  ASSERT_GE(refused.revocation_size(), 1);
  EXPECT_EQ(refused.revocation(0).state(), v1::RevocationResult::UNKNOWN);
  EXPECT_TRUE(absl::StrContains(refused.revocation(0).detail(), "revocation.revoked"))
      << refused.DebugString();
  // The other authority has no distribution point: its status is unknown,
  // which does not refuse it.
  v1::VerifyResponse good = Verify("indirect_whole_chain", pki_->indirect_good, pki_->inter);
  EXPECT_EQ(good.verdict(), v1::TRUSTED) << good.DebugString();
  EXPECT_EQ(Verify("indirect_whole_chain", pki_->indirect_revoked, pki_->inter).status(),
            v1::REVOKED);
}

TEST_F(RevocationPolicyTest, FetchedCrlOverTheCapIsRefusedWithTheReason) {
  v1::VerifyResponse r = Verify("crl_cap", pki_->good, pki_->inter);
  EXPECT_EQ(r.status(), v1::REVOCATION_UNKNOWN);
  ASSERT_EQ(r.revocation_size(), 1);
  EXPECT_TRUE(absl::StrContains(r.revocation(0).detail(), "larger than 64 bytes"))
      << r.revocation(0).detail();
}

TEST_F(RevocationPolicyTest, CrlNamingItselfAsFreshestCrlIsFetchedOnce) {
  const absl::Time start = absl::Now();
  v1::VerifyResponse r = Verify("crl", pki_->self_named, pki_->inter);
  EXPECT_EQ(r.verdict(), v1::TRUSTED) << r.DebugString();
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

TEST_F(RevocationPolicyTest, PinsAndDistrust) {
  EXPECT_EQ(Verify("pinned", pki_->good, pki_->inter).verdict(), v1::TRUSTED);
  EXPECT_EQ(Verify("pinned_wrong", pki_->good, pki_->inter).status(), v1::PIN_MISMATCH);
  v1::VerifyResponse report = Verify("pinned_report", pki_->good, pki_->inter);
  EXPECT_EQ(report.verdict(), v1::TRUSTED);
  bool warned = false;
  for (const auto& e : report.errors()) warned |= e.id() == "pin.mismatch";
  EXPECT_TRUE(warned);
  EXPECT_EQ(Verify("distrusted", pki_->good, pki_->inter).status(), v1::POLICY_DENIED);
}

}  // namespace
}  // namespace chainverify
