// The fetcher against a real HTTP/1.1 server on loopback.
#include "server/revocation/fetcher.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace chainverify::revocation {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr size_t kLargeBody = 64 * 1024;
constexpr absl::Duration kSlowish = absl::Milliseconds(300);  // Under the timeout.
constexpr absl::Duration kSlow = absl::Seconds(3);            // Over it.

// Serves canned responses by path, one thread per connection, and counts
// requests per path:
//   /crl       200 "crl-body"
//   /counter   200 "n=<requests to /counter so far>"
//   /large     200 with kLargeBody bytes and a Content-Length
//   /endless   200 without a length, streaming until the client goes away
//   /slowish   200 after kSlowish
//   /slow      200 after kSlow
//   /slow-after-first  200 at once the first time, then like /slow
//   /stall     never answers (until the server stops)
//   /redirect  302 to /crl
//   /post      200 echoing "<content-type>|<body>"
//   other      404
class TestHttpServer {
 public:
  TestHttpServer() {
    listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof(addr);
    if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        listen(listen_fd_, 64) != 0 ||
        getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      ADD_FAILURE() << "cannot listen on 127.0.0.1";
      return;
    }
    port_ = ntohs(addr.sin_port);
    accept_thread_ = std::thread([this] { AcceptLoop(); });
  }

  ~TestHttpServer() {
    stop_.Notify();
    if (accept_thread_.joinable()) accept_thread_.join();
    close(listen_fd_);
    std::vector<std::thread> threads;
    {
      absl::MutexLock lock(&mu_);
      threads.swap(connection_threads_);
    }
    for (std::thread& t : threads) t.join();
  }

  std::string Url(absl::string_view path) const {
    return absl::StrCat("http://127.0.0.1:", port_, path);
  }
  int port() const { return port_; }

  int Requests(absl::string_view path) const {
    absl::MutexLock lock(&mu_);
    auto it = requests_.find(path);
    return it == requests_.end() ? 0 : it->second;
  }
  int TotalRequests() const {
    absl::MutexLock lock(&mu_);
    int total = 0;
    for (const auto& [path, n] : requests_) total += n;
    return total;
  }

 private:
  void AcceptLoop() {
    while (!stop_.HasBeenNotified()) {
      pollfd pfd{listen_fd_, POLLIN, 0};
      if (poll(&pfd, 1, 20) <= 0) continue;
      int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      absl::MutexLock lock(&mu_);
      connection_threads_.emplace_back([this, fd] {
        Serve(fd);
        close(fd);
      });
    }
  }

  void Serve(int fd) {
    timeval tv{2, 0};  // A client that never finishes its request.
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    std::string in;
    size_t header_end;
    while ((header_end = in.find("\r\n\r\n")) == std::string::npos) {
      char buf[4096];
      ssize_t n = recv(fd, buf, sizeof(buf), 0);
      if (n <= 0) return;
      in.append(buf, n);
    }
    std::vector<std::string> lines = absl::StrSplit(in.substr(0, header_end), "\r\n");
    std::vector<std::string> request_line = absl::StrSplit(lines[0], ' ');
    if (request_line.size() < 2) return;
    std::string path = request_line[1];
    size_t content_length = 0;
    std::string content_type;
    for (const std::string& line : lines) {
      std::pair<std::string, std::string> kv = absl::StrSplit(line, absl::MaxSplits(": ", 1));
      if (absl::EqualsIgnoreCase(kv.first, "Content-Length")) {
        if (!absl::SimpleAtoi(kv.second, &content_length)) return;
      }
      if (absl::EqualsIgnoreCase(kv.first, "Content-Type")) content_type = kv.second;
    }
    std::string body = in.substr(header_end + 4);
    while (body.size() < content_length) {
      char buf[4096];
      ssize_t n = recv(fd, buf, sizeof(buf), 0);
      if (n <= 0) return;
      body.append(buf, n);
    }
    int count;
    {
      absl::MutexLock lock(&mu_);
      count = ++requests_[path];
    }

    if (path == "/crl") {
      Respond(fd, "200 OK", "crl-body");
    } else if (path == "/counter") {
      Respond(fd, "200 OK", absl::StrCat("n=", count));
    } else if (path == "/large") {
      Respond(fd, "200 OK", std::string(kLargeBody, 'x'));
    } else if (path == "/endless") {
      Send(fd, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
      const std::string chunk(16 * 1024, 'x');
      while (!stop_.HasBeenNotified() && Send(fd, chunk)) {
      }
    } else if (path == "/slow-after-first" && count == 1) {
      Respond(fd, "200 OK", "first");
    } else if (path == "/slowish" || path == "/slow" || path == "/slow-after-first") {
      if (stop_.WaitForNotificationWithTimeout(path == "/slow" ? kSlow : kSlowish)) return;
      Respond(fd, "200 OK", "slow-body");
    } else if (path == "/stall") {
      stop_.WaitForNotification();
    } else if (path == "/redirect") {
      Send(fd, absl::StrCat("HTTP/1.1 302 Found\r\nLocation: ", "/crl",
                            "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"));
    } else if (path == "/post") {
      Respond(fd, "200 OK", absl::StrCat(content_type, "|", body));
    } else {
      Respond(fd, "404 Not Found", "not found");
    }
  }

  static bool Send(int fd, absl::string_view data) {
    while (!data.empty()) {
      ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(n);
    }
    return true;
  }

  static void Respond(int fd, absl::string_view status, absl::string_view body) {
    Send(fd, absl::StrCat("HTTP/1.1 ", status, "\r\nContent-Length: ", body.size(),
                          "\r\nConnection: close\r\n\r\n", body));
  }

  int listen_fd_ = -1;
  int port_ = 0;
  absl::Notification stop_;
  std::thread accept_thread_;
  mutable absl::Mutex mu_;
  std::vector<std::thread> connection_threads_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, int> requests_ ABSL_GUARDED_BY(mu_);
};

