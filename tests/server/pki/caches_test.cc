#include "server/pki/caches.h"

#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "server/pki/hostname_match.h"
#include "server/pki/verifier.h"
#include "tests/testutil/test_pki.h"

namespace chainverify::pki {
namespace {

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

}  // namespace
}  // namespace chainverify::pki
