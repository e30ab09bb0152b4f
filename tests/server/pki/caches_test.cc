#include "server/pki/caches.h"

#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "server/pki/certificate_details.h"
#include "server/pki/hostname_match.h"
#include "server/pki/verifier.h"
#include "tests/testutil/test_pki.h"

namespace chainverify::pki {
namespace {

using ::chainverify::testing::CertSpec;
using ::chainverify::testing::IntermediateSpec;
using ::chainverify::testing::LeafSpec;
using ::chainverify::testing::MustIssue;
using ::chainverify::testing::RootSpec;
using ::chainverify::testing::TestCert;

TEST(ShardedLruTest, EvictsLeastRecentlyUsedWithinBudget) {
  // 16 shards of cost 2: keys starting with the same byte share a shard.
  internal::ShardedLru<int> lru(32);
  lru.Put("a1", 1, 1);
  lru.Put("a2", 2, 1);
  ASSERT_EQ(lru.Get("a1"), 1);  // a1 is now the most recent.
  lru.Put("a3", 3, 1);          // Evicts a2.
  EXPECT_EQ(lru.Get("a2"), std::nullopt);
  EXPECT_EQ(lru.Get("a1"), 1);
  EXPECT_EQ(lru.Get("a3"), 3);
  lru.Put("a4", 4, 3);  // Larger than a shard: not kept.
  EXPECT_EQ(lru.Get("a4"), std::nullopt);
  const CacheStats stats = lru.Stats();
  EXPECT_EQ(stats.entries, 2u);
  EXPECT_EQ(stats.evictions, 1u);
  EXPECT_EQ(stats.hits, 3u);
  EXPECT_EQ(stats.misses, 2u);
}

TEST(VerifierCachesTest, SharesParsedCertificatesAndKeepsOnlySuccesses) {
  VerifierCaches caches({});
  const TestCert root = MustIssue(RootSpec("Root"), nullptr);
  ParseError error;
  CertificatePtr a = caches.ParseCertificate(root.der, &error);
  CertificatePtr b = caches.ParseCertificate(root.der, &error);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a, b);
  EXPECT_EQ(caches.ParseCertificate("junk", &error), nullptr);
  EXPECT_EQ(caches.ParseCertificate("junk", &error), nullptr);
  const VerifierCacheStats stats = caches.Stats();
  EXPECT_EQ(stats.certificates.hits, 1u);
  EXPECT_EQ(stats.certificates.entries, 1u);
}

TEST(VerifierCachesTest, SameVerdictsWithAndWithoutCache) {
  const TestCert root = MustIssue(RootSpec("Root"), nullptr);
  const TestCert ica = MustIssue(IntermediateSpec("ICA"), &root);
  // Same subject as ica, different key: a signature edge that must fail.
  const TestCert impostor = MustIssue(IntermediateSpec("ICA"), &root);
  const TestCert leaf = MustIssue(LeafSpec("leaf", {"a.example"}), &ica);
  const TestCert forged = MustIssue(LeafSpec("leaf", {"a.example"}), &impostor);

  VerifierCaches caches({});
  VerifyPolicy policy;
  auto store = std::make_shared<TrustStore>();
  ParseError error;
  store->Add(Certificate::Parse(root.der, &error), "test");
  policy.trust_store = store;

  for (int round = 0; round < 3; ++round) {
    for (bool cached : {false, true}) {
      policy.caches = cached ? &caches : nullptr;
      VerifyInput good;
      good.certificates = {leaf.der, impostor.der, ica.der};
      good.peer_name = *ParsePeerName("a.example");
      VerifyResult r = VerifyChain(good, policy);
      EXPECT_TRUE(r.trusted);
      EXPECT_EQ(r.chain.size(), 3u);

      VerifyInput bad = good;
      bad.certificates = {forged.der, ica.der};
      r = VerifyChain(bad, policy);
      EXPECT_FALSE(r.trusted);
      EXPECT_EQ(r.status, ::chainverify::v1::BAD_SIGNATURE);
    }
  }
  EXPECT_GT(caches.Stats().signatures.hits, 0u);
  EXPECT_GT(caches.Stats().certificates.hits, 0u);
}


// A policy whose results may be cached (scope set), for one root.
struct CachingPolicy {
  explicit CachingPolicy(const TestCert& root) {
    auto store = std::make_shared<TrustStore>();
    ParseError error;
    store->Add(Certificate::Parse(root.der, &error), "test");
    policy.trust_store = store;
    policy.caches = &caches;
    policy.result_cache_scope = std::make_shared<int>(0);
  }
  VerifierCaches caches{VerifierCaches::Options{}};
  VerifyPolicy policy;
};

VerifyInput InputFor(const std::vector<std::string>& ders, const std::string& name,
                     absl::Time time) {
  VerifyInput input;
  input.certificates = ders;
  input.peer_name = *ParsePeerName(name);
  input.time = time;
  return input;
}

TEST(ResultCacheTest, HitReturnsTheSameVerdict) {
  const TestCert root = MustIssue(RootSpec("Root"), nullptr);
  const TestCert ica = MustIssue(IntermediateSpec("ICA"), &root);
  const TestCert leaf = MustIssue(LeafSpec("leaf", {"a.example"}), &ica);
  CachingPolicy p(root);
  const absl::Time t = absl::FromUnixSeconds(1800000000);
  const VerifyInput input = InputFor({leaf.der, ica.der}, "a.example", t);

  const VerifyResult first = VerifyChain(input, p.policy);
  ASSERT_TRUE(first.trusted);
  EXPECT_FALSE(first.from_result_cache);
  const VerifyResult second = VerifyChain(input, p.policy);
  EXPECT_TRUE(second.from_result_cache);
  EXPECT_EQ(second.trusted, first.trusted);
  EXPECT_EQ(second.status, first.status);
  ASSERT_EQ(second.chain.size(), first.chain.size());
  for (size_t i = 0; i < first.chain.size(); ++i) {
    EXPECT_EQ(second.chain[i].certificate->sha256(), first.chain[i].certificate->sha256());
    EXPECT_EQ(second.chain[i].request_index, first.chain[i].request_index);
  }
  EXPECT_EQ(second.unused_request_indices, first.unused_request_indices);
  // A later second inside every certificate's validity is a hit too.
  EXPECT_TRUE(VerifyChain(InputFor({leaf.der, ica.der}, "a.example", t + absl::Hours(24)),
                          p.policy).from_result_cache);
  EXPECT_EQ(p.caches.Stats().results.hits, 2u);

  // A rejection is cached as well.
  const VerifyInput wrong_name = InputFor({leaf.der, ica.der}, "b.example", t);
  const VerifyResult rejected = VerifyChain(wrong_name, p.policy);
  EXPECT_FALSE(rejected.trusted);
  EXPECT_FALSE(rejected.from_result_cache);  // Another peer name: a miss.
  const VerifyResult rejected_again = VerifyChain(wrong_name, p.policy);
  EXPECT_TRUE(rejected_again.from_result_cache);
  EXPECT_EQ(rejected_again.status, rejected.status);
}

TEST(ResultCacheTest, OtherPurposeOrderOrScopeMisses) {
  const TestCert root = MustIssue(RootSpec("Root"), nullptr);
  const TestCert ica = MustIssue(IntermediateSpec("ICA"), &root);
  const TestCert leaf = MustIssue(LeafSpec("leaf", {"a.example"}), &ica);
  CachingPolicy p(root);
  const absl::Time t = absl::FromUnixSeconds(1800000000);
  VerifyInput input = InputFor({leaf.der, ica.der}, "a.example", t);
  ASSERT_TRUE(VerifyChain(input, p.policy).trusted);

  VerifyInput client = input;
  client.purpose = KeyPurpose::kClientAuth;
  EXPECT_FALSE(VerifyChain(client, p.policy).from_result_cache);

  VerifyInput extra = input;
  extra.certificates.push_back(root.der);
  EXPECT_FALSE(VerifyChain(extra, p.policy).from_result_cache);

  // A reloaded policy (new scope object): the old entries never match, even
  // if the new object were to reuse the old one's address.
  p.policy.result_cache_scope = std::make_shared<int>(1);
  EXPECT_FALSE(VerifyChain(input, p.policy).from_result_cache);
  EXPECT_TRUE(VerifyChain(input, p.policy).from_result_cache);

  // No scope: no caching at all.
  VerifyPolicy uncached = p.policy;
  uncached.result_cache_scope = nullptr;
  EXPECT_FALSE(VerifyChain(input, uncached).from_result_cache);
}

TEST(ResultCacheTest, NeverServedOutsideTheValidityWindow) {
  const TestCert root = MustIssue(RootSpec("Root"), nullptr);
  const TestCert ica = MustIssue(IntermediateSpec("ICA"), &root);
  CertSpec spec = LeafSpec("leaf", {"a.example"});
  spec.not_before = absl::FromUnixSeconds(1750000000);
  spec.not_after = absl::FromUnixSeconds(1800000000);
  const TestCert leaf = MustIssue(spec, &ica);
  CachingPolicy p(root);

  // Cached in the last second of the leaf's validity...
  const absl::Time last = absl::FromUnixSeconds(1800000000) + absl::Milliseconds(500);
  ASSERT_TRUE(VerifyChain(InputFor({leaf.der, ica.der}, "a.example", last), p.policy).trusted);
  EXPECT_TRUE(
      VerifyChain(InputFor({leaf.der, ica.der}, "a.example", last), p.policy).from_result_cache);
  // ...never served after notAfter, nor before notBefore.
  for (absl::Time t : {absl::FromUnixSeconds(1800000001), absl::FromUnixSeconds(1749999999)}) {
    const VerifyResult r = VerifyChain(InputFor({leaf.der, ica.der}, "a.example", t), p.policy);
    EXPECT_FALSE(r.trusted);
    EXPECT_FALSE(r.from_result_cache);
    EXPECT_EQ(r.status, t < spec.not_before ? ::chainverify::v1::NOT_YET_VALID
                                            : ::chainverify::v1::EXPIRED);
  }
  // The not-yet-valid verdict replaced the entry; it is served only before
  // notBefore.
  EXPECT_TRUE(VerifyChain(InputFor({leaf.der, ica.der}, "a.example",
                                   absl::FromUnixSeconds(1700000000)),
                          p.policy)
                  .from_result_cache);
  const VerifyResult expired = VerifyChain(
      InputFor({leaf.der, ica.der}, "a.example", absl::FromUnixSeconds(1800000002)), p.policy);
  EXPECT_FALSE(expired.from_result_cache);
  EXPECT_EQ(expired.status, ::chainverify::v1::EXPIRED);
  // Now the expired verdict is cached, until the intermediate's notAfter.
  EXPECT_TRUE(VerifyChain(InputFor({leaf.der, ica.der}, "a.example",
                                   absl::FromUnixSeconds(1850000000)),
                          p.policy)
                  .from_result_cache);
  const VerifyResult valid =
      VerifyChain(InputFor({leaf.der, ica.der}, "a.example", last), p.policy);
  EXPECT_TRUE(valid.trusted);
  EXPECT_FALSE(valid.from_result_cache);
}

TEST(ResultCacheTest, SearchLimitResultsAreNotCached) {
  const TestCert root = MustIssue(RootSpec("Root"), nullptr);
  const TestCert ica = MustIssue(IntermediateSpec("ICA"), &root);
  const TestCert leaf = MustIssue(LeafSpec("leaf", {"a.example"}), &ica);
  CachingPolicy p(root);
  p.policy.limits.max_signature_checks = 0;
  const VerifyInput input =
      InputFor({leaf.der, ica.der}, "a.example", absl::FromUnixSeconds(1800000000));
  EXPECT_EQ(VerifyChain(input, p.policy).status, ::chainverify::v1::SEARCH_LIMIT_REACHED);
  EXPECT_FALSE(VerifyChain(input, p.policy).from_result_cache);
  EXPECT_EQ(p.caches.Stats().results.entries, 0u);
}

// A cached result's verdict is rendered once, by whichever call asks first,
// and shared by every hit; the bytes parse to the message FillVerdict makes.
// An uncached result gets a fresh rendering, and so does a rejected one.
TEST(ResultCacheTest, RenderedVerdictIsSharedByHitsAndMatchesFillVerdict) {
  const TestCert root = MustIssue(RootSpec("Root"), nullptr);
  const TestCert ica = MustIssue(IntermediateSpec("ICA"), &root);
  const TestCert leaf = MustIssue(LeafSpec("leaf", {"a.example"}), &ica);
  CachingPolicy p(root);
  const absl::Time t = absl::FromUnixSeconds(1800000000);
  const VerifyInput input = InputFor({leaf.der, ica.der}, "a.example", t);

  const VerifyResult first = VerifyChain(input, p.policy);
  ASSERT_NE(first.rendered, nullptr);
  const VerifyResult second = VerifyChain(input, p.policy);
  ASSERT_TRUE(second.from_result_cache);
  const std::shared_ptr<const RenderedVerdict> from_hit = RenderVerdict(second);
  EXPECT_EQ(RenderVerdict(first).get(), from_hit.get());

  v1::VerifyResponse filled;
  FillVerdict(first, &filled);
  v1::VerifyResponse parsed;
  ASSERT_TRUE(parsed.ParseFromString(from_hit->bytes));
  EXPECT_EQ(parsed.SerializeAsString(), filled.SerializeAsString());
  EXPECT_EQ(parsed.verified_chain_size(), 3);

  VerifyPolicy uncached = p.policy;
  uncached.caches = nullptr;
  const VerifyResult alone = VerifyChain(input, uncached);
  EXPECT_EQ(alone.rendered, nullptr);
  const std::shared_ptr<const RenderedVerdict> fresh = RenderVerdict(alone);
  EXPECT_NE(fresh.get(), from_hit.get());
  EXPECT_EQ(fresh->bytes, from_hit->bytes);

  // Rejected (wrong name): the best attempted chain, with its error.
  const VerifyResult rejected =
      VerifyChain(InputFor({ica.der, leaf.der}, "b.example", t), uncached);
  ASSERT_FALSE(rejected.trusted);
  ASSERT_FALSE(rejected.errors.empty());
  v1::VerifyResponse rejected_filled;
  FillVerdict(rejected, &rejected_filled);
  ASSERT_GT(rejected_filled.best_attempted_chain_size(), 0);
  v1::VerifyResponse rejected_parsed;
  ASSERT_TRUE(rejected_parsed.ParseFromString(RenderVerdict(rejected)->bytes));
  EXPECT_EQ(rejected_parsed.SerializeAsString(), rejected_filled.SerializeAsString());
}

}  // namespace
}  // namespace chainverify::pki
