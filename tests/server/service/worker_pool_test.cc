// WorkerPool: every closure runs, on the pool's threads, concurrently up to
// the thread count; the destructor runs what is queued before joining.
#include "server/service/worker_pool.h"

#include <atomic>
#include <thread>

#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace chainverify::service {
namespace {

TEST(WorkerPoolTest, RunsEveryClosureOffTheCallersThread) {
  std::atomic<int> ran{0};
  std::atomic<int> on_caller{0};
  const std::thread::id caller = std::this_thread::get_id();
  {
    WorkerPool pool(3, "test_pool");
    for (int i = 0; i < 1000; ++i) {
      pool.Schedule([&] {
        if (std::this_thread::get_id() == caller) ++on_caller;
        ++ran;
      });
    }
  }  // The destructor runs what is still queued.
  EXPECT_EQ(ran.load(), 1000);
  EXPECT_EQ(on_caller.load(), 0);
}

TEST(WorkerPoolTest, BlockedClosuresDoNotHoldUpOthersWhileThreadsRemain) {
  WorkerPool pool(4, "test_pool");
  absl::Notification release;
  absl::BlockingCounter blocked(3);
  for (int i = 0; i < 3; ++i) {
    pool.Schedule([&] {
      blocked.DecrementCount();
      release.WaitForNotification();  // Stands for a fetch that hangs.
    });
  }
  blocked.Wait();
  // Three threads are stuck; the fourth still runs new work.
  absl::Notification ran;
  pool.Schedule([&] { ran.Notify(); });
  ran.WaitForNotification();
  EXPECT_EQ(pool.queued(), 0);
  release.Notify();
}

TEST(WorkerPoolTest, QueuedCountsWorkNotYetStarted) {
  WorkerPool pool(1, "test_pool");
  absl::Notification release, started;
  pool.Schedule([&] {
    started.Notify();
    release.WaitForNotification();
  });
  started.WaitForNotification();
  pool.Schedule([] {});
  pool.Schedule([] {});
  EXPECT_EQ(pool.queued(), 2);
  release.Notify();
}

}  // namespace
}  // namespace chainverify::service
