// Fetches CRLs and OCSP responses over HTTP (libcurl), with an allow-list, SSRF
// protection, hard limits on time and size, and a cache that coalesces
// concurrent requests and refreshes entries ahead of their expiry.
//
// The URLs come from certificates that anyone can upload, so every transfer is
// treated as hostile: only allowed schemes and hosts, no redirects, no proxy, no
// content decoding, no connection to loopback/private addresses unless the
// policy allows it (checked on the resolved address, right before connect, so
// DNS rebinding does not get around it).
#ifndef CHAINVERIFY_SERVER_REVOCATION_FETCHER_H_
#define CHAINVERIFY_SERVER_REVOCATION_FETCHER_H_

#include <pthread.h>
#include <sys/socket.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"

namespace chainverify::revocation {

struct FetchPolicy {
  // Lowercase URL schemes allowed. CRL and OCSP are plain HTTP by design (RFC
  // 5280 4.2.1.13, RFC 6960 A.1): the objects are signed. "https" may be added;
  // anything other than "http" and "https" is never fetched.
  std::vector<std::string> allowed_schemes = {"http"};
  // Host names allowed, compared case-insensitively: exact names ("crl.ca.com",
  // "127.0.0.1") or "*.suffix" patterns, which match any name below the suffix
  // ("a.suffix", "a.b.suffix") but not the suffix itself; "*" allows any host
  // (for the Web PKI's many CA hosts; non-public addresses stay refused unless
  // allow_private_addresses). Empty means nothing is allowed: the fetcher
  // fails closed.
  std::vector<std::string> allowed_hosts;
  // Whether a resolved address may be loopback, private (RFC 1918, ULA),
  // link-local, CGNAT, multicast or otherwise non-public. False stops a
  // certificate from pointing the server at its own network (SSRF).
  bool allow_private_addresses = false;
  absl::Duration connect_timeout = absl::Seconds(2);
  // For the whole transfer: resolve, connect, request and response.
  absl::Duration total_timeout = absl::Seconds(5);
  // The transfer is aborted as soon as the body passes this.
  size_t max_response_bytes = 1 << 20;
  // Cache lifetime of a body for which the caller's expiry_of gives none.
  absl::Duration default_ttl = absl::Hours(1);
  // Failures are cached this long, so a dead responder is not hammered.
  absl::Duration negative_ttl = absl::Seconds(30);
  // A cached body used within this of its expiry is refreshed in the
  // background (no earlier than halfway through its lifetime, so short-lived
  // bodies do not cause a fetch loop). Zero disables refreshing ahead.
  absl::Duration refresh_ahead = absl::Minutes(5);
};

struct FetchResult {
  std::string body;
  absl::Time fetched_at;  // When the request was sent.
  // Answered by Cached* from the cache, without waiting for a transfer.
  bool from_cache = false;
};

// Thread-safe. Errors:
//   PERMISSION_DENIED   scheme or host not allowed, or a non-public address
//   INVALID_ARGUMENT    the URL does not parse
//   DEADLINE_EXCEEDED   connect_timeout or total_timeout passed
//   RESOURCE_EXHAUSTED  the body is larger than max_response_bytes
//   UNAVAILABLE         resolution or connection failed, or an HTTP status
//                       other than 200 (redirects included: never followed)
//   CANCELLED           the fetcher is being destroyed
class Fetcher {
 public:
  // Given the body, when it stops being valid (a CRL's or OCSP response's
  // nextUpdate); nullopt for policy.default_ttl. The cache keeps the function
  // and may call it later from its refresh thread, so it must not refer to
  // anything the caller's stack owns.
  using ExpiryFn = std::function<absl::optional<absl::Time>(const std::string& body)>;

  struct Stats {
    uint64_t hits = 0;       // Cached* answered from the cache (failures too).
    uint64_t misses = 0;     // Cached* that started a fetch.
    uint64_t coalesced = 0;  // Cached* that waited for another caller's fetch.
    uint64_t failures = 0;   // Transfers that failed (not counting refusals).
    uint64_t refused = 0;    // Requests refused by policy (PERMISSION_DENIED).
    // Cached* whose caller's deadline came first: it stopped waiting (the
    // transfer went on), or its own transfer was cut short.
    uint64_t deadline = 0;

    // The totals by outcome name ("hit", "miss", "coalesced", "failure",
    // "refused", "deadline"), the labels of the fetch metrics.
    std::vector<std::pair<std::string, uint64_t>> ByOutcome() const {
      return {{"hit", hits},         {"miss", misses},     {"coalesced", coalesced},
              {"failure", failures}, {"refused", refused}, {"deadline", deadline}};
    }
  };

  explicit Fetcher(FetchPolicy policy);
  // Stops the refresh thread and the background transfers; ongoing transfers
  // are aborted. No call may be in progress.
  ~Fetcher();

  Fetcher(const Fetcher&) = delete;
  Fetcher& operator=(const Fetcher&) = delete;

  // Uncached. GET serves CRLs and OCSP over GET (RFC 6960 A.1); POST serves
  // OCSP with content_type "application/ocsp-request".
  absl::StatusOr<FetchResult> Get(const std::string& url);
  absl::StatusOr<FetchResult> Post(const std::string& url, const std::string& body,
                                   const std::string& content_type);

