// ThreadSanitizer support for an uninstrumented Abseil and gRPC (--config=tsan).
//
// Debian's libabsl_synchronization is not built with -fsanitize=thread, so
// absl::Mutex's lock and unlock (atomics and futex calls inside that library)
// are invisible to TSan: every absl::Mutex-guarded field of ours looked like a
// data race. An instrumented Abseil tells TSan about its locks itself; this
// file does the same from outside. It defines absl::Mutex's and absl::CondVar's
// exported entry points in the executable, which the dynamic linker prefers
// over libabsl's, calls the library's own definition (dlsym RTLD_NEXT), and
// reports the happens-before edge to TSan: release on the mutex before giving
// it up, acquire after taking it. Locking itself is unchanged.
//
// Conditions (Await, LockWhen) are evaluated inside the library, by the waiter
// or by whichever thread is unlocking, always with the mutex held: each is
// wrapped so that its evaluation acquires before and releases after, as
// Abseil's own TSan annotations do.

#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

extern "C" {
void __tsan_acquire(void* addr);
void __tsan_release(void* addr);

// The TSan suppressions, here rather than in a file because TSAN_OPTIONS would
// need the file's absolute path, which .bazelrc cannot express. race_top
// matches only the innermost frame of an access, so a race in our code stays
// reported even when gRPC called it.
const char* __tsan_default_suppressions() {
  return
      // gRPC's C++ call machinery (grpcpp templates, instantiated in our
      // binaries, and libgrpc++) hands its call objects between gRPC threads
      // through completion queues synchronized inside the uninstrumented
      // libgrpc: TSan sees both accesses but not the hand-off. Our code is
      // never in namespace grpc::internal.
      "race_top:grpc::internal::\n"
      // gRPC's process-wide threads (timer manager, executor) are created by
      // libgpr and never joined before exit; a client such as the CLI exits
      // with them running. Threads our code starts are not matched.
      "thread:grpc_core::Thread::Thread\n";
}
}  // extern "C"

namespace {

// The library's own definition of `symbol`.
void* Real(const char* symbol) {
  void* fn = dlsym(RTLD_NEXT, symbol);
  if (fn == nullptr) {
    std::fprintf(stderr, "tsan_runtime_support: %s not found: %s\n", symbol, dlerror());
    std::abort();
  }
  return fn;
}

// A condition evaluated as if under `mu`, whoever evaluates it.
struct AnnotatedCondition {
  void* mu;
  const absl::Condition* condition;
  static bool Eval(AnnotatedCondition* self) {
    __tsan_acquire(self->mu);
    const bool result = self->condition->Eval();
    __tsan_release(self->mu);
    return result;
  }
};

}  // namespace

// Declares `annotated`, the Condition passed to the library in place of `cond`;
// it lives until the library's call returns, as long as the library uses it.
#define CV_ANNOTATE(mu, cond)                                               \
  AnnotatedCondition annotated_state{                                       \
      mu, static_cast<const absl::Condition*>(cond)};                       \
  const absl::Condition annotated(&AnnotatedCondition::Eval, &annotated_state)

// One wrapper per entry point; `M` is the mangled name of the member function
// in Debian's Abseil (inline namespace debian3). The receiver (`this`) is the
// first argument in the x86-64 System V ABI, so each is a free function with
// the same parameters.
#define CV_REAL(M, ...) \
  static const auto real = reinterpret_cast<__VA_ARGS__>(Real(M))

#define CV_WRAP_LOCK(name, M)                         \
  extern "C" void name(void* mu) __asm__(M);          \
  extern "C" void name(void* mu) {                    \
    CV_REAL(M, void (*)(void*));                      \
    real(mu);                                         \
    __tsan_acquire(mu);                               \
  }

#define CV_WRAP_TRYLOCK(name, M)                      \
  extern "C" bool name(void* mu) __asm__(M);          \
  extern "C" bool name(void* mu) {                    \
    CV_REAL(M, bool (*)(void*));                      \
    const bool locked = real(mu);                     \
    if (locked) __tsan_acquire(mu);                   \
    return locked;                                    \
  }

#define CV_WRAP_UNLOCK(name, M)                       \
  extern "C" void name(void* mu) __asm__(M);          \
  extern "C" void name(void* mu) {                    \
    CV_REAL(M, void (*)(void*));                      \
    __tsan_release(mu);                               \
    real(mu);                                         \
  }

#define CV_WRAP_LOCK_WHEN(name, M)                                        \
  extern "C" void name(void* mu, const void* cond) __asm__(M);            \
  extern "C" void name(void* mu, const void* cond) {                      \
    CV_REAL(M, void (*)(void*, const void*));                             \
    CV_ANNOTATE(mu, cond);                                                \
    real(mu, &annotated);                                                 \
    __tsan_acquire(mu);                                                   \
  }

#define CV_WRAP_LOCK_WHEN_T(name, M, T)                                   \
  extern "C" bool name(void* mu, const void* cond, T t) __asm__(M);       \
  extern "C" bool name(void* mu, const void* cond, T t) {                 \
    CV_REAL(M, bool (*)(void*, const void*, T));                          \
    CV_ANNOTATE(mu, cond);                                                \
    const bool met = real(mu, &annotated, t);                             \
    __tsan_acquire(mu);                                                   \
    return met;                                                           \
  }