// The server's own address is loopback, so tests allow private addresses
// unless they test refusing them.
FetchPolicy TestPolicy() {
  FetchPolicy policy;
  policy.allowed_hosts = {"127.0.0.1"};
  policy.allow_private_addresses = true;
  policy.connect_timeout = absl::Milliseconds(300);
  policy.total_timeout = absl::Milliseconds(1000);
  policy.max_response_bytes = 4096;
  policy.negative_ttl = absl::Seconds(30);
  return policy;
}

Fetcher::ExpiryFn NoExpiry() {
  return [](const std::string&) { return absl::nullopt; };
}

TEST(FetcherTest, GetOk) {
  TestHttpServer server;
  Fetcher fetcher(TestPolicy());
  absl::Time before = absl::Now();
  absl::StatusOr<FetchResult> r = fetcher.Get(server.Url("/crl"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->body, "crl-body");
  EXPECT_GE(r->fetched_at, before);
  EXPECT_EQ(server.Requests("/crl"), 1);
}

TEST(FetcherTest, PostSendsBodyAndContentType) {
  TestHttpServer server;
  Fetcher fetcher(TestPolicy());
  absl::StatusOr<FetchResult> r =
      fetcher.Post(server.Url("/post"), "ocsp-request", "application/ocsp-request");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->body, "application/ocsp-request|ocsp-request");
}

TEST(FetcherTest, CachedGetHits) {
  TestHttpServer server;
  Fetcher fetcher(TestPolicy());
  for (int i = 0; i < 2; ++i) {
    absl::StatusOr<FetchResult> r = fetcher.CachedGet(server.Url("/crl"), NoExpiry());
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->body, "crl-body");
  }
  EXPECT_EQ(server.Requests("/crl"), 1);
  Fetcher::Stats stats = fetcher.stats();
  EXPECT_EQ(stats.misses, 1u);
  EXPECT_EQ(stats.hits, 1u);
}

