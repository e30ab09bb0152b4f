// Incomplete chains end to end: chainverifyd completing a leaf-only upload
// from the policy's intermediate store and by AIA chasing, against a real HTTP
// server on loopback (tests/integration/aia_http_server.py, Python's
// http.server) serving what CAs serve and what a hostile certificate can
// point at. After every hostile case the server must still decide a good
// request.
#include <signal.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "chainverify/v1/audit.pb.h"
#include "chainverify/v1/verifier.grpc.pb.h"
#include "gtest/gtest.h"
#include "server/audit/audit_chain.h"
#include "tests/integration/server_process.h"
#include "tests/testutil/test_pki.h"

namespace chainverify {
namespace {

using ::chainverify::testing::CertSpec;
using ::chainverify::testing::IntermediateSpec;
using ::chainverify::testing::KeyType;
using ::chainverify::testing::LeafSpec;
using ::chainverify::testing::MustIssue;
using ::chainverify::testing::RootSpec;
using ::chainverify::testing::Runfile;
using ::chainverify::testing::ServerProcess;
using ::chainverify::testing::TestCert;
using ::chainverify::testing::TestKey;
using ::chainverify::testing::TestTmpPath;
using ::chainverify::testing::WriteTestFile;

// chainverifyd's default --search_deadline, which bounds every fetch.
constexpr absl::Duration kSearchDeadline = absl::Seconds(2);
// Generous slack for a loaded machine or a sanitizer build.
constexpr absl::Duration kSlack = absl::Seconds(2);
constexpr int kStoreSize = 3000;

std::string Path(const std::string& name) { return TestTmpPath(name); }

void Serve(const std::string& name, const std::string& body) {
  WriteTestFile(Path(absl::StrCat("www/", name)), body);
}

struct Pki {
  std::string base;  // "http://127.0.0.1:<port>/"
  TestCert root, ica, level1, level2;
  TestCert leaf_der, leaf_pem, leaf_p7c, leaf_cache_a, leaf_cache_b, leaf_two_levels;
  TestCert leaf_big, leaf_hang, leaf_redirect, leaf_self, leaf_garbage, leaf_wrong, leaf_many,
      leaf_loop, leaf_slow;
  std::vector<TestCert> slow_intermediates;
  TestCert store_ca, leaf_store;
};

CertSpec LeafWithAia(const std::string& name, const std::string& url) {
  CertSpec spec = LeafSpec(name, {name});
  spec.ca_issuers_urls = {url};
  return spec;
}

// A PKCS#7 certs-only bundle of `certs`, made by the openssl CLI as a CA would.
std::string P7c(const std::vector<const TestCert*>& certs, const std::string& scratch) {
  std::string pem;
  for (const TestCert* cert : certs) pem += cert->pem();
  WriteTestFile(Path(scratch + ".pem"), pem);
  std::string out;
  EXPECT_EQ(testing::RunCommand({"/usr/bin/openssl", "crl2pkcs7", "-nocrl", "-certfile",
                                 Path(scratch + ".pem"), "-outform", "DER", "-out",
                                 Path(scratch + ".p7c")},
                                &out),
            0);
  std::ifstream in(Path(scratch + ".p7c"), std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

class IncompleteChainTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    http_port_ = testing::FreeLoopbackPort();
    mkdir(Path("www").c_str(), 0755);
    mkdir(Path("www/hang").c_str(), 0755);
    pki_ = new Pki;
    Pki& p = *pki_;
    p.base = absl::StrCat("http://127.0.0.1:", http_port_, "/");
    const std::string& base = p.base;

    p.root = MustIssue(RootSpec("AIA Root"), nullptr);
    p.ica = MustIssue(IntermediateSpec("AIA Issuing CA"), &p.root);
    Serve("ica.der", p.ica.der);
    Serve("ica-cache.der", p.ica.der);
    Serve("ica.pem", p.ica.pem());
    Serve("ica.p7c", P7c({&p.ica}, "ica"));
    p.leaf_der = MustIssue(LeafWithAia("der.example.com", base + "ica.der"), &p.ica);
    p.leaf_pem = MustIssue(LeafWithAia("pem.example.com", base + "ica.pem"), &p.ica);
    p.leaf_p7c = MustIssue(LeafWithAia("p7c.example.com", base + "ica.p7c"), &p.ica);
    p.leaf_cache_a = MustIssue(LeafWithAia("a.cache.example.com", base + "ica-cache.der"), &p.ica);
    p.leaf_cache_b = MustIssue(LeafWithAia("b.cache.example.com", base + "ica-cache.der"), &p.ica);

    // Two levels missing: the leaf names level 2, which names level 1.
    p.level1 = MustIssue(IntermediateSpec("AIA Level 1 CA"), &p.root);
    CertSpec level2 = IntermediateSpec("AIA Level 2 CA");
    level2.path_len.reset();
    level2.ca_issuers_urls = {base + "level1.der"};
    p.level2 = MustIssue(level2, &p.level1);
    Serve("level1.der", p.level1.der);
    Serve("level2.der", p.level2.der);
    p.leaf_two_levels = MustIssue(LeafWithAia("two.example.com", base + "level2.der"), &p.level2);

    // Hostile caIssuers URLs.
    p.leaf_big = MustIssue(LeafWithAia("big.example.com", base + "big"), &p.ica);
    p.leaf_hang = MustIssue(LeafWithAia("hang.example.com", base + "hang/1"), &p.ica);
    p.leaf_redirect = MustIssue(LeafWithAia("redirect.example.com", base + "redirect"), &p.ica);
    p.leaf_self = MustIssue(LeafWithAia("self.example.com", base + "self.der"), &p.ica);
    Serve("self.der", p.leaf_self.der);
    p.leaf_garbage = MustIssue(LeafWithAia("garbage.example.com", base + "garbage.der"), &p.ica);
    static constexpr char kGarbage[] = "\x30\x82\x01\x00 not a certificate";
  Serve("garbage.der", std::string(kGarbage, sizeof(kGarbage) - 1));  // keeps the NUL byte
    // Same name as the issuer, another key: it does not verify the leaf.
    p.leaf_wrong = MustIssue(LeafWithAia("wrong.example.com", base + "wrong.der"), &p.ica);
    Serve("wrong.der", MustIssue(IntermediateSpec("AIA Issuing CA"), &p.root).der);

    // A .p7c of 1,000 certificates (one shared key keeps this fast).
    const TestKey shared = TestKey::Generate(KeyType::kEcP256);
    std::vector<TestCert> many;
    for (int i = 0; i < 1000; ++i) {
      many.push_back(MustIssue(IntermediateSpec(absl::StrCat("Bundle CA ", i)), &p.root, shared));
    }
    std::vector<const TestCert*> many_ptrs;
    for (const TestCert& cert : many) many_ptrs.push_back(&cert);
    Serve("many.p7c", P7c(many_ptrs, "many"));
    p.leaf_many = MustIssue(LeafWithAia("many.example.com", base + "many.p7c"), &p.ica);

    // Two CAs that name each other as issuer, each pointing at the other.
    const TestKey key_a = TestKey::Generate(KeyType::kEcP256, /*fresh=*/true);
    const TestKey key_b = TestKey::Generate(KeyType::kEcP256, /*fresh=*/true);
    const TestCert b0 = MustIssue(RootSpec("Loop B"), nullptr, key_b);
    CertSpec a_spec = IntermediateSpec("Loop A");
    a_spec.ca_issuers_urls = {base + "loop-b.der"};
    const TestCert loop_a = MustIssue(a_spec, &b0, key_a);
    CertSpec b_spec = IntermediateSpec("Loop B");
    b_spec.ca_issuers_urls = {base + "loop-a.der"};
    const TestCert loop_b = MustIssue(b_spec, &loop_a, key_b);
    Serve("loop-a.der", loop_a.der);
    Serve("loop-b.der", loop_b.der);
    p.leaf_loop = MustIssue(LeafWithAia("loop.example.com", base + "loop-a.der"), &loop_a);

    // 31 copies of one intermediate (same name and key), each under a
    // different missing CA whose caIssuers URL never answers.
    const TestKey slow_key = TestKey::Generate(KeyType::kEcP256, /*fresh=*/true);
    const TestCert slow_ca = MustIssue(IntermediateSpec("Slow CA"), &p.root, slow_key);
    for (int i = 0; i < 31; ++i) {
      const TestCert missing = MustIssue(RootSpec(absl::StrCat("Missing CA ", i)), nullptr, shared);
      CertSpec spec = IntermediateSpec("Slow CA");
      spec.ca_issuers_urls = {absl::StrCat(base, "hang/slow-", i)};
      p.slow_intermediates.push_back(MustIssue(spec, &missing, slow_key));
    }
    p.leaf_slow = MustIssue(LeafSpec("slow.example.com", {"slow.example.com"}), &slow_ca);

    // An intermediate store of several thousand certificates, one of which
    // issued leaf_store.
    p.store_ca = MustIssue(IntermediateSpec("Store Issuing CA"), &p.root);
    p.leaf_store = MustIssue(LeafSpec("store.example.com", {"store.example.com"}), &p.store_ca);
    std::string store_pem;
    for (int i = 0; i < kStoreSize; ++i) {
      store_pem += MustIssue(IntermediateSpec(absl::StrCat("Fleet CA ", i)), &p.root, shared).pem();
    }
    WriteTestFile(Path("store-without.pem"), store_pem);
    WriteTestFile(Path("store.pem"), store_pem + p.store_ca.pem());

    WriteTestFile(Path("root.pem"), p.root.pem());
    WriteTestFile(Path("policy.textproto"), PolicyText("aia-1", "store.pem"));
    http_ = new testing::HelperProcess(
        {"/usr/bin/python3", Runfile("tests/integration/aia_http_server.py"),
         absl::StrCat(http_port_), Path("www")},
        http_port_);
  }

  static std::string PolicyText(const std::string& version, const std::string& store_file) {
    const std::string root = "trust_stores { pem_file: \"root.pem\" } profile: RFC5280 ";
    const std::string loopback = "allowed_hosts: \"127.0.0.1\" allow_private_addresses: true";
    return absl::StrCat(
        "version: \"", version, "\" default_policy: \"aia\"\n",
        "policies { name: \"aia\" ", root, "aia_fetching { enabled: true fetch { ", loopback,
        " } } }\n",
        "policies { name: \"aia_large\" ", root, "aia_fetching { enabled: true fetch { ",
        loopback, " max_response_bytes: 4194304 } } }\n",
        "policies { name: \"aia_public_only\" ", root,
        "aia_fetching { enabled: true fetch { allowed_hosts: \"127.0.0.1\" } } }\n",
        "policies { name: \"aia_off\" ", root, "}\n",
        "policies { name: \"store\" ", root, "intermediate_stores { pem_file: \"", store_file,
        "\" } }\n");
  }

  static void TearDownTestSuite() { delete http_; }

  void SetUp() override { StartServer(Path("policy.textproto")); }

  void StartServer(const std::string& policy_file) {
    server_.reset();
    auto server = ServerProcess::Start(
        Runfile("server/chainverifyd"),
        {"--policy_file=" + policy_file, "--audit_log=" + Path("audit/audit.log")});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::make_unique<ServerProcess>(*std::move(server));
    stub_ = v1::ChainVerifier::NewStub(
        grpc::CreateChannel(server_->target(), grpc::InsecureChannelCredentials()));
  }

  v1::VerifyResponse Verify(const std::string& policy, const std::vector<const TestCert*>& certs,
                            const std::string& peer_name) {
    v1::VerifyRequest request;
    for (const TestCert* cert : certs) request.add_certificates(cert->der);
    request.set_policy(policy);
    request.set_peer_name(peer_name);
    v1::VerifyResponse response;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    grpc::Status status = stub_->Verify(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  // The server still decides a complete chain after whatever came before.
  void ExpectStillServing() {
    v1::VerifyResponse good =
        Verify("aia", {&pki_->leaf_der, &pki_->ica}, "der.example.com");
    EXPECT_EQ(good.verdict(), v1::TRUSTED) << good.DebugString();
  }

  static int Requests(const std::string& path) {
    const std::string response = testing::HttpGet(http_port_, "/_requests?path=" + path);
    int n = -1;
    const size_t body = response.find("\r\n\r\n");
    if (body == std::string::npos || !absl::SimpleAtoi(response.substr(body + 4), &n)) return -1;
    return n;
  }

  static std::string ErrorsOf(const v1::VerifyResponse& r) {
    std::vector<std::string> out;
    for (const auto& e : r.errors()) out.push_back(absl::StrCat(e.id(), ": ", e.diagnostic()));
    return absl::StrJoin(out, "\n");
  }

  static bool HasError(const v1::VerifyResponse& r, const std::string& id,
                       const std::string& diagnostic_part = "") {
    for (const auto& e : r.errors()) {
      if (e.id() == id && absl::StrContains(e.diagnostic(), diagnostic_part)) return true;
    }
    return false;
  }

  static Pki* pki_;
  static int http_port_;
  static testing::HelperProcess* http_;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<v1::ChainVerifier::Stub> stub_;
};

Pki* IncompleteChainTest::pki_ = nullptr;
int IncompleteChainTest::http_port_ = 0;
testing::HelperProcess* IncompleteChainTest::http_ = nullptr;

TEST_F(IncompleteChainTest, LeafOnlyIsCompletedByFetchingTheIssuerInEachFormat) {
  struct Case {
    const TestCert* leaf;
    std::string name, file;
  };
  for (const Case& c : {Case{&pki_->leaf_der, "der.example.com", "ica.der"},
                        Case{&pki_->leaf_pem, "pem.example.com", "ica.pem"},
                        Case{&pki_->leaf_p7c, "p7c.example.com", "ica.p7c"}}) {
    SCOPED_TRACE(c.file);
    v1::VerifyResponse r = Verify("aia", {c.leaf}, c.name);
    ASSERT_EQ(r.verdict(), v1::TRUSTED) << ErrorsOf(r);
    ASSERT_EQ(r.verified_chain_size(), 3);
    EXPECT_EQ(r.verified_chain(1).source(), v1::AIA_FETCH);
    EXPECT_EQ(r.verified_chain(1).fetched_from(), pki_->base + c.file);
    EXPECT_EQ(r.verified_chain(2).source(), v1::TRUST_STORE);
    EXPECT_TRUE(HasError(r, "path.completed_by_fetch", c.file)) << ErrorsOf(r);
    ASSERT_EQ(r.issuer_fetches_size(), 1);
    EXPECT_EQ(r.issuer_fetches(0).outcome(), v1::IssuerFetch::FETCHED);
    EXPECT_EQ(r.issuer_fetches(0).certificate_sha256(0), r.verified_chain(1).sha256());
  }
}

TEST_F(IncompleteChainTest, WithoutAiaFetchingALeafAloneHasNoPath) {
  const int before = Requests("/ica.der");
  ASSERT_GE(before, 0) << "the HTTP server does not answer";
  v1::VerifyResponse r = Verify("aia_off", {&pki_->leaf_der}, "der.example.com");
  EXPECT_EQ(r.status(), v1::NO_PATH_TO_TRUSTED_ANCHOR);
  EXPECT_EQ(r.issuer_fetches_size(), 0);
  EXPECT_EQ(Requests("/ica.der"), before);
}

TEST_F(IncompleteChainTest, TwoMissingLevelsAreChased) {
  v1::VerifyResponse r = Verify("aia", {&pki_->leaf_two_levels}, "two.example.com");
  ASSERT_EQ(r.verdict(), v1::TRUSTED) << ErrorsOf(r);
  ASSERT_EQ(r.verified_chain_size(), 4);
  EXPECT_EQ(r.verified_chain(1).fetched_from(), pki_->base + "level2.der");
  EXPECT_EQ(r.verified_chain(2).fetched_from(), pki_->base + "level1.der");
  EXPECT_EQ(r.issuer_fetches_size(), 2);
}

TEST_F(IncompleteChainTest, SecondRequestForTheSameIssuerIsServedFromTheCache) {
  v1::VerifyResponse first = Verify("aia", {&pki_->leaf_cache_a}, "a.cache.example.com");
  ASSERT_EQ(first.verdict(), v1::TRUSTED) << ErrorsOf(first);
  v1::VerifyResponse second = Verify("aia", {&pki_->leaf_cache_b}, "b.cache.example.com");
  ASSERT_EQ(second.verdict(), v1::TRUSTED) << ErrorsOf(second);
  ASSERT_EQ(second.issuer_fetches_size(), 1);
  EXPECT_EQ(second.issuer_fetches(0).outcome(), v1::IssuerFetch::CACHED);
  EXPECT_EQ(Requests("/ica-cache.der"), 1);
}

// The verdict, the audit record, `audit query` and the metrics all show it.
TEST_F(IncompleteChainTest, FetchesAreAuditedQueryableAndCounted) {
  v1::VerifyResponse r = Verify("aia", {&pki_->leaf_der}, "der.example.com");
  ASSERT_EQ(r.verdict(), v1::TRUSTED) << ErrorsOf(r);
  Verify("aia", {&pki_->leaf_der, &pki_->ica}, "der.example.com");  // Needs no fetch.
  server_->Stop();  // Flushes the audit log.

  bool found = false;
  for (const std::string& line : testing::ReadLines(Path("audit/audit.log"))) {
    absl::StatusOr<v1::AuditRecord> record = audit::ParseRecordLine(line);
    ASSERT_TRUE(record.ok()) << record.status();
    if (record->decision_id() != r.decision_id()) continue;
    found = true;
    ASSERT_EQ(record->issuer_fetches_size(), 1);
    EXPECT_TRUE(absl::StartsWith(record->issuer_fetches(0), "FETCHED ")) << record->issuer_fetches(0);
    ASSERT_EQ(record->fetched_certificate_sha256_size(), 1);
    EXPECT_EQ(record->fetched_certificate_sha256(0), r.verified_chain(1).sha256());
  }
  EXPECT_TRUE(found);

  std::string all, fetched;
  ASSERT_EQ(testing::RunCommand({Runfile("client/chainverify"), "audit", "query",
                                 Path("audit/audit.log"), "--count"},
                                &all),
            0);
  ASSERT_EQ(testing::RunCommand({Runfile("client/chainverify"), "audit", "query",
                                 Path("audit/audit.log"), "--fetched", "--count"},
                                &fetched),
            0);
  int all_count = 0, fetched_count = 0;
  ASSERT_TRUE(absl::SimpleAtoi(absl::StripAsciiWhitespace(all), &all_count)) << all;
  ASSERT_TRUE(absl::SimpleAtoi(absl::StripAsciiWhitespace(fetched), &fetched_count)) << fetched;
  EXPECT_GE(fetched_count, 1);
  EXPECT_LT(fetched_count, all_count);
}

TEST_F(IncompleteChainTest, MetricsCountCompletedChainsAndFetches) {
  ASSERT_EQ(Verify("aia", {&pki_->leaf_der}, "der.example.com").verdict(), v1::TRUSTED);
  std::string metrics;
  // Fetch totals are gauges the server refreshes every second.
  for (int i = 0; i < 50; ++i) {
    metrics = testing::HttpGet(server_->metrics_port(), "/metrics");
    if (absl::StrContains(metrics, "chainverify_issuer_fetches{outcome=\"miss\"} 1")) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_TRUE(absl::StrContains(metrics,
                                "chainverify_chains_completed_total{source=\"aia_fetch\"} 1"))
      << metrics;
  EXPECT_TRUE(absl::StrContains(metrics, "chainverify_issuer_fetches{outcome=\"miss\"} 1"))
      << metrics;
}

TEST_F(IncompleteChainTest, OversizedResponseIsRefused) {
  v1::VerifyResponse r = Verify("aia", {&pki_->leaf_big}, "big.example.com");
  EXPECT_EQ(r.status(), v1::NO_PATH_TO_TRUSTED_ANCHOR);
  EXPECT_TRUE(HasError(r, "path.no_issuer", pki_->base + "big")) << ErrorsOf(r);
  EXPECT_TRUE(HasError(r, "path.no_issuer", "larger than 65536 bytes")) << ErrorsOf(r);
  ExpectStillServing();
}

TEST_F(IncompleteChainTest, ServerThatNeverAnswersTimesOutWithinTheDeadline) {
  const absl::Time start = absl::Now();
  v1::VerifyResponse r = Verify("aia", {&pki_->leaf_hang}, "hang.example.com");
  EXPECT_LT(absl::Now() - start, kSearchDeadline + kSlack);
  EXPECT_EQ(r.status(), v1::NO_PATH_TO_TRUSTED_ANCHOR) << ErrorsOf(r);
  EXPECT_TRUE(HasError(r, "path.no_issuer", "timed out")) << ErrorsOf(r);
  ASSERT_EQ(r.issuer_fetches_size(), 1);
  EXPECT_EQ(r.issuer_fetches(0).outcome(), v1::IssuerFetch::FAILED);
  ExpectStillServing();
}

TEST_F(IncompleteChainTest, CallersWaitingOnAServerThatNeverAnswersDoNotHoldUpOthers) {
  // gRPC runs handlers on two threads of its own on a machine of this size.
  // Eight callers each wait out the fetch timeout for an issuer from a
  // server that never answers ...
  std::atomic<int> slow_done{0};
  std::vector<std::thread> waiting;
  for (int i = 0; i < 8; ++i) {
    waiting.emplace_back([this, &slow_done] {
      Verify("aia", {&pki_->leaf_hang}, "hang.example.com");
      ++slow_done;
    });
  }
  absl::SleepFor(absl::Milliseconds(300));  // They have all arrived.
  // ... while complete chains, under a policy that fetches nothing and under
  // the same fetching policy, are answered before any of them.
  v1::VerifyResponse inline_policy =
      Verify("aia_off", {&pki_->leaf_der, &pki_->ica}, "der.example.com");
  v1::VerifyResponse fetching_policy =
      Verify("aia", {&pki_->leaf_der, &pki_->ica}, "der.example.com");
  EXPECT_EQ(slow_done.load(), 0) << "the complete chains waited for the fetches";
  EXPECT_EQ(inline_policy.verdict(), v1::TRUSTED) << ErrorsOf(inline_policy);
  EXPECT_EQ(fetching_policy.verdict(), v1::TRUSTED) << ErrorsOf(fetching_policy);
  for (std::thread& t : waiting) t.join();
  EXPECT_EQ(slow_done.load(), 8);
  ExpectStillServing();
}

TEST_F(IncompleteChainTest, RedirectIsNotFollowed) {
  v1::VerifyResponse r = Verify("aia", {&pki_->leaf_redirect}, "redirect.example.com");
  EXPECT_EQ(r.status(), v1::NO_PATH_TO_TRUSTED_ANCHOR);
  EXPECT_TRUE(HasError(r, "path.no_issuer", "169.254.169.254")) << ErrorsOf(r);
  EXPECT_TRUE(HasError(r, "path.no_issuer", "not followed")) << ErrorsOf(r);
  ExpectStillServing();
}

TEST_F(IncompleteChainTest, PrivateAddressIsRefusedUnlessThePolicyAllowsIt) {
  v1::VerifyResponse r = Verify("aia_public_only", {&pki_->leaf_der}, "der.example.com");
  EXPECT_EQ(r.status(), v1::NO_PATH_TO_TRUSTED_ANCHOR);
  EXPECT_TRUE(HasError(r, "path.no_issuer", "non-public address")) << ErrorsOf(r);
  ExpectStillServing();
}

TEST_F(IncompleteChainTest, UrlPointingBackAtTheLeafOrServingGarbageOrAnotherKey) {
  struct Case {
    const TestCert* leaf;
    std::string name, diagnostic;
  };
  for (const Case& c :
       {Case{&pki_->leaf_self, "self.example.com", "none named"},
        Case{&pki_->leaf_garbage, "garbage.example.com", "unparsable"},
        Case{&pki_->leaf_wrong, "wrong.example.com", "does not verify this signature"}}) {
    SCOPED_TRACE(c.name);
    v1::VerifyResponse r = Verify("aia", {c.leaf}, c.name);
    EXPECT_EQ(r.status(), v1::NO_PATH_TO_TRUSTED_ANCHOR) << ErrorsOf(r);
    EXPECT_TRUE(HasError(r, "path.no_issuer", c.diagnostic)) << ErrorsOf(r);
  }
  ExpectStillServing();
}

TEST_F(IncompleteChainTest, TwoCertificatesPointingAtEachOtherEnd) {
  v1::VerifyResponse r = Verify("aia", {&pki_->leaf_loop}, "loop.example.com");
  EXPECT_EQ(r.status(), v1::NO_PATH_TO_TRUSTED_ANCHOR) << ErrorsOf(r);
  EXPECT_EQ(r.issuer_fetches_size(), 2);  // Each URL once.
  ExpectStillServing();
}

TEST_F(IncompleteChainTest, BundleOfAThousandCertificatesIsRefused) {
  // Over the 64 KiB response cap ...
  v1::VerifyResponse capped = Verify("aia", {&pki_->leaf_many}, "many.example.com");
  EXPECT_EQ(capped.status(), v1::NO_PATH_TO_TRUSTED_ANCHOR);
  EXPECT_TRUE(HasError(capped, "path.no_issuer", "larger than")) << ErrorsOf(capped);
  // ... and, with the cap raised, over the certificates-per-response limit.
  v1::VerifyResponse counted = Verify("aia_large", {&pki_->leaf_many}, "many.example.com");
  EXPECT_EQ(counted.status(), v1::NO_PATH_TO_TRUSTED_ANCHOR);
  EXPECT_TRUE(HasError(counted, "path.no_issuer", "more than 16 certificates"))
      << ErrorsOf(counted);
  ExpectStillServing();
}

TEST_F(IncompleteChainTest, ThirtyTwoUploadsNamingSlowUrlsAnswerWithinTheDeadline) {
  std::vector<const TestCert*> upload = {&pki_->leaf_slow};
  for (const TestCert& cert : pki_->slow_intermediates) upload.push_back(&cert);
  ASSERT_EQ(upload.size(), 32u);
  const absl::Time start = absl::Now();
  v1::VerifyResponse r = Verify("aia", upload, "slow.example.com");
  EXPECT_LT(absl::Now() - start, kSearchDeadline + kSlack);
  EXPECT_EQ(r.status(), v1::SEARCH_LIMIT_REACHED) << ErrorsOf(r);
  EXPECT_LE(r.issuer_fetches_size(), 4);
  ExpectStillServing();
}

TEST_F(IncompleteChainTest, IntermediateStoreOfThousandsCompletesALeafAlone) {
  v1::VerifyResponse r = Verify("store", {&pki_->leaf_store}, "store.example.com");
  ASSERT_EQ(r.verdict(), v1::TRUSTED) << ErrorsOf(r);
  ASSERT_EQ(r.verified_chain_size(), 3);
  EXPECT_EQ(r.verified_chain(1).source(), v1::INTERMEDIATE_STORE);
  EXPECT_EQ(r.verified_chain(1).request_index(), -1);
  EXPECT_EQ(r.issuer_fetches_size(), 0);
  // Uploaded, the same intermediate is used as the upload.
  v1::VerifyResponse uploaded =
      Verify("store", {&pki_->leaf_store, &pki_->store_ca}, "store.example.com");
  ASSERT_EQ(uploaded.verdict(), v1::TRUSTED);
  EXPECT_EQ(uploaded.verified_chain(1).source(), v1::REQUEST);
}

// A reload replaces the store whole: every answer during it is either the old
// policy's (the store has the CA: TRUSTED) or the new one's (it does not:
// NO_PATH), never a mix, and the version says which.
TEST_F(IncompleteChainTest, ReloadSwapsTheIntermediateStoreAtomically) {
  const std::string policy = Path("reload-policy.textproto");
  WriteTestFile(policy, PolicyText("store-1", "store.pem"));
  StartServer(policy);
  const std::string old_version =
      Verify("store", {&pki_->leaf_store}, "store.example.com").policy_version();
  ASSERT_TRUE(absl::StartsWith(old_version, "store-1+")) << old_version;

  std::atomic<bool> stop{false};
  std::atomic<int> old_answers{0}, new_answers{0}, inconsistent{0};
  std::thread caller([&] {
    while (!stop.load()) {
      v1::VerifyResponse r = Verify("store", {&pki_->leaf_store}, "store.example.com");
      const bool is_old = r.policy_version() == old_version;
      if (is_old) ++old_answers; else ++new_answers;
      if (is_old != (r.verdict() == v1::TRUSTED)) ++inconsistent;
    }
  });
  absl::SleepFor(absl::Milliseconds(200));
  WriteTestFile(policy, PolicyText("store-2", "store-without.pem"));
  kill(server_->pid(), SIGHUP);
  const absl::Time give_up = absl::Now() + absl::Seconds(20);
  while (new_answers.load() < 20 && absl::Now() < give_up) absl::SleepFor(absl::Milliseconds(50));
  stop.store(true);
  caller.join();
  EXPECT_GT(old_answers.load(), 0);
  EXPECT_GE(new_answers.load(), 20);
  EXPECT_EQ(inconsistent.load(), 0);
  v1::VerifyResponse after = Verify("store", {&pki_->leaf_store}, "store.example.com");
  EXPECT_TRUE(absl::StartsWith(after.policy_version(), "store-2+")) << after.policy_version();
  EXPECT_EQ(after.status(), v1::NO_PATH_TO_TRUSTED_ANCHOR);
  EXPECT_TRUE(HasError(after, "path.no_issuer", "intermediate store")) << ErrorsOf(after);
}

}  // namespace
}  // namespace chainverify
