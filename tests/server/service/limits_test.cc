// Request limits of the service layer: admission control and the client's
// deadline; and decision ids.
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "gtest/gtest.h"
#include "server/policy/policy_holder.h"
#include "server/service/decider.h"
#include "server/service/verifier_service.h"

namespace chainverify::service {
namespace {

TEST(AdmissionControlTest, AdmitsUpToTheBoundAndReleases) {
  AdmissionControl admission(2);
  EXPECT_TRUE(admission.TryEnter());
  EXPECT_TRUE(admission.TryEnter());
  EXPECT_FALSE(admission.TryEnter());
  admission.Leave();
  EXPECT_TRUE(admission.TryEnter());
}

TEST(AdmissionControlTest, NeverAdmitsMoreThanTheBoundUnderContention) {
  AdmissionControl admission(3);
  std::atomic<int> inside{0}, peak{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        if (!admission.TryEnter()) continue;
        const int now = ++inside;
        int seen = peak.load();
        while (now > seen && !peak.compare_exchange_weak(seen, now)) {
        }
        --inside;
        admission.Leave();
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_LE(peak.load(), 3);
  EXPECT_GE(peak.load(), 1);
}

TEST(DeciderDeadlineTest, RequestPastItsDeadlineIsNotDecided) {
  auto holder = policy::PolicyHolder::Create("", pki::SearchLimits());
  ASSERT_TRUE(holder.ok()) << holder.status();
  Decider decider(holder->get(), nullptr, RequestLimits());
  v1::VerifyRequest request;
  request.add_certificates("not a certificate");
  auto late = decider.Decide(request, "test", (*holder)->Current(),
                             absl::Now() - absl::Seconds(1));
  EXPECT_EQ(late.status().code(), absl::StatusCode::kDeadlineExceeded);
  auto in_time = decider.Decide(request, "test", (*holder)->Current(),
                                absl::Now() + absl::Seconds(10));
  ASSERT_TRUE(in_time.ok()) << in_time.status();
  EXPECT_EQ(in_time->status(), v1::MALFORMED_CERTIFICATE);
}

// Ids come from a per-thread pool of random bytes: every one is 128 bits of
// hex, and none repeats, within a thread or across threads.
TEST(DecisionIdTest, IdsAreDistinctAcrossPoolRefillsAndThreads) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 1000;  // Many refills of a 64-id pool.
  std::vector<std::vector<std::string>> ids(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&ids, t] {
      for (int i = 0; i < kPerThread; ++i) ids[t].push_back(NewDecisionId());
    });
  }
  for (std::thread& thread : threads) thread.join();
  absl::flat_hash_set<std::string> seen;
  for (const auto& list : ids) {
    for (const std::string& id : list) {
      ASSERT_EQ(id.size(), 32u) << id;
      ASSERT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos) << id;
      ASSERT_TRUE(seen.insert(id).second) << "repeated id " << id;
    }
  }
}

}  // namespace
}  // namespace chainverify::service