TEST(FetcherTest, CachedPostKeyedByBody) {
  TestHttpServer server;
  Fetcher fetcher(TestPolicy());
  const std::string type = "application/ocsp-request";
  ASSERT_TRUE(fetcher.CachedPost(server.Url("/post"), "a", type, NoExpiry()).ok());
  absl::StatusOr<FetchResult> again =
      fetcher.CachedPost(server.Url("/post"), "a", type, NoExpiry());
  absl::StatusOr<FetchResult> other =
      fetcher.CachedPost(server.Url("/post"), "b", type, NoExpiry());
  ASSERT_TRUE(again.ok()) << again.status();
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_EQ(again->body, absl::StrCat(type, "|a"));
  EXPECT_EQ(other->body, absl::StrCat(type, "|b"));
  EXPECT_EQ(server.Requests("/post"), 2);
}

TEST(FetcherTest, ExpiryHonoured) {
  TestHttpServer server;
  FetchPolicy policy = TestPolicy();
  policy.refresh_ahead = absl::ZeroDuration();
  Fetcher fetcher(policy);
  auto one_second = [](const std::string&) { return absl::Now() + absl::Seconds(1); };
  absl::StatusOr<FetchResult> r = fetcher.CachedGet(server.Url("/counter"), one_second);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->body, "n=1");
  r = fetcher.CachedGet(server.Url("/counter"), one_second);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->body, "n=1");
  absl::SleepFor(absl::Milliseconds(1100));
  r = fetcher.CachedGet(server.Url("/counter"), one_second);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->body, "n=2");
  EXPECT_EQ(server.Requests("/counter"), 2);
}

TEST(FetcherTest, BodyExpiredOnArrivalIsCachedOnlyBriefly) {
  TestHttpServer server;
  FetchPolicy policy = TestPolicy();
  policy.negative_ttl = absl::Milliseconds(200);
  Fetcher fetcher(policy);
  auto expired = [](const std::string&) { return absl::Now() - absl::Hours(1); };
  EXPECT_TRUE(fetcher.CachedGet(server.Url("/counter"), expired).ok());
  EXPECT_TRUE(fetcher.CachedGet(server.Url("/counter"), expired).ok());
  EXPECT_EQ(server.Requests("/counter"), 1);
  absl::SleepFor(absl::Milliseconds(300));
  absl::StatusOr<FetchResult> r = fetcher.CachedGet(server.Url("/counter"), expired);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->body, "n=2");
}

TEST(FetcherTest, RefreshesAheadOfExpiryInTheBackground) {
  TestHttpServer server;
  FetchPolicy policy = TestPolicy();
  policy.refresh_ahead = absl::Milliseconds(1500);
  Fetcher fetcher(policy);
  auto two_seconds = [](const std::string&) { return absl::Now() + absl::Seconds(2); };
  ASSERT_TRUE(fetcher.CachedGet(server.Url("/counter"), two_seconds).ok());
  // Refreshing starts halfway through the lifetime, on use.
  absl::SleepFor(absl::Milliseconds(1100));
  absl::StatusOr<FetchResult> r = fetcher.CachedGet(server.Url("/counter"), two_seconds);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->body, "n=1");  // Served from the cache, not blocked on the refresh.
  for (int i = 0; i < 100 && server.Requests("/counter") < 2; ++i) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_EQ(server.Requests("/counter"), 2);
  // Give the refresh a moment to land in the cache.
  absl::StatusOr<FetchResult> refreshed;
  for (int i = 0; i < 100; ++i) {
    refreshed = fetcher.CachedGet(server.Url("/counter"), two_seconds);
    if (refreshed.ok() && refreshed->body == "n=2") break;
    absl::SleepFor(absl::Milliseconds(5));
  }
  ASSERT_TRUE(refreshed.ok()) << refreshed.status();
  EXPECT_EQ(refreshed->body, "n=2");
  EXPECT_EQ(server.Requests("/counter"), 2);
  EXPECT_EQ(fetcher.stats().misses, 1u);
}

