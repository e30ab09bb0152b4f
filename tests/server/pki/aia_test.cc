// AIA in the core: caIssuers URLs, the response formats CAs serve, and path
// building that completes incomplete chains from the intermediate store and
// through the IssuerFetcher delegate. The delegate here serves bodies from a
// map (the real one, over HTTP, is tested end to end in
// tests/integration/incomplete_chain_test.cc).
#include "server/pki/aia.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"
#include "server/pki/caches.h"
#include "server/pki/hostname_match.h"
#include "server/pki/verifier.h"
#include "tests/testutil/test_pki.h"

namespace chainverify::pki {
namespace {

using ::chainverify::testing::CertSpec;
using ::chainverify::testing::DerToPem;
using ::chainverify::testing::IntermediateSpec;
using ::chainverify::testing::LeafSpec;
using ::chainverify::testing::MustIssue;
using ::chainverify::testing::Pkcs7CertsOnly;
using ::chainverify::testing::RootSpec;
using ::chainverify::testing::TestCert;

const absl::Time kNow = absl::FromUnixSeconds(1800000000);  // 2027-01-15

struct Certs {
  TestCert root = MustIssue(RootSpec("AIA Root"), nullptr);
  TestCert ica = MustIssue(IntermediateSpec("AIA CA"), &root);
  TestCert other = MustIssue(IntermediateSpec("Other CA"), &root);
};

const Certs& C() {
  static const Certs* certs = new Certs();
  return *certs;
}

TEST(ParseIssuerResponseTest, OneDerCertificate) {
  absl::StatusOr<std::vector<std::string>> got = ParseIssuerResponse(C().ica.der, 16);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, std::vector<std::string>{C().ica.der});
}

TEST(ParseIssuerResponseTest, PemCertificates) {
  absl::StatusOr<std::vector<std::string>> got =
      ParseIssuerResponse(C().ica.pem() + "junk between blocks\n" + C().other.pem(), 16);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, (std::vector<std::string>{C().ica.der, C().other.der}));
}

TEST(ParseIssuerResponseTest, Pkcs7CertsOnlyDerAndPem) {
  const std::string p7 = Pkcs7CertsOnly({&C().ica, &C().other});
  for (const std::string& body : {p7, DerToPem(p7, "PKCS7")}) {
    absl::StatusOr<std::vector<std::string>> got = ParseIssuerResponse(body, 16);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(*got, (std::vector<std::string>{C().ica.der, C().other.der}));
  }
}

