// A fixed set of threads that run closures in arrival order.
//
// For decisions that may wait on the network (AIA caIssuers, OCSP and CRL
// fetches, each bounded by its own timeouts): gRPC's callback API runs
// handlers on a few threads of its own (two on a 2-core machine), so a
// handler blocked in a fetch holds up every other caller's RPC. Work run here
// blocks only the requests that wait for it.
#ifndef CHAINVERIFY_SERVER_SERVICE_WORKER_POOL_H_
#define CHAINVERIFY_SERVER_SERVICE_WORKER_POOL_H_

#include <deque>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"

namespace chainverify::service {

class WorkerPool {
 public:
  // `threads` >= 1, named `name` (at most 15 characters, for top and perf).
  WorkerPool(int threads, const std::string& name);
  // Runs everything already scheduled, then joins the threads.
  ~WorkerPool();

  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Queues `work`; a free thread runs it. The queue is not bounded here: the
  // service's admission control bounds the requests in flight.
  void Schedule(absl::AnyInvocable<void() &&> work);

  // Closures queued and not yet started (a gauge for operators).
  int queued() const;

 private:
  void Loop();
  bool HasWorkOrStopping() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return !queue_.empty() || stopping_;
  }

  mutable absl::Mutex mu_;
  std::deque<absl::AnyInvocable<void() &&>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace chainverify::service

#endif  // CHAINVERIFY_SERVER_SERVICE_WORKER_POOL_H_
