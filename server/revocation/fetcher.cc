#include "server/revocation/fetcher.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/base/call_once.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/notification.h"
#include "server/pki/openssl_util.h"

namespace chainverify::revocation {

struct Fetcher::Flight {
  // Whether a thread has taken the transfer on; guarded by Fetcher::mu_. A
  // queued refresh that nobody has started yet may be taken over by a caller.
  bool started = false;
  absl::Notification done;
  absl::StatusOr<FetchResult> result = absl::UnknownError("pending");
};

namespace {

// The cache is swept of expired entries when it grows past this (and then
// past twice its size after each sweep), so sweeping stays amortized O(1).
constexpr size_t kMinSweepSize = 1024;
// Long URLs in error messages are cut: they come from untrusted certificates.
constexpr size_t kMaxUrlInMessage = 200;

template <typename T, void (*Free)(T*)>
struct CurlDeleter {
  void operator()(T* p) const { Free(p); }
};
using CurlEasyPtr = std::unique_ptr<CURL, CurlDeleter<CURL, curl_easy_cleanup>>;
using CurlUrlPtr = std::unique_ptr<CURLU, CurlDeleter<CURLU, curl_url_cleanup>>;
using CurlSlistPtr =
    std::unique_ptr<curl_slist, CurlDeleter<curl_slist, curl_slist_free_all>>;

struct CurlString {
  ~CurlString() { curl_free(p); }
  char* p = nullptr;
};

absl::Status GlobalInit() {
  static absl::once_flag once;
  static CURLcode rc = CURLE_OK;
  absl::call_once(once, [] { rc = curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (rc != CURLE_OK) {
    return absl::InternalError(absl::StrCat("curl_global_init: ", curl_easy_strerror(rc)));
  }
  return absl::OkStatus();
}

std::string ForMessage(absl::string_view url) {
  if (url.size() <= kMaxUrlInMessage) return std::string(url);
  return absl::StrCat(url.substr(0, kMaxUrlInMessage), "...");
}

bool SchemeSupported(absl::string_view scheme) {
  return scheme == "http" || scheme == "https";
}

// The allowed schemes libcurl may use, as CURLOPT_PROTOCOLS_STR wants them.
std::string ProtocolsString(const FetchPolicy& policy) {
  std::vector<std::string> protocols;
  for (const std::string& s : policy.allowed_schemes) {
    std::string scheme = absl::AsciiStrToLower(s);
    if (SchemeSupported(scheme)) protocols.push_back(std::move(scheme));
  }
  return absl::StrJoin(protocols, ",");
}

bool ValidHostChars(absl::string_view host, bool ipv6) {
  for (char c : host) {
    if (absl::ascii_isdigit(c) || c == '.') continue;
    if (ipv6 ? (c == ':' || (c >= 'a' && c <= 'f'))
             : (absl::ascii_islower(c) || c == '-' || c == '_')) {
      continue;
    }
    return false;
  }
  return true;
}

// Parses `url` the way libcurl will fetch it (the same handle is given to the
// transfer), and applies the scheme and host allow-lists.
absl::StatusOr<CurlUrlPtr> ParseAndCheckUrl(const FetchPolicy& policy, const std::string& url) {
  if (url.find('\0') != std::string::npos) {
    return absl::InvalidArgumentError("URL contains a NUL byte");
  }
  CurlUrlPtr handle(curl_url());
  if (handle == nullptr) return absl::ResourceExhaustedError("curl_url failed");
  if (CURLUcode rc = curl_url_set(handle.get(), CURLUPART_URL, url.c_str(), 0);
      rc != CURLUE_OK) {
    // CURLUE_UNSUPPORTED_SCHEME lands here too: nothing libcurl lacks is allowed.
    return absl::InvalidArgumentError(
        absl::StrCat("malformed URL ", ForMessage(url), ": ", curl_url_strerror(rc)));
  }
  CurlString scheme_part, host_part;
  if (curl_url_get(handle.get(), CURLUPART_SCHEME, &scheme_part.p, 0) != CURLUE_OK) {
    return absl::InvalidArgumentError(absl::StrCat("URL without scheme: ", ForMessage(url)));
  }
  const std::string scheme = absl::AsciiStrToLower(scheme_part.p);
  const bool scheme_listed =
      std::any_of(policy.allowed_schemes.begin(), policy.allowed_schemes.end(),
                  [&](const std::string& s) { return absl::EqualsIgnoreCase(s, scheme); });
  if (!scheme_listed || !SchemeSupported(scheme)) {
    return absl::PermissionDeniedError(
        absl::StrCat("scheme \"", scheme, "\" not allowed: ", ForMessage(url)));
  }
  if (curl_url_get(handle.get(), CURLUPART_HOST, &host_part.p, 0) != CURLUE_OK) {
    return absl::InvalidArgumentError(absl::StrCat("URL without host: ", ForMessage(url)));
  }
  std::string host = absl::AsciiStrToLower(host_part.p);
  const bool ipv6 = host.size() >= 2 && host.front() == '[' && host.back() == ']';
  if (ipv6) host = host.substr(1, host.size() - 2);
  // Zone ids, percent-encoding, IDN: refused rather than guessed at.
  if (host.empty() || !ValidHostChars(host, ipv6)) {
    return absl::InvalidArgumentError(absl::StrCat("unusable host in URL ", ForMessage(url)));
  }
  if (!HostAllowed(host, policy.allowed_hosts)) {
    return absl::PermissionDeniedError(
        absl::StrCat("host \"", host, "\" not in the allow-list: ", ForMessage(url)));
  }
  return handle;
}

bool IsNonPublicV4(uint32_t a) {  // Host byte order.
  struct Net {
    uint32_t prefix;
    int bits;
  };
  static constexpr Net kNets[] = {
      {0x00000000, 8},   // 0.0.0.0/8 "this network"
      {0x0A000000, 8},   // 10.0.0.0/8 private
      {0x64400000, 10},  // 100.64.0.0/10 CGNAT
      {0x7F000000, 8},   // 127.0.0.0/8 loopback
      {0xA9FE0000, 16},  // 169.254.0.0/16 link-local (cloud metadata)
      {0xAC100000, 12},  // 172.16.0.0/12 private
      {0xC0000000, 24},  // 192.0.0.0/24 IETF protocol assignments
      {0xC0000200, 24},  // 192.0.2.0/24 documentation
      {0xC0A80000, 16},  // 192.168.0.0/16 private
      {0xC6120000, 15},  // 198.18.0.0/15 benchmarking
      {0xC6336400, 24},  // 198.51.100.0/24 documentation
      {0xCB007100, 24},  // 203.0.113.0/24 documentation
      {0xE0000000, 4},   // 224.0.0.0/4 multicast
      {0xF0000000, 4},   // 240.0.0.0/4 reserved, broadcast
  };
  for (const Net& net : kNets) {
    if ((a >> (32 - net.bits)) == (net.prefix >> (32 - net.bits))) return true;
  }
  return false;
}

uint32_t V4At(const uint8_t* b) {
  return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
}

bool IsNonPublicV6(const uint8_t* b) {
  static constexpr uint8_t kZero[12] = {};
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  static constexpr uint8_t kNat64[12] = {0, 0x64, 0xff, 0x9b};
  // ::/96: unspecified, loopback, deprecated IPv4-compatible.
  if (std::memcmp(b, kZero, 12) == 0) return true;
  if (std::memcmp(b, kMapped, 12) == 0 || std::memcmp(b, kNat64, 12) == 0) {
    return IsNonPublicV4(V4At(b + 12));
  }
  if (b[0] == 0x20 && b[1] == 0x02) return IsNonPublicV4(V4At(b + 2));  // 6to4
  if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b) return true;  // 64:ff9b:1::/48
  if (b[0] == 0x01 && b[1] == 0x00 && std::memcmp(b + 2, kZero, 6) == 0) return true;  // 100::/64
  if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x00 && b[3] == 0x00) return true;  // Teredo
  if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8) return true;  // documentation
  if ((b[0] & 0xfe) == 0xfc) return true;                  // fc00::/7 ULA
  if (b[0] == 0xfe && (b[1] & 0x80) != 0) return true;     // fe80::/10, fec0::/10
  if (b[0] == 0xff) return true;                           // multicast
  return false;
}

std::string AddressToString(const struct sockaddr* addr) {
  char buf[INET6_ADDRSTRLEN] = "?";
  if (addr->sa_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(addr)->sin_addr, buf, sizeof(buf));
  } else if (addr->sa_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(addr)->sin6_addr, buf,
              sizeof(buf));
  }
  return buf;
}