TEST(ParseIssuerResponseTest, TooManyCertificatesIsRefused) {
  std::vector<const TestCert*> many(17, &C().ica);
  absl::StatusOr<std::vector<std::string>> p7 = ParseIssuerResponse(Pkcs7CertsOnly(many), 16);
  EXPECT_EQ(p7.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(p7.status().message(), "more than 16 certificates in the response");
  std::string pem;
  for (int i = 0; i < 17; ++i) pem += C().ica.pem();
  EXPECT_FALSE(ParseIssuerResponse(pem, 16).ok());
  EXPECT_TRUE(ParseIssuerResponse(pem, 17).ok());
}

TEST(ParseIssuerResponseTest, GarbageIsRefusedWithAReason) {
  for (const std::string& body :
       {std::string(), std::string("<html>not found</html>"),
        std::string("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
        std::string("\x30\x03\x06\x01\x00", 5)}) {
    absl::StatusOr<std::vector<std::string>> got = ParseIssuerResponse(body, 16);
    EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument) << body;
    EXPECT_FALSE(got.status().message().empty());
  }
}

TEST(CaIssuersUrlsTest, HttpAndPrintableOnly) {
  CertSpec spec = LeafSpec("urls.example", {"urls.example"});
  spec.ca_issuers_urls = {"http://ca.example/a.der", "ldap://ca.example/cn=x",
                          "HTTPS://ca.example/b.p7c", "http://ca.example/\xc3\xa9.der"};
  spec.ocsp_urls = {"http://ocsp.example/"};
  const TestCert leaf = MustIssue(spec, &C().ica);
  ParseError error;
  CertificatePtr cert = Certificate::Parse(leaf.der, &error);
  ASSERT_NE(cert, nullptr);
  EXPECT_EQ(CaIssuersUrls(*cert),
            (std::vector<std::string>{"http://ca.example/a.der", "HTTPS://ca.example/b.p7c"}));
}

// Serves bodies by URL and counts fetches; what an HTTP server would do.
class MapFetcher : public IssuerFetcher {
 public:
  void Serve(const std::string& url, std::string body) { bodies_[url] = std::move(body); }

  absl::StatusOr<Response> Fetch(const std::string& url, absl::Time deadline) override {
    absl::MutexLock lock(&mu_);
    ++fetches_[url];
    last_deadline_ = deadline;
    auto it = bodies_.find(url);
    if (it == bodies_.end()) return absl::UnavailableError(absl::StrCat("GET ", url, ": HTTP 404"));
    return Response{it->second, false};
  }

  int fetches(const std::string& url) {
    absl::MutexLock lock(&mu_);
    return fetches_[url];
  }
  absl::Time last_deadline() {
    absl::MutexLock lock(&mu_);
    return last_deadline_;
  }

 private:
  std::map<std::string, std::string> bodies_;
  absl::Mutex mu_;
  std::map<std::string, int> fetches_ ABSL_GUARDED_BY(mu_);
  absl::Time last_deadline_ ABSL_GUARDED_BY(mu_);
};

std::shared_ptr<TrustStore> StoreOf(const std::vector<const TestCert*>& certs) {
  auto store = std::make_shared<TrustStore>();
  for (const TestCert* cert : certs) {
    ParseError error;
    store->Add(Certificate::Parse(cert->der, &error), "test");
  }
  return store;
}

VerifyResult Verify(const std::vector<const TestCert*>& uploads, VerifyPolicy policy,
                    const std::string& host) {
  VerifyInput input;
  for (const TestCert* cert : uploads) input.certificates.push_back(cert->der);
  input.peer_name = *ParsePeerName(host);
  input.time = kNow;
  if (policy.trust_store == nullptr) policy.trust_store = StoreOf({&C().root});
  return VerifyChain(input, policy);
}

bool HasError(const VerifyResult& r, const CertErrorId& id) {
  for (const CertError& e : r.errors) {
    if (e.id == &id) return true;
  }
  return false;
}

std::string Diagnostics(const VerifyResult& r) {
  std::string out;
  for (const CertError& e : r.errors) absl::StrAppend(&out, e.id->name, ": ", e.diagnostic, "\n");
  return out;
}

// leaf -> level2 -> level1 -> root, each naming its issuer's URL.
struct Levels {
  TestCert level1, level2, leaf;
  explicit Levels(const std::string& prefix) {
    level1 = MustIssue(IntermediateSpec(prefix + " Level 1"), &C().root);
    CertSpec l2 = IntermediateSpec(prefix + " Level 2");
    l2.ca_issuers_urls = {"http://ca.test/" + prefix + "-level1.der"};
    level2 = MustIssue(l2, &level1);
    CertSpec leaf_spec = LeafSpec("leaf.example", {"leaf.example"});
    leaf_spec.ca_issuers_urls = {"http://ca.test/" + prefix + "-level2.der"};
    leaf = MustIssue(leaf_spec, &level2);
  }
  void ServeOn(MapFetcher* fetcher, const std::string& prefix) const {
    fetcher->Serve("http://ca.test/" + prefix + "-level1.der", level1.der);
    fetcher->Serve("http://ca.test/" + prefix + "-level2.der", level2.der);
  }
};

TEST(AiaPathBuildingTest, TwoMissingLevelsAreFetchedAndReported) {
  Levels pki("two");
  auto fetcher = std::make_shared<MapFetcher>();
  pki.ServeOn(fetcher.get(), "two");
  VerifyPolicy policy;
  policy.issuers.fetcher = fetcher;
  const absl::Time before = absl::Now();
  VerifyResult r = Verify({&pki.leaf}, policy, "leaf.example");
  ASSERT_TRUE(r.trusted) << Diagnostics(r);
  ASSERT_EQ(r.chain.size(), 4u);
  EXPECT_EQ(r.chain[1].source, CertificateSource::kAiaFetch);
  EXPECT_EQ(*r.chain[1].fetched_from, "http://ca.test/two-level2.der");
  EXPECT_EQ(r.chain[2].source, CertificateSource::kAiaFetch);
  EXPECT_EQ(r.chain[3].source, CertificateSource::kTrustStore);
  EXPECT_TRUE(HasError(r, kPathCompletedByFetch));
  ASSERT_EQ(r.issuer_fetches.size(), 2u);
  EXPECT_EQ(r.issuer_fetches[0].outcome, IssuerFetchNote::Outcome::kFetched);
  EXPECT_EQ(r.stats.issuer_fetches, 2);
  // The fetch may wait only as long as the search may run.
  EXPECT_LE(fetcher->last_deadline(), before + SearchLimits().deadline + absl::Seconds(1));
}

TEST(AiaPathBuildingTest, WithoutAFetcherNothingIsFetched) {
  Levels pki("none");
  VerifyResult r = Verify({&pki.leaf}, VerifyPolicy(), "leaf.example");
  EXPECT_EQ(r.status, v1::NO_PATH_TO_TRUSTED_ANCHOR);
  EXPECT_TRUE(r.issuer_fetches.empty());
}

TEST(AiaPathBuildingTest, FetchBudgetRunsOutAsSearchLimitReached) {
  Levels pki("budget");
  auto fetcher = std::make_shared<MapFetcher>();
  pki.ServeOn(fetcher.get(), "budget");
  VerifyPolicy policy;
  policy.issuers.fetcher = fetcher;
  policy.issuers.max_fetches = 1;
  VerifyResult r = Verify({&pki.leaf}, policy, "leaf.example");
  EXPECT_EQ(r.status, v1::SEARCH_LIMIT_REACHED) << Diagnostics(r);
  EXPECT_TRUE(HasError(r, kPathFetchLimit));
  EXPECT_EQ(fetcher->fetches("http://ca.test/budget-level1.der"), 0);
}

TEST(AiaPathBuildingTest, FetchedCertificatesPerPathAreBounded) {
  Levels pki("depth");
  auto fetcher = std::make_shared<MapFetcher>();
  pki.ServeOn(fetcher.get(), "depth");
  VerifyPolicy policy;
  policy.issuers.fetcher = fetcher;
  policy.issuers.max_fetched_per_path = 1;
  VerifyResult r = Verify({&pki.leaf}, policy, "leaf.example");
  EXPECT_EQ(r.status, v1::NO_PATH_TO_TRUSTED_ANCHOR);
  EXPECT_NE(Diagnostics(r).find("already holds 1 fetched"), std::string::npos) << Diagnostics(r);
}

TEST(AiaPathBuildingTest, FailedFetchNamesTheUrlAndTheReason) {
  Levels pki("missing");
  auto fetcher = std::make_shared<MapFetcher>();  // Serves nothing: 404.
  VerifyPolicy policy;
  policy.issuers.fetcher = fetcher;
  VerifyResult r = Verify({&pki.leaf}, policy, "leaf.example");
  EXPECT_EQ(r.status, v1::NO_PATH_TO_TRUSTED_ANCHOR);
  EXPECT_NE(Diagnostics(r).find("caIssuers http://ca.test/missing-level2.der: GET "
                                "http://ca.test/missing-level2.der: HTTP 404"),
            std::string::npos)
      << Diagnostics(r);
  ASSERT_EQ(r.issuer_fetches.size(), 1u);
  EXPECT_EQ(r.issuer_fetches[0].outcome, IssuerFetchNote::Outcome::kFailed);
}

// Results that fetched depend on the network, not only on the inputs: they are
// never served from the whole-result cache.
TEST(AiaPathBuildingTest, FetchingResultsAreNotCachedWhole) {
  Levels pki("cache");
  auto fetcher = std::make_shared<MapFetcher>();
  pki.ServeOn(fetcher.get(), "cache");
  VerifierCaches caches{VerifierCaches::Options{}};
  VerifyPolicy policy;
  policy.issuers.fetcher = fetcher;
  policy.caches = &caches;
  policy.result_cache_scope = std::make_shared<int>(0);
  policy.trust_store = StoreOf({&C().root});
  for (int i = 0; i < 2; ++i) {
    VerifyResult r = Verify({&pki.leaf}, policy, "leaf.example");
    EXPECT_TRUE(r.trusted);
    EXPECT_FALSE(r.from_result_cache);
  }
  EXPECT_EQ(fetcher->fetches("http://ca.test/cache-level2.der"), 2);
}

TEST(IntermediateStoreTest, CompletesAfterTheUploadsAndIsNeverAnAnchor) {
  Levels pki("store");
  VerifyPolicy policy;
  policy.issuers.intermediates = StoreOf({&pki.level1, &pki.level2});
  VerifyResult r = Verify({&pki.leaf}, policy, "leaf.example");
  ASSERT_TRUE(r.trusted) << Diagnostics(r);
  ASSERT_EQ(r.chain.size(), 4u);
  EXPECT_EQ(r.chain[1].source, CertificateSource::kIntermediateStore);
  EXPECT_EQ(r.chain[1].anchor, nullptr);
  EXPECT_EQ(r.chain[2].source, CertificateSource::kIntermediateStore);
  EXPECT_FALSE(HasError(r, kPathCompletedByFetch));

  // An uploaded copy is the upload.
  VerifyResult uploaded = Verify({&pki.leaf, &pki.level2}, policy, "leaf.example");
  ASSERT_TRUE(uploaded.trusted);
  EXPECT_EQ(uploaded.chain[1].source, CertificateSource::kUpload);
  EXPECT_EQ(uploaded.chain[1].request_index, 1);

  // A store of intermediates with no anchor above them verifies nothing.
  VerifyPolicy no_anchor = policy;
  no_anchor.trust_store = StoreOf({&C().other});
  EXPECT_EQ(Verify({&pki.leaf}, no_anchor, "leaf.example").status,
            v1::NO_PATH_TO_TRUSTED_ANCHOR);
}

// The store answers before anything is fetched.
TEST(IntermediateStoreTest, StoreBeforeFetching) {
  Levels pki("order");
  auto fetcher = std::make_shared<MapFetcher>();
  pki.ServeOn(fetcher.get(), "order");
  VerifyPolicy policy;
  policy.issuers.fetcher = fetcher;
  policy.issuers.intermediates = StoreOf({&pki.level2});
  VerifyResult r = Verify({&pki.leaf}, policy, "leaf.example");
  ASSERT_TRUE(r.trusted) << Diagnostics(r);
  EXPECT_EQ(r.chain[1].source, CertificateSource::kIntermediateStore);
  EXPECT_EQ(r.chain[2].source, CertificateSource::kAiaFetch);
  EXPECT_EQ(fetcher->fetches("http://ca.test/order-level2.der"), 0);
  EXPECT_EQ(fetcher->fetches("http://ca.test/order-level1.der"), 1);
}

}  // namespace
}  // namespace chainverify::pki