TEST(FetcherTest, ConcurrentCallersShareOneFetch) {
  TestHttpServer server;
  Fetcher fetcher(TestPolicy());
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      absl::StatusOr<FetchResult> r = fetcher.CachedGet(server.Url("/slowish"), NoExpiry());
      if (r.ok() && r->body == "slow-body") ++ok;
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(ok.load(), 8);
  EXPECT_EQ(server.Requests("/slowish"), 1);
  Fetcher::Stats stats = fetcher.stats();
  EXPECT_GE(stats.coalesced, 1u);
  EXPECT_EQ(stats.misses, 1u);
  EXPECT_EQ(stats.hits + stats.coalesced, 7u);
}

TEST(FetcherTest, SizeCapWithContentLength) {
  TestHttpServer server;
  Fetcher fetcher(TestPolicy());
  absl::StatusOr<FetchResult> r = fetcher.Get(server.Url("/large"));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted) << r.status();
}

TEST(FetcherTest, SizeCapAbortsAnEndlessBody) {
  TestHttpServer server;
  Fetcher fetcher(TestPolicy());
  absl::Time start = absl::Now();
  absl::StatusOr<FetchResult> r = fetcher.Get(server.Url("/endless"));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted) << r.status();
  EXPECT_THAT(r.status().message(), HasSubstr("larger than 4096 bytes"));
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(500));
}

TEST(FetcherTest, TimeoutIsDeadlineExceeded) {
  TestHttpServer server;
  FetchPolicy policy = TestPolicy();
  policy.total_timeout = absl::Milliseconds(300);
  Fetcher fetcher(policy);
  absl::Time start = absl::Now();
  absl::StatusOr<FetchResult> r = fetcher.Get(server.Url("/slow"));
  absl::Duration took = absl::Now() - start;
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded) << r.status();
  EXPECT_GE(took, absl::Milliseconds(250));
  EXPECT_LT(took, absl::Milliseconds(800));
}

// A caller's deadline shorter than total_timeout ends its wait, not the
// transfer: the transfer finishes in the background and its body serves the
// next caller from the cache, without asking the server again.
TEST(FetcherTest, CallerDeadlineStopsTheWaitNotTheTransfer) {
  TestHttpServer server;
  Fetcher fetcher(TestPolicy());  // total_timeout 1 s; /slowish answers after 300 ms.
  const absl::Time start = absl::Now();
  absl::StatusOr<FetchResult> hurried =
      fetcher.CachedGet(server.Url("/slowish"), NoExpiry(), start + absl::Milliseconds(100));
  EXPECT_EQ(hurried.status().code(), absl::StatusCode::kDeadlineExceeded) << hurried.status();
  EXPECT_THAT(hurried.status().message(), HasSubstr("the transfer goes on"));
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(250));
  // Polled (a loaded machine may take a while) with 10 ms waits, each of
  // which joins the transfer still going on, until one sees its body.
  absl::StatusOr<FetchResult> next = absl::UnknownError("not asked");
  while (absl::Now() - start < absl::Seconds(5)) {
    next = fetcher.CachedGet(server.Url("/slowish"), NoExpiry(),
                             absl::Now() + absl::Milliseconds(10));
    if (next.ok()) break;
    EXPECT_EQ(next.status().code(), absl::StatusCode::kDeadlineExceeded) << next.status();
  }
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(next->body, "slow-body");
  absl::StatusOr<FetchResult> cached = fetcher.CachedGet(server.Url("/slowish"), NoExpiry(),
                                                         absl::Now() + absl::Milliseconds(10));
  ASSERT_TRUE(cached.ok()) << cached.status();
  EXPECT_TRUE(cached->from_cache);
  EXPECT_EQ(server.Requests("/slowish"), 1);
  EXPECT_EQ(fetcher.stats().misses, 1u);
}