// What the libcurl callbacks of one transfer share.
struct TransferState {
  size_t max_bytes = 0;
  bool allow_private = false;
  const std::atomic<bool>* stopping = nullptr;
  std::string body;
  bool over_cap = false;
  std::string refused_address;  // Set when a non-public address was refused.
};

size_t WriteCallback(char* data, size_t size, size_t nmemb, void* userdata) {
  auto* state = static_cast<TransferState*>(userdata);
  const size_t n = size * nmemb;
  if (n > state->max_bytes - state->body.size()) {
    state->over_cap = true;
    return 0;  // Anything but n aborts the transfer now.
  }
  state->body.append(data, n);
  return n;
}

// Sees every address libcurl is about to connect to, after resolution: the one
// place where a non-public target can be refused reliably.
curl_socket_t OpenSocketCallback(void* clientp, curlsocktype /*purpose*/,
                                 struct curl_sockaddr* address) {
  auto* state = static_cast<TransferState*>(clientp);
  if (!state->allow_private && IsNonPublicAddress(&address->addr)) {
    state->refused_address = AddressToString(&address->addr);
    return CURL_SOCKET_BAD;
  }
  return socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

int XferInfoCallback(void* clientp, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* state = static_cast<TransferState*>(clientp);
  return state->stopping->load(std::memory_order_relaxed) ? 1 : 0;
}

// libcurl wants a long; 0 would mean "no timeout" to it.
long Milliseconds(absl::Duration d) {  // NOLINT(runtime/int)
  return std::max<long>(1, absl::ToInt64Milliseconds(d));  // NOLINT(runtime/int)
}

}  // namespace

