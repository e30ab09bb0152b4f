// A value made on first use, once, by whichever thread asks first.
#ifndef CHAINVERIFY_SERVER_PKI_LAZY_H_
#define CHAINVERIFY_SERVER_PKI_LAZY_H_

#include <atomic>
#include <mutex>

namespace chainverify::pki {

// std::call_once would do, but glibc's pthread_once makes a futex_wake system
// call every time it runs an initializer (it cannot tell whether a thread
// waits), and the served path renders a fresh certificate's details and a
// fresh verdict on every fleet call: two system calls, about 2% of a fleet
// call's server CPU (//bench:service). An uncontended std::mutex makes none.
// std::mutex and std::atomic, not Abseil's: ThreadSanitizer sees their
// ordering, not that of Debian's uninstrumented Abseil.
template <typename T>
class Lazy {
 public:
  // The value, made by `make(T*)` if no call has made it yet. Thread-safe;
  // `make` runs at most once.
  template <typename Make>
  const T& Get(Make make) const {
    if (!ready_.load(std::memory_order_acquire)) {
      std::lock_guard<std::mutex> lock(mu_);
      if (!ready_.load(std::memory_order_relaxed)) {
        make(&value_);
        ready_.store(true, std::memory_order_release);
      }
    }
    return value_;
  }

 private:
  mutable std::mutex mu_;
  mutable std::atomic<bool> ready_{false};
  mutable T value_{};
};

}  // namespace chainverify::pki

#endif  // CHAINVERIFY_SERVER_PKI_LAZY_H_
