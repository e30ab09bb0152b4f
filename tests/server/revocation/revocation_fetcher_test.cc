// Tests of HttpRevocationFetcher's CRL side (revocation_fetcher.h): parsed
// CRLs shared across requests, the size cap, freshestCRL, against a real
// `python3 -m http.server` on loopback.
#include "server/revocation/revocation_fetcher.h"

#include <sys/stat.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "server/pki/certificate.h"
#include "tests/integration/server_process.h"
#include "tests/testutil/test_pki.h"

namespace chainverify::revocation {
namespace {

constexpr absl::Time kNoDeadline = absl::InfiniteFuture();

using ::chainverify::testing::CertSpec;
using ::chainverify::testing::CrlSpec;
using ::chainverify::testing::MustIssue;
using ::chainverify::testing::TestCert;

class RevocationFetcherTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    port_ = testing::FreeLoopbackPort();
    base_ = absl::StrCat("http://127.0.0.1:", port_, "/");
    ca_ = new TestCert(MustIssue(testing::RootSpec("Fetch CA"), nullptr));
    const std::string www = testing::TestTmpPath("www");
    mkdir(www.c_str(), 0755);
    const absl::Time now = absl::Now();
    auto write = [&](const std::string& name, CrlSpec spec) {
      spec.this_update = now - absl::Hours(1);
      spec.next_update = now + absl::Hours(1);
      testing::WriteTestFile(absl::StrCat(www, "/", name), *testing::IssueCrl(*ca_, spec));
    };
    CrlSpec complete;
    complete.number = 10;
    complete.freshest_urls = {base_ + "delta.crl"};
    write("complete.crl", complete);
    CrlSpec delta;
    delta.number = 11;
    delta.delta_base = 10;
    delta.freshest_urls = {base_ + "delta.crl"};  // A delta's own: not followed.
    write("delta.crl", delta);
    CrlSpec self;
    self.freshest_urls = {base_ + "self.crl"};
    write("self.crl", self);
    CrlSpec big;
    for (int i = 1; i <= 100; ++i) big.entries.push_back({absl::StrCat(1000 + i)});
    write("big.crl", big);
    testing::WriteTestFile(absl::StrCat(www, "/junk.crl"), "not a CRL");
    http_ = new testing::HelperProcess({"/usr/bin/python3", "-m", "http.server",
                                        absl::StrCat(port_), "--bind", "127.0.0.1",
                                        "--directory", www},
                                       port_);
  }
  static void TearDownTestSuite() { delete http_; }

  static FetchPolicy Policy() {
    FetchPolicy policy;
    policy.allowed_hosts = {"127.0.0.1"};
    policy.allow_private_addresses = true;
    return policy;
  }

  // A certificate of the CA with distribution points `uris`.
  static pki::CertificatePtr CertWith(const std::vector<std::string>& uris) {
    CertSpec spec = testing::LeafSpec("leaf", {"leaf.example"});
    for (const std::string& uri : uris) spec.crl_distribution_points.push_back(base_ + uri);
    pki::ParseError error;
    return pki::Certificate::Parse(MustIssue(spec, ca_).der, &error);
  }

  static int port_;
  static std::string base_;
  static TestCert* ca_;
  static testing::HelperProcess* http_;
};

int RevocationFetcherTest::port_ = 0;
std::string RevocationFetcherTest::base_;
TestCert* RevocationFetcherTest::ca_ = nullptr;
testing::HelperProcess* RevocationFetcherTest::http_ = nullptr;

TEST_F(RevocationFetcherTest, ParsedCrlIsSharedAcrossRequests) {
  HttpRevocationFetcher fetcher(Policy());
  pki::CertificatePtr cert = CertWith({"big.crl"});
  pki::RevocationFetcher::FetchedCrls first = fetcher.FetchCrls(*cert, kNoDeadline);
  pki::RevocationFetcher::FetchedCrls second =
      fetcher.FetchCrls(*CertWith({"big.crl"}), kNoDeadline);
  ASSERT_EQ(first.sets.size(), 1u);
  ASSERT_EQ(second.sets.size(), 1u);
  EXPECT_EQ(first.sets[0].get(), second.sets[0].get());  // Parsed once.
  EXPECT_EQ(first.sets[0]->entry_count(), 100u);
}

TEST_F(RevocationFetcherTest, CrlOverTheCapIsRefusedWithTheReason) {
  CrlCacheOptions options;
  options.max_crl_bytes = 1000;  // big.crl is about 2,700 bytes.
  HttpRevocationFetcher fetcher(Policy(), options);
  pki::RevocationFetcher::FetchedCrls fetched =
      fetcher.FetchCrls(*CertWith({"big.crl"}), kNoDeadline);
  EXPECT_TRUE(fetched.sets.empty());
  ASSERT_EQ(fetched.errors.size(), 1u);
  EXPECT_TRUE(absl::StrContains(fetched.errors[0], "larger than 1000 bytes")) << fetched.errors[0];
  EXPECT_TRUE(absl::StrContains(fetched.errors[0], "big.crl")) << fetched.errors[0];
}

TEST_F(RevocationFetcherTest, FollowsFreshestCrlOneLevel) {
  HttpRevocationFetcher fetcher(Policy());
  pki::RevocationFetcher::FetchedCrls fetched =
      fetcher.FetchCrls(*CertWith({"complete.crl"}), kNoDeadline);
  EXPECT_TRUE(fetched.errors.empty()) << fetched.errors[0];
  ASSERT_EQ(fetched.sets.size(), 2u);  // The complete CRL and its delta, once.
  // A CRL naming itself: fetched once.
  fetched = fetcher.FetchCrls(*CertWith({"self.crl"}), kNoDeadline);
  EXPECT_EQ(fetched.sets.size(), 1u);
}

TEST_F(RevocationFetcherTest, NotACrlAndTooManyUrlsAreReported) {
  HttpRevocationFetcher fetcher(Policy());
  pki::RevocationFetcher::FetchedCrls junk =
      fetcher.FetchCrls(*CertWith({"junk.crl"}), kNoDeadline);
  EXPECT_TRUE(junk.sets.empty());
  ASSERT_EQ(junk.errors.size(), 1u);
  EXPECT_TRUE(absl::StrContains(junk.errors[0], "not a DER X.509 CRL")) << junk.errors[0];
  std::vector<std::string> many;
  for (int i = 0; i < 12; ++i) many.push_back(absl::StrCat("missing", i, ".crl"));
  pki::RevocationFetcher::FetchedCrls capped = fetcher.FetchCrls(*CertWith(many), kNoDeadline);
  EXPECT_EQ(capped.errors.size(), kMaxCrlUrlsPerCertificate + 1);
  EXPECT_TRUE(absl::StrContains(capped.errors.back(), "more than 8 CRL URLs"));
}

}  // namespace
}  // namespace chainverify::revocation