absl::Status CheckUrl(const FetchPolicy& policy, const std::string& url) {
  return ParseAndCheckUrl(policy, url).status();
}

bool HostAllowed(absl::string_view host, const std::vector<std::string>& allowed_hosts) {
  for (const std::string& entry : allowed_hosts) {
    if (entry == "*") return true;  // Any host (addresses are still checked).
    absl::string_view pattern = entry;
    if (absl::StartsWith(pattern, "*.")) {
      absl::string_view suffix = pattern.substr(1);  // ".example.com"
      if (suffix.size() > 1 && host.size() > suffix.size() &&
          absl::EndsWithIgnoreCase(host, suffix)) {
        return true;
      }
      continue;
    }
    if (pattern.size() >= 2 && pattern.front() == '[' && pattern.back() == ']') {
      pattern = pattern.substr(1, pattern.size() - 2);
    }
    if (!pattern.empty() && absl::EqualsIgnoreCase(host, pattern)) return true;
  }
  return false;
}

bool IsNonPublicAddress(const struct sockaddr* addr) {
  if (addr->sa_family == AF_INET) {
    return IsNonPublicV4(ntohl(reinterpret_cast<const sockaddr_in*>(addr)->sin_addr.s_addr));
  }
  if (addr->sa_family == AF_INET6) {
    return IsNonPublicV6(reinterpret_cast<const sockaddr_in6*>(addr)->sin6_addr.s6_addr);
  }
  return true;
}

Fetcher::Fetcher(FetchPolicy policy)
    : policy_(std::move(policy)), next_sweep_size_(kMinSweepSize) {
  GlobalInit().IgnoreError();  // Reported by every transfer if it failed.
  refresh_thread_ = std::thread([this] { RefreshLoop(); });
}