  // Cached, keyed by URL (POST: URL and SHA-256 of the body). Concurrent
  // callers for one key share one transfer. A body is served until
  // expiry_of(body); a body already expired when fetched is cached for
  // negative_ttl only, like a failure.
  //
  // `deadline` is the caller's: it stops waiting then (DEADLINE_EXCEEDED),
  // but the transfer does not stop with it. A transfer that a caller with
  // less than total_timeout left starts (a deadline already passed too) runs
  // on a background thread until it ends on its own (total_timeout at most),
  // and its answer is cached for the requests that come next, so a slow
  // responder costs one impatient request its answer, not every request. At
  // most kMaxBackgroundTransfers run so; past that (or when no thread can be
  // made), the caller's transfer is cut at its deadline and the cut is not
  // cached.
  absl::StatusOr<FetchResult> CachedGet(const std::string& url, ExpiryFn expiry_of,
                                        absl::Time deadline = absl::InfiniteFuture());
  absl::StatusOr<FetchResult> CachedPost(const std::string& url, const std::string& body,
                                         const std::string& content_type,
                                         ExpiryFn expiry_of,
                                         absl::Time deadline = absl::InfiniteFuture());

  // Transfers that outlive the deadline of the caller that started them.
  static constexpr int kMaxBackgroundTransfers = 32;

  Stats stats() const;

 private:
  struct Request {
    bool post = false;
    std::string url;
    std::string body;
    std::string content_type;
  };
  // One transfer that the callers of a key wait for.
  struct Flight;
  struct Entry {
    Request request;      // What a refresh fetches again.
    ExpiryFn expiry_of;   // From the latest caller that fetched.
    bool has_value = false;
    absl::StatusOr<FetchResult> value = absl::UnknownError("not fetched");
    absl::Time expires_at = absl::InfinitePast();
    absl::Time refresh_at = absl::InfiniteFuture();
    std::shared_ptr<Flight> flight;  // Set while a transfer is pending.
  };

  // `caller_deadline`: `timeout` is a caller's deadline rather than
  // total_timeout, so running out of it counts as `deadline`, not `failures`.
  absl::StatusOr<FetchResult> Fetch(const Request& request, absl::Duration timeout,
                                    bool caller_deadline = false);
  absl::StatusOr<FetchResult> Transfer(const Request& request, absl::Duration timeout);
  absl::StatusOr<FetchResult> CachedFetch(Request request, ExpiryFn expiry_of,
                                          absl::Time deadline);
  // Performs the flight's transfer, within `deadline`, and publishes its
  // result to the entry.
  void RunFlight(const std::string& key, const Request& request, const ExpiryFn& expiry_of,
                 const std::shared_ptr<Flight>& flight, absl::Time deadline);
  void SweepExpiredLocked(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RefreshLoop();
  // Starts RunFlight on a background thread, unless kMaxBackgroundTransfers
  // already run or no thread can be made; false then.
  struct BackgroundFlight;
  bool StartBackgroundFlight(const std::string& key, const Request& request,
                             const ExpiryFn& expiry_of, const std::shared_ptr<Flight>& flight);
  static void* RunBackgroundFlight(void* flight);  // pthread_create's entry.

  const FetchPolicy policy_;
  std::atomic<bool> stopping_{false};

  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Entry> cache_ ABSL_GUARDED_BY(mu_);
  size_t next_sweep_size_ ABSL_GUARDED_BY(mu_);
  // Keys whose entry has a refresh flight not yet started.
  std::deque<std::string> refresh_queue_ ABSL_GUARDED_BY(mu_);
  absl::CondVar refresh_cv_;
  Stats stats_ ABSL_GUARDED_BY(mu_);
  std::thread refresh_thread_;
  // Background transfers (StartBackgroundFlight): POSIX threads, whose
  // creation reports failure without exceptions. Joined once finished, by
  // the next start, or by the destructor.
  std::vector<pthread_t> background_ ABSL_GUARDED_BY(mu_);
  std::vector<pthread_t> background_finished_ ABSL_GUARDED_BY(mu_);
};

// Exposed for tests.

// Whether `url` may be fetched under `policy` (scheme and host; addresses are
// checked at connect time). PERMISSION_DENIED or INVALID_ARGUMENT otherwise.
absl::Status CheckUrl(const FetchPolicy& policy, const std::string& url);

// Whether `host` (lowercase, no brackets) matches an allowed_hosts entry.
bool HostAllowed(absl::string_view host, const std::vector<std::string>& allowed_hosts);

// Whether `addr` (AF_INET or AF_INET6) is not a public unicast address:
// unspecified, loopback, RFC 1918, CGNAT, link-local, ULA, multicast, reserved,
// and IPv4 addresses embedded in IPv6 (mapped, NAT64, 6to4) of those kinds.
// Unknown families count as non-public.
bool IsNonPublicAddress(const struct sockaddr* addr);

}  // namespace chainverify::revocation

#endif  // CHAINVERIFY_SERVER_REVOCATION_FETCHER_H_