// A caller that arrives while a hurried caller's transfer still runs in the
// background waits for that transfer: one request to the server.
TEST(FetcherTest, LaterCallerJoinsABackgroundTransfer) {
  TestHttpServer server;
  Fetcher fetcher(TestPolicy());
  const absl::Time start = absl::Now();
  absl::StatusOr<FetchResult> hurried =
      fetcher.CachedGet(server.Url("/slowish"), NoExpiry(), start + absl::Milliseconds(50));
  EXPECT_EQ(hurried.status().code(), absl::StatusCode::kDeadlineExceeded) << hurried.status();
  absl::StatusOr<FetchResult> patient = fetcher.CachedGet(server.Url("/slowish"), NoExpiry());
  ASSERT_TRUE(patient.ok()) << patient.status();
  EXPECT_EQ(patient->body, "slow-body");
  EXPECT_LT(absl::Now() - start, kSlowish + absl::Seconds(1));  // Not a second transfer.
  EXPECT_EQ(server.Requests("/slowish"), 1);
  EXPECT_EQ(fetcher.stats().coalesced, 1u);
}

// Past kMaxBackgroundTransfers, a hurried caller's transfer is its own again:
// cut at its deadline, and the cut not cached (the next caller asks again).
TEST(FetcherTest, BackgroundTransfersAreCapped) {
  TestHttpServer server;
  FetchPolicy policy = TestPolicy();
  policy.total_timeout = absl::Seconds(60);  // /stall answers never.
  Fetcher fetcher(policy);
  const std::string url = server.Url("/stall");
  auto hurried = [&](const std::string& body) {
    return fetcher.CachedPost(url, body, "text/plain", NoExpiry(),
                              absl::Now() + absl::Milliseconds(100));
  };
  for (int i = 0; i < Fetcher::kMaxBackgroundTransfers; ++i) {
    absl::StatusOr<FetchResult> r = hurried(absl::StrCat("request ", i));
    ASSERT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded) << r.status();
    ASSERT_THAT(r.status().message(), HasSubstr("the transfer goes on"));
  }
  for (int attempt = 0; attempt < 2; ++attempt) {
    absl::StatusOr<FetchResult> own = hurried("one more");
    EXPECT_EQ(own.status().code(), absl::StatusCode::kDeadlineExceeded) << own.status();
    EXPECT_THAT(own.status().message(), Not(HasSubstr("the transfer goes on")));
  }
  for (int i = 0; i < 100 && server.Requests("/stall") < Fetcher::kMaxBackgroundTransfers + 2;
       ++i) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_EQ(server.Requests("/stall"), Fetcher::kMaxBackgroundTransfers + 2);
  EXPECT_EQ(fetcher.stats().deadline, Fetcher::kMaxBackgroundTransfers + 2u);
  EXPECT_EQ(fetcher.stats().failures, 0u);
}

// Finished background transfers free their place: many more than
// kMaxBackgroundTransfers quick ones, one after another, all in the background.
TEST(FetcherTest, FinishedBackgroundTransfersAreReaped) {
  TestHttpServer server;
  Fetcher fetcher(TestPolicy());
  for (int i = 0; i < 2 * Fetcher::kMaxBackgroundTransfers; ++i) {
    absl::StatusOr<FetchResult> r = fetcher.CachedPost(
        server.Url("/post"), absl::StrCat("request ", i), "text/plain", NoExpiry(),
        absl::Now() + absl::Milliseconds(500));
    ASSERT_TRUE(r.ok()) << r.status();
  }
  absl::StatusOr<FetchResult> stalled = fetcher.CachedGet(
      server.Url("/stall"), NoExpiry(), absl::Now() + absl::Milliseconds(50));
  EXPECT_THAT(stalled.status().message(), HasSubstr("the transfer goes on"));
}

