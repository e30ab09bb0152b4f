#include "server/pki/lazy.h"

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace chainverify::pki {
namespace {

// Many threads ask at once: the value is made once and every thread sees it
// whole (run under TSan too: bazel test --config=tsan).
TEST(LazyTest, MadeOnceForConcurrentCallers) {
  for (int round = 0; round < 50; ++round) {
    Lazy<std::string> lazy;
    std::atomic<int> made{0};
    std::vector<std::thread> threads;
    std::vector<const std::string*> seen(8);
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&, t] {
        const std::string& value = lazy.Get([&](std::string* out) {
          made.fetch_add(1);
          out->assign(4096, 'x');
        });
        EXPECT_EQ(value.size(), 4096u);
        seen[t] = &value;
      });
    }
    for (std::thread& thread : threads) thread.join();
    EXPECT_EQ(made.load(), 1);
    for (const std::string* value : seen) EXPECT_EQ(value, seen[0]);
  }
}

TEST(LazyTest, LaterCallsDoNotMakeAgain) {
  Lazy<int> lazy;
  EXPECT_EQ(lazy.Get([](int* out) { *out = 7; }), 7);
  EXPECT_EQ(lazy.Get([](int* out) { *out = 9; }), 7);
}

}  // namespace
}  // namespace chainverify::pki