Fetcher::~Fetcher() {
  {
    absl::MutexLock lock(&mu_);
    stopping_.store(true);
    refresh_cv_.SignalAll();
  }
  refresh_thread_.join();
  // Background transfers see stopping_ and abort (CANCELLED).
  std::vector<pthread_t> background;
  {
    absl::MutexLock lock(&mu_);
    background.swap(background_);
  }
  for (pthread_t thread : background) pthread_join(thread, nullptr);
  // Refreshes that never started: nobody should wait on them, but never hang.
  absl::MutexLock lock(&mu_);
  for (auto& [key, entry] : cache_) {
    if (entry.flight != nullptr && !entry.flight->started) {
      entry.flight->result = absl::CancelledError("fetcher destroyed");
      entry.flight->done.Notify();
      entry.flight = nullptr;
    }
  }
}

absl::StatusOr<FetchResult> Fetcher::Get(const std::string& url) {
  return Fetch(Request{false, url, "", ""}, policy_.total_timeout);
}

absl::StatusOr<FetchResult> Fetcher::Post(const std::string& url, const std::string& body,
                                          const std::string& content_type) {
  return Fetch(Request{true, url, body, content_type}, policy_.total_timeout);
}

absl::StatusOr<FetchResult> Fetcher::CachedGet(const std::string& url, ExpiryFn expiry_of,
                                               absl::Time deadline) {
  return CachedFetch(Request{false, url, "", ""}, std::move(expiry_of), deadline);
}

absl::StatusOr<FetchResult> Fetcher::CachedPost(const std::string& url, const std::string& body,
                                                const std::string& content_type,
                                                ExpiryFn expiry_of, absl::Time deadline) {
  return CachedFetch(Request{true, url, body, content_type}, std::move(expiry_of), deadline);
}

Fetcher::Stats Fetcher::stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

absl::StatusOr<FetchResult> Fetcher::Fetch(const Request& request, absl::Duration timeout,
                                           bool caller_deadline) {
  absl::StatusOr<FetchResult> result = Transfer(request, timeout);
  if (!result.ok()) {
    const absl::StatusCode code = result.status().code();
    absl::MutexLock lock(&mu_);
    if (code == absl::StatusCode::kPermissionDenied ||
        code == absl::StatusCode::kInvalidArgument) {
      ++stats_.refused;
    } else if (caller_deadline && code == absl::StatusCode::kDeadlineExceeded) {
      ++stats_.deadline;
    } else {
      ++stats_.failures;
    }
  }
  return result;
}