// Waiting for another caller's transfer stops at the waiter's own deadline;
// the transfer goes on for the caller that leads it.
TEST(FetcherTest, WaiterStopsAtItsDeadline) {
  TestHttpServer server;
  Fetcher fetcher(TestPolicy());
  std::thread leader([&] {
    absl::StatusOr<FetchResult> r = fetcher.CachedGet(server.Url("/slowish"), NoExpiry());
    EXPECT_TRUE(r.ok()) << r.status();
  });
  while (server.Requests("/slowish") == 0) absl::SleepFor(absl::Milliseconds(5));
  const absl::Time start = absl::Now();
  absl::StatusOr<FetchResult> waiter =
      fetcher.CachedGet(server.Url("/slowish"), NoExpiry(), start + absl::Milliseconds(50));
  EXPECT_EQ(waiter.status().code(), absl::StatusCode::kDeadlineExceeded) << waiter.status();
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(200));
  leader.join();
  EXPECT_EQ(server.Requests("/slowish"), 1);
  EXPECT_EQ(fetcher.stats().deadline, 1u);
}

// A caller with no time left gets nothing, but its transfer still serves the
// next caller.
TEST(FetcherTest, DeadlineAlreadyPassedStillFetchesForTheNextCaller) {
  TestHttpServer server;
  Fetcher fetcher(TestPolicy());
  absl::StatusOr<FetchResult> r =
      fetcher.CachedGet(server.Url("/slowish"), NoExpiry(), absl::Now() - absl::Seconds(1));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded) << r.status();
  absl::StatusOr<FetchResult> next = fetcher.CachedGet(server.Url("/slowish"), NoExpiry());
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(next->body, "slow-body");
  EXPECT_EQ(server.Requests("/slowish"), 1);
  EXPECT_EQ(fetcher.stats().coalesced, 1u);
}

TEST(FetcherTest, HostNotAllowedMakesNoConnection) {
  TestHttpServer server;
  FetchPolicy policy = TestPolicy();
  policy.allowed_hosts = {"crl.example.com", "*.example.net"};
  Fetcher fetcher(policy);
  absl::StatusOr<FetchResult> r = fetcher.Get(server.Url("/crl"));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kPermissionDenied) << r.status();
  EXPECT_THAT(r.status().message(), HasSubstr("allow-list"));
  r = fetcher.CachedGet(server.Url("/crl"), NoExpiry());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kPermissionDenied) << r.status();
  EXPECT_EQ(server.TotalRequests(), 0);
  EXPECT_EQ(fetcher.stats().refused, 2u);
}