// Await and CondVar::Wait give the mutex up while waiting and hold it again
// on return.
#define CV_WRAP_AWAIT(name, M)                                            \
  extern "C" void name(void* mu, const void* cond) __asm__(M);            \
  extern "C" void name(void* mu, const void* cond) {                      \
    CV_REAL(M, void (*)(void*, const void*));                             \
    CV_ANNOTATE(mu, cond);                                                \
    __tsan_release(mu);                                                   \
    real(mu, &annotated);                                                 \
    __tsan_acquire(mu);                                                   \
  }

#define CV_WRAP_AWAIT_T(name, M, T)                                       \
  extern "C" bool name(void* mu, const void* cond, T t) __asm__(M);       \
  extern "C" bool name(void* mu, const void* cond, T t) {                 \
    CV_REAL(M, bool (*)(void*, const void*, T));                          \
    CV_ANNOTATE(mu, cond);                                                \
    __tsan_release(mu);                                                   \
    const bool met = real(mu, &annotated, t);                             \
    __tsan_acquire(mu);                                                   \
    return met;                                                           \
  }

#define CV_WRAP_WAIT(name, M)                                             \
  extern "C" void name(void* cv, void* mu) __asm__(M);                    \
  extern "C" void name(void* cv, void* mu) {                              \
    CV_REAL(M, void (*)(void*, void*));                                   \
    __tsan_release(mu);                                                   \
    real(cv, mu);                                                         \
    __tsan_acquire(mu);                                                   \
  }

#define CV_WRAP_WAIT_T(name, M, T)                                        \
  extern "C" bool name(void* cv, void* mu, T t) __asm__(M);               \
  extern "C" bool name(void* cv, void* mu, T t) {                         \
    CV_REAL(M, bool (*)(void*, void*, T));                                \
    __tsan_release(mu);                                                   \
    const bool timed_out = real(cv, mu, t);                               \
    __tsan_acquire(mu);                                                   \
    return timed_out;                                                     \
  }

CV_WRAP_LOCK(CvMutexLock, "_ZN4absl7debian35Mutex4LockEv")
CV_WRAP_LOCK(CvMutexReaderLock, "_ZN4absl7debian35Mutex10ReaderLockEv")
CV_WRAP_TRYLOCK(CvMutexTryLock, "_ZN4absl7debian35Mutex7TryLockEv")
CV_WRAP_TRYLOCK(CvMutexReaderTryLock, "_ZN4absl7debian35Mutex13ReaderTryLockEv")
CV_WRAP_UNLOCK(CvMutexUnlock, "_ZN4absl7debian35Mutex6UnlockEv")
CV_WRAP_UNLOCK(CvMutexReaderUnlock, "_ZN4absl7debian35Mutex12ReaderUnlockEv")
CV_WRAP_LOCK_WHEN(CvMutexLockWhen, "_ZN4absl7debian35Mutex8LockWhenERKNS0_9ConditionE")
CV_WRAP_LOCK_WHEN(CvMutexReaderLockWhen,
                  "_ZN4absl7debian35Mutex14ReaderLockWhenERKNS0_9ConditionE")
CV_WRAP_LOCK_WHEN_T(CvMutexLockWhenWithTimeout,
                    "_ZN4absl7debian35Mutex19LockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE",
                    absl::Duration)
CV_WRAP_LOCK_WHEN_T(CvMutexLockWhenWithDeadline,
                    "_ZN4absl7debian35Mutex20LockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE",
                    absl::Time)
CV_WRAP_LOCK_WHEN_T(
    CvMutexReaderLockWhenWithTimeout,
    "_ZN4absl7debian35Mutex25ReaderLockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE",
    absl::Duration)
CV_WRAP_LOCK_WHEN_T(
    CvMutexReaderLockWhenWithDeadline,
    "_ZN4absl7debian35Mutex26ReaderLockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE",
    absl::Time)
CV_WRAP_AWAIT(CvMutexAwait, "_ZN4absl7debian35Mutex5AwaitERKNS0_9ConditionE")
CV_WRAP_AWAIT_T(CvMutexAwaitWithTimeout,
                "_ZN4absl7debian35Mutex16AwaitWithTimeoutERKNS0_9ConditionENS0_8DurationE",
                absl::Duration)
CV_WRAP_AWAIT_T(CvMutexAwaitWithDeadline,
                "_ZN4absl7debian35Mutex17AwaitWithDeadlineERKNS0_9ConditionENS0_4TimeE",
                absl::Time)
CV_WRAP_WAIT(CvCondVarWait, "_ZN4absl7debian37CondVar4WaitEPNS0_5MutexE")
CV_WRAP_WAIT_T(CvCondVarWaitWithTimeout,
               "_ZN4absl7debian37CondVar15WaitWithTimeoutEPNS0_5MutexENS0_8DurationE",
               absl::Duration)
CV_WRAP_WAIT_T(CvCondVarWaitWithDeadline,
               "_ZN4absl7debian37CondVar16WaitWithDeadlineEPNS0_5MutexENS0_4TimeE",
               absl::Time)