absl::StatusOr<FetchResult> Fetcher::Transfer(const Request& request, absl::Duration timeout) {
  if (absl::Status init = GlobalInit(); !init.ok()) return init;
  if (timeout <= absl::ZeroDuration()) {
    return absl::DeadlineExceededError(
        absl::StrCat(request.post ? "POST " : "GET ", ForMessage(request.url),
                     ": no time left before the request's deadline"));
  }
  absl::StatusOr<CurlUrlPtr> url = ParseAndCheckUrl(policy_, request.url);
  if (!url.ok()) return url.status();
  CurlEasyPtr curl(curl_easy_init());
  if (curl == nullptr) return absl::ResourceExhaustedError("curl_easy_init failed");

  TransferState state;
  state.max_bytes = policy_.max_response_bytes;
  state.allow_private = policy_.allow_private_addresses;
  state.stopping = &stopping_;
  char error_buffer[CURL_ERROR_SIZE] = {0};
  const std::string protocols = ProtocolsString(policy_);

  // curl would otherwise send "Expect: 100-continue" and wait for it.
  CurlSlistPtr headers(curl_slist_append(nullptr, "Expect:"));
  if (request.post && headers != nullptr) {
    curl_slist* more = curl_slist_append(
        headers.get(), absl::StrCat("Content-Type: ", request.content_type).c_str());
    if (more == nullptr) headers.reset();
  }
  if (headers == nullptr) return absl::ResourceExhaustedError("curl_slist_append failed");

  CURL* h = curl.get();
  CURLcode rc = CURLE_OK;
  auto set = [&rc, h](CURLoption option, auto value) {
    if (rc == CURLE_OK) rc = curl_easy_setopt(h, option, value);
  };
  set(CURLOPT_CURLU, url->get());
  set(CURLOPT_PROTOCOLS_STR, protocols.c_str());
  set(CURLOPT_REDIR_PROTOCOLS_STR, protocols.c_str());
  // A redirect could lead anywhere; the allow-list is checked once, here.
  set(CURLOPT_FOLLOWLOCATION, 0L);
  set(CURLOPT_MAXREDIRS, 0L);
  // Signals are not safe in a multi-threaded server; timeouts still hold with
  // the threaded resolver.
  set(CURLOPT_NOSIGNAL, 1L);
  set(CURLOPT_CONNECTTIMEOUT_MS, Milliseconds(std::min(policy_.connect_timeout, timeout)));
  set(CURLOPT_TIMEOUT_MS, Milliseconds(timeout));
  // An environment proxy would both bypass the address check and leak URLs.
  set(CURLOPT_PROXY, "");
  set(CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(policy_.max_response_bytes));
  set(CURLOPT_WRITEFUNCTION, &WriteCallback);
  set(CURLOPT_WRITEDATA, static_cast<void*>(&state));
  set(CURLOPT_OPENSOCKETFUNCTION, &OpenSocketCallback);
  set(CURLOPT_OPENSOCKETDATA, static_cast<void*>(&state));
  set(CURLOPT_NOPROGRESS, 0L);
  set(CURLOPT_XFERINFOFUNCTION, &XferInfoCallback);
  set(CURLOPT_XFERINFODATA, static_cast<void*>(&state));
  set(CURLOPT_ERRORBUFFER, error_buffer);
  set(CURLOPT_USERAGENT, "chainverify-revocation-fetcher/1");
  set(CURLOPT_HTTPHEADER, headers.get());
  if (request.post) {
    set(CURLOPT_POST, 1L);
    set(CURLOPT_POSTFIELDS, request.body.data());
    set(CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  }
  if (rc != CURLE_OK) {
    return absl::InternalError(absl::StrCat("curl_easy_setopt: ", curl_easy_strerror(rc)));
  }

  const absl::Time started = absl::Now();
  rc = curl_easy_perform(h);
  const std::string what = absl::StrCat(request.post ? "POST " : "GET ", ForMessage(request.url));
  const std::string detail = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(rc);

  if (!state.refused_address.empty() && rc != CURLE_OK) {
    return absl::PermissionDeniedError(absl::StrCat(
        what, ": refused to connect to non-public address ", state.refused_address));
  }
  switch (rc) {
    case CURLE_OK:
      break;
    case CURLE_WRITE_ERROR:
    case CURLE_FILESIZE_EXCEEDED:
      if (rc == CURLE_FILESIZE_EXCEEDED || state.over_cap) {
        return absl::ResourceExhaustedError(absl::StrCat(
            what, ": response larger than ", policy_.max_response_bytes, " bytes"));
      }
      return absl::UnavailableError(absl::StrCat(what, ": ", detail));
    case CURLE_OPERATION_TIMEDOUT:
      return absl::DeadlineExceededError(absl::StrCat(
          what, ": timed out after ", absl::FormatDuration(absl::Now() - started), " (",
          detail, ")"));
    case CURLE_ABORTED_BY_CALLBACK:
      return absl::CancelledError(absl::StrCat(what, ": fetcher shutting down"));
    case CURLE_UNSUPPORTED_PROTOCOL:
      return absl::PermissionDeniedError(absl::StrCat(what, ": ", detail));
    default:
      return absl::UnavailableError(absl::StrCat(what, ": ", detail));
  }

  long status = 0;  // NOLINT(runtime/int): libcurl's type.
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  if (status != 200) {
    if (status >= 300 && status < 400) {
      char* location = nullptr;
      curl_easy_getinfo(h, CURLINFO_REDIRECT_URL, &location);
      return absl::UnavailableError(absl::StrCat(
          what, ": HTTP ", status, " redirect",
          location != nullptr ? absl::StrCat(" to ", ForMessage(location)) : "",
          " not followed"));
    }
    return absl::UnavailableError(absl::StrCat(what, ": HTTP ", status));
  }
  return FetchResult{std::move(state.body), started};
}

absl::StatusOr<FetchResult> Fetcher::CachedFetch(Request request, ExpiryFn expiry_of,
                                                 absl::Time deadline) {
  // Refused URLs never reach the cache, so junk URLs cannot fill it.
  if (absl::Status allowed = CheckUrl(policy_, request.url); !allowed.ok()) {
    absl::MutexLock lock(&mu_);
    ++stats_.refused;
    return allowed;
  }
  std::string key = request.post
                        ? absl::StrCat("POST ", request.url, " ",
                                       pki::HexEncode(pki::Sha256(request.body)))
                        : absl::StrCat("GET ", request.url);
  std::shared_ptr<Flight> flight;
  bool lead = false;
  {
    absl::MutexLock lock(&mu_);
    const absl::Time now = absl::Now();
    auto it = cache_.find(key);
    if (it != cache_.end() && it->second.has_value && now < it->second.expires_at) {
      Entry& entry = it->second;
      ++stats_.hits;
      if (now >= entry.refresh_at && entry.flight == nullptr) {
        entry.flight = std::make_shared<Flight>();
        refresh_queue_.push_back(key);
        refresh_cv_.Signal();
      }
      absl::StatusOr<FetchResult> value = entry.value;
      if (value.ok()) value->from_cache = true;
      return value;
    }
    if (it == cache_.end()) {
      if (cache_.size() >= next_sweep_size_) SweepExpiredLocked(now);
      it = cache_.try_emplace(key).first;
    }
    Entry& entry = it->second;
    if (entry.flight != nullptr && entry.flight->started) {
      ++stats_.coalesced;
      flight = entry.flight;
    } else {
      // A queued refresh that has not started is taken over, so this caller
      // does not wait behind other refreshes.
      ++stats_.misses;
      if (entry.flight == nullptr) entry.flight = std::make_shared<Flight>();
      entry.flight->started = true;
      entry.request = request;
      entry.expiry_of = expiry_of;
      flight = entry.flight;
      lead = true;
    }
  }
  if (lead) {
    // A caller with total_timeout left outwaits the transfer: no thread needed.
    const bool patient = deadline - absl::Now() >= policy_.total_timeout;
    if (patient || !StartBackgroundFlight(key, request, expiry_of, flight)) {
      RunFlight(key, request, expiry_of, flight, patient ? absl::InfiniteFuture() : deadline);
      return flight->result;
    }
  }
  if (!flight->done.WaitForNotificationWithDeadline(deadline)) {
    {
      absl::MutexLock lock(&mu_);
      ++stats_.deadline;
    }
    return absl::DeadlineExceededError(absl::StrCat(
        "stopped waiting for ", ForMessage(request.url),
        " at this request's deadline; the transfer goes on and its answer "
        "serves the requests that come next"));
  }
  return flight->result;
}

struct Fetcher::BackgroundFlight {
  Fetcher* fetcher;
  std::string key;
  Request request;
  ExpiryFn expiry_of;
  std::shared_ptr<Flight> flight;
};

void* Fetcher::RunBackgroundFlight(void* arg) {
  std::unique_ptr<BackgroundFlight> run(static_cast<BackgroundFlight*>(arg));
  Fetcher* const fetcher = run->fetcher;
  fetcher->RunFlight(run->key, run->request, run->expiry_of, run->flight,
                     absl::InfiniteFuture());
  run.reset();
  absl::MutexLock lock(&fetcher->mu_);
  fetcher->background_finished_.push_back(pthread_self());
  return nullptr;
}

bool Fetcher::StartBackgroundFlight(const std::string& key, const Request& request,
                                    const ExpiryFn& expiry_of,
                                    const std::shared_ptr<Flight>& flight) {
  std::vector<pthread_t> finished;
  bool started = false;
  {
    absl::MutexLock lock(&mu_);
    finished.swap(background_finished_);
    for (pthread_t thread : finished) {
      auto it = std::find_if(background_.begin(), background_.end(),
                             [&](pthread_t t) { return pthread_equal(t, thread); });
      if (it != background_.end()) background_.erase(it);
    }
    if (!stopping_.load() && background_.size() < kMaxBackgroundTransfers) {
      auto* run = new BackgroundFlight{this, key, request, expiry_of, flight};
      pthread_t thread;
      if (pthread_create(&thread, nullptr, &RunBackgroundFlight, run) == 0) {
        background_.push_back(thread);
        started = true;
      } else {
        delete run;  // The caller runs the transfer itself.
      }
    }
  }
  for (pthread_t thread : finished) pthread_join(thread, nullptr);
  return started;
}

void Fetcher::RunFlight(const std::string& key, const Request& request,
                        const ExpiryFn& expiry_of, const std::shared_ptr<Flight>& flight,
                        absl::Time deadline) {
  const absl::Duration left = deadline - absl::Now();
  // Cut short by the caller's deadline rather than total_timeout: says nothing
  // about the URL, so it is not cached.
  const bool caller_deadline = left < policy_.total_timeout;
  absl::StatusOr<FetchResult> result =
      Fetch(request, std::min(left, policy_.total_timeout), caller_deadline);
  const bool cacheable =
      result.status().code() != absl::StatusCode::kCancelled &&
      !(caller_deadline && result.status().code() == absl::StatusCode::kDeadlineExceeded);
  // The caller's function runs outside the lock.
  absl::optional<absl::Time> expiry;
  if (result.ok() && expiry_of) expiry = expiry_of(result->body);

  {
    absl::MutexLock lock(&mu_);
    const absl::Time now = absl::Now();
    auto it = cache_.find(key);  // Present: entries in flight are not swept.
    if (it != cache_.end() && it->second.flight == flight) {
      Entry& entry = it->second;
      entry.flight = nullptr;
      if (result.ok()) {
        absl::Time expires_at = expiry.value_or(result->fetched_at + policy_.default_ttl);
        entry.refresh_at = absl::InfiniteFuture();
        if (expires_at <= now) {
          // Stale on arrival: kept briefly, like a failure, so the responder
          // is not asked again for every certificate.
          expires_at = now + policy_.negative_ttl;
        } else if (policy_.refresh_ahead > absl::ZeroDuration()) {
          entry.refresh_at = std::max(expires_at - policy_.refresh_ahead,
                                      result->fetched_at + (expires_at - result->fetched_at) / 2);
        }
        entry.value = result;
        entry.has_value = true;
        entry.expires_at = expires_at;
      } else if (entry.has_value && entry.value.ok() && now < entry.expires_at) {
        // A refresh failed: the body still valid keeps being served.
        entry.refresh_at = std::min(now + policy_.negative_ttl, entry.expires_at);
      } else if (cacheable) {
        entry.value = result.status();
        entry.has_value = true;
        entry.expires_at = now + policy_.negative_ttl;
        entry.refresh_at = absl::InfiniteFuture();
      }
    }
    flight->result = std::move(result);
  }
  flight->done.Notify();
}

void Fetcher::SweepExpiredLocked(absl::Time now) {
  for (auto it = cache_.begin(); it != cache_.end();) {
    auto next = std::next(it);
    if (it->second.flight == nullptr && now >= it->second.expires_at) cache_.erase(it);
    it = next;
  }
  next_sweep_size_ = std::max(kMinSweepSize, 2 * cache_.size());
}

void Fetcher::RefreshLoop() {
  while (true) {
    std::string key;
    Request request;
    ExpiryFn expiry_of;
    std::shared_ptr<Flight> flight;
    {
      absl::MutexLock lock(&mu_);
      while (!stopping_.load() && refresh_queue_.empty()) refresh_cv_.Wait(&mu_);
      if (stopping_.load()) return;
      key = std::move(refresh_queue_.front());
      refresh_queue_.pop_front();
      auto it = cache_.find(key);
      if (it == cache_.end() || it->second.flight == nullptr || it->second.flight->started) {
        continue;  // Taken over by a caller, or gone.
      }
      flight = it->second.flight;
      flight->started = true;
      request = it->second.request;
      expiry_of = it->second.expiry_of;
    }
    RunFlight(key, request, expiry_of, flight, absl::InfiniteFuture());
  }
}

}  // namespace chainverify::revocation