TEST(FetcherTest, EmptyAllowListAllowsNothing) {
  TestHttpServer server;
  FetchPolicy policy = TestPolicy();
  policy.allowed_hosts.clear();
  Fetcher fetcher(policy);
  EXPECT_EQ(fetcher.Get(server.Url("/crl")).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(server.TotalRequests(), 0);
}

TEST(FetcherTest, SchemeNotAllowed) {
  TestHttpServer server;
  Fetcher fetcher(TestPolicy());
  for (const char* scheme : {"https", "ftp", "gopher"}) {
    const std::string url = absl::StrCat(scheme, "://127.0.0.1:", server.port(), "/crl");
    EXPECT_EQ(fetcher.Get(url).status().code(), absl::StatusCode::kPermissionDenied) << url;
  }
  EXPECT_EQ(fetcher.Get("file:///etc/passwd").status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(fetcher.Get("not a url").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(server.TotalRequests(), 0);
}

TEST(FetcherTest, PrivateAddressRefusedAfterResolution) {
  TestHttpServer server;
  FetchPolicy policy = TestPolicy();
  policy.allowed_hosts = {"127.0.0.1", "localhost"};
  policy.allow_private_addresses = false;
  Fetcher fetcher(policy);
  for (const std::string& url :
       {server.Url("/crl"), absl::StrCat("http://localhost:", server.port(), "/crl")}) {
    absl::StatusOr<FetchResult> r = fetcher.Get(url);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kPermissionDenied) << r.status();
    EXPECT_THAT(r.status().message(), HasSubstr("non-public address"));
  }
  EXPECT_EQ(server.TotalRequests(), 0);
  EXPECT_EQ(fetcher.stats().refused, 2u);
}

TEST(FetcherTest, NotFoundIsUnavailable) {
  TestHttpServer server;
  Fetcher fetcher(TestPolicy());
  absl::StatusOr<FetchResult> r = fetcher.Get(server.Url("/missing"));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();
  EXPECT_THAT(r.status().message(), HasSubstr("HTTP 404"));
}

TEST(FetcherTest, RedirectNotFollowed) {
  TestHttpServer server;
  Fetcher fetcher(TestPolicy());
  absl::StatusOr<FetchResult> r = fetcher.Get(server.Url("/redirect"));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();
  EXPECT_THAT(r.status().message(), HasSubstr("not followed"));
  EXPECT_EQ(server.Requests("/redirect"), 1);
  EXPECT_EQ(server.Requests("/crl"), 0);
}

TEST(FetcherTest, UnreachablePortIsUnavailableQuickly) {
  // A port that was just free: nothing listens on it.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  close(fd);

  Fetcher fetcher(TestPolicy());
  absl::Time start = absl::Now();
  absl::StatusOr<FetchResult> r =
      fetcher.Get(absl::StrCat("http://127.0.0.1:", ntohs(addr.sin_port), "/crl"));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(500));
  EXPECT_EQ(fetcher.stats().failures, 1u);
}

TEST(FetcherTest, FailuresAreCachedBriefly) {
  TestHttpServer server;
  FetchPolicy policy = TestPolicy();
  policy.negative_ttl = absl::Milliseconds(300);
  Fetcher fetcher(policy);
  for (int i = 0; i < 2; ++i) {
    absl::StatusOr<FetchResult> r = fetcher.CachedGet(server.Url("/missing"), NoExpiry());
    EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();
  }
  EXPECT_EQ(server.Requests("/missing"), 1);
  EXPECT_EQ(fetcher.stats().failures, 1u);
  absl::SleepFor(absl::Milliseconds(400));
  EXPECT_FALSE(fetcher.CachedGet(server.Url("/missing"), NoExpiry()).ok());
  EXPECT_EQ(server.Requests("/missing"), 2);
}

TEST(FetcherTest, DestructorStopsPromptlyDuringARefresh) {
  TestHttpServer server;
  FetchPolicy policy = TestPolicy();
  policy.total_timeout = absl::Seconds(10);
  policy.refresh_ahead = absl::Hours(2);  // Every use after half the lifetime.
  auto fetcher = std::make_unique<Fetcher>(policy);
  auto short_lived = [](const std::string&) { return absl::Now() + absl::Milliseconds(200); };
  const std::string url = server.Url("/slow-after-first");
  ASSERT_TRUE(fetcher->CachedGet(url, short_lived).ok());
  absl::SleepFor(absl::Milliseconds(120));
  // Past half the lifetime: this use starts a refresh, which the server stalls.
  ASSERT_TRUE(fetcher->CachedGet(url, short_lived).ok());
  for (int i = 0; i < 100 && server.Requests("/slow-after-first") < 2; ++i) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  ASSERT_EQ(server.Requests("/slow-after-first"), 2);
  absl::Time start = absl::Now();
  fetcher.reset();
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
}

TEST(FetcherTest, DestructorStopsPromptlyDuringABackgroundTransfer) {
  TestHttpServer server;
  FetchPolicy policy = TestPolicy();
  policy.total_timeout = absl::Seconds(10);
  auto fetcher = std::make_unique<Fetcher>(policy);
  absl::StatusOr<FetchResult> hurried =
      fetcher->CachedGet(server.Url("/stall"), NoExpiry(), absl::Now() + absl::Milliseconds(50));
  EXPECT_EQ(hurried.status().code(), absl::StatusCode::kDeadlineExceeded) << hurried.status();
  ASSERT_THAT(hurried.status().message(), HasSubstr("the transfer goes on"));
  for (int i = 0; i < 100 && server.Requests("/stall") < 1; ++i) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  ASSERT_EQ(server.Requests("/stall"), 1);
  const absl::Time start = absl::Now();
  fetcher.reset();
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
}

TEST(HostAllowedTest, ExactAndWildcard) {
  const std::vector<std::string> allowed = {"crl.example.com", "*.pki.example.org", "[::1]"};
  EXPECT_TRUE(HostAllowed("crl.example.com", allowed));
  EXPECT_TRUE(HostAllowed("CRL.Example.COM", allowed));
  EXPECT_FALSE(HostAllowed("crl.example.com.evil", allowed));
  EXPECT_FALSE(HostAllowed("xcrl.example.com", allowed));
  EXPECT_TRUE(HostAllowed("a.pki.example.org", allowed));
  EXPECT_TRUE(HostAllowed("a.b.pki.example.org", allowed));
  EXPECT_FALSE(HostAllowed("pki.example.org", allowed));
  EXPECT_FALSE(HostAllowed("evilpki.example.org", allowed));
  EXPECT_TRUE(HostAllowed("::1", allowed));
  EXPECT_FALSE(HostAllowed("anything", {}));
  // "*" is any host (the address check still applies at connect time).
  EXPECT_TRUE(HostAllowed("cacerts.digicert.com", {"*"}));
  EXPECT_TRUE(HostAllowed("10.0.0.1", {"*"}));
  EXPECT_FALSE(HostAllowed("example.com", {"*.*"}));
}

TEST(CheckUrlTest, UsesTheParsedHost) {
  FetchPolicy policy;
  policy.allowed_hosts = {"crl.example.com"};
  EXPECT_TRUE(CheckUrl(policy, "http://crl.example.com/ca.crl").ok());
  EXPECT_TRUE(CheckUrl(policy, "HTTP://CRL.EXAMPLE.COM:8080/ca.crl").ok());
  // The host is what follows the userinfo, not what precedes '@'.
  EXPECT_EQ(CheckUrl(policy, "http://crl.example.com@evil.com/").code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(CheckUrl(policy, "http://evil.com#@crl.example.com/").code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(CheckUrl(policy, "https://crl.example.com/").code(),
            absl::StatusCode::kPermissionDenied);
  constexpr char kWithNul[] = "http://crl.example.com\0.evil.com/";
  EXPECT_FALSE(CheckUrl(policy, std::string(kWithNul, sizeof(kWithNul) - 1)).ok());
}

bool NonPublic(const std::string& text) {
  sockaddr_storage storage{};
  if (absl::StrContains(text, ':')) {
    auto* a6 = reinterpret_cast<sockaddr_in6*>(&storage);
    a6->sin6_family = AF_INET6;
    EXPECT_EQ(inet_pton(AF_INET6, text.c_str(), &a6->sin6_addr), 1) << text;
  } else {
    auto* a4 = reinterpret_cast<sockaddr_in*>(&storage);
    a4->sin_family = AF_INET;
    EXPECT_EQ(inet_pton(AF_INET, text.c_str(), &a4->sin_addr), 1) << text;
  }
  return IsNonPublicAddress(reinterpret_cast<sockaddr*>(&storage));
}

TEST(IsNonPublicAddressTest, Ranges) {
  for (const char* a : {"127.0.0.1", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1",
                        "169.254.169.254", "100.64.0.1", "0.0.0.0", "224.0.0.1",
                        "255.255.255.255", "::", "::1", "fe80::1", "fd00::1", "ff02::1",
                        "::ffff:127.0.0.1", "::ffff:10.0.0.1", "64:ff9b::a9fe:a9fe",
                        "2002:c0a8:0101::1"}) {
    EXPECT_TRUE(NonPublic(a)) << a;
  }
  for (const char* a : {"8.8.8.8", "1.1.1.1", "172.32.0.1", "192.169.0.1", "100.128.0.1",
                        "2606:4700::1111", "::ffff:8.8.8.8", "2002:0808:0808::1"}) {
    EXPECT_FALSE(NonPublic(a)) << a;
  }
}

}  // namespace
}  // namespace chainverify::revocation
