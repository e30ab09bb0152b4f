#include "client/tls_capture.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace chainverify::client {
namespace {

struct SslCtxFree {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
struct SslFree {
  void operator()(SSL* ssl) const { SSL_free(ssl); }
};

// Closes the socket when it goes out of scope.
class Socket {
 public:
  Socket() = default;
  explicit Socket(int fd) : fd_(fd) {}
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  Socket(Socket&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Socket& operator=(Socket&& other) noexcept {
    if (this != &other) {
      Reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  ~Socket() { Reset(); }
  int get() const { return fd_; }

 private:
  void Reset() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }
  int fd_ = -1;
};

// The queued OpenSSL errors as one string (and clears the queue).
std::string OpenSslErrors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out;
}

int PollTimeoutMs(absl::Time deadline) {
  const absl::Duration left = deadline - absl::Now();
  if (left <= absl::ZeroDuration()) return 0;
  return static_cast<int>(
      std::min<int64_t>(absl::ToInt64Milliseconds(left) + 1, 1 << 30));
}

// Connects `fd` to `addr` with a deadline: non-blocking connect, then poll.
// Leaves the socket blocking.
absl::Status ConnectWithDeadline(int fd, const addrinfo& addr,
                                 absl::Time deadline) {
  const int flags = fcntl(fd, F_GETFL, 0);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
    return absl::InternalError(absl::StrCat("fcntl: ", std::strerror(errno)));
  }
  int rc = connect(fd, addr.ai_addr, addr.ai_addrlen);
  int error = rc == 0 ? 0 : errno;
  if (rc != 0 && error == EINPROGRESS) {
    pollfd pfd{fd, POLLOUT, 0};
    do {
      rc = poll(&pfd, 1, PollTimeoutMs(deadline));
    } while (rc < 0 && errno == EINTR);
    if (rc == 0) return absl::DeadlineExceededError("connect timed out");
    if (rc < 0) {
      return absl::UnavailableError(
          absl::StrCat("poll: ", std::strerror(errno)));
    }
    socklen_t len = sizeof(error);
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) != 0) error = errno;
  }
  if (error != 0) {
    return absl::UnavailableError(
        absl::StrCat("connect: ", std::strerror(error)));
  }
  if (fcntl(fd, F_SETFL, flags) < 0) {
    return absl::InternalError(absl::StrCat("fcntl: ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

// Resolves and connects to host:port, trying each address in turn.
absl::StatusOr<Socket> Connect(const std::string& host,
                               const std::string& port, absl::Time deadline) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_ADDRCONFIG | AI_NUMERICSERV;
  addrinfo* result = nullptr;
  const int gai = getaddrinfo(host.c_str(), port.c_str(), &hints, &result);
  if (gai != 0) {
    return absl::NotFoundError(
        absl::StrCat("cannot resolve '", host, "': ", gai_strerror(gai)));
  }
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> addrs(result,
                                                           &freeaddrinfo);
  absl::Status last = absl::UnavailableError("no addresses");
  for (const addrinfo* a = addrs.get(); a != nullptr; a = a->ai_next) {
    Socket sock(socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC,
                       a->ai_protocol));
    if (sock.get() < 0) {
      last = absl::UnavailableError(
          absl::StrCat("socket: ", std::strerror(errno)));
      continue;
    }
    last = ConnectWithDeadline(sock.get(), *a, deadline);
    if (last.ok()) return sock;
    if (absl::IsDeadlineExceeded(last)) break;  // No time for the next one.
  }
  return last;
}

absl::Status Annotate(const absl::Status& status, const std::string& target) {
  return absl::Status(status.code(),
                      absl::StrCat(target, ": ", status.message()));
}

}  // namespace

absl::Status SplitHostPort(const std::string& host_port, std::string* host,
                           std::string* port) {
  const auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", host_port, "' is not HOST:PORT or [IPV6]:PORT (", why, ")"));
  };
  std::string h, p;
  if (!host_port.empty() && host_port[0] == '[') {
    const size_t close = host_port.find(']');
    if (close == std::string::npos) return bad("missing ']'");
    h = host_port.substr(1, close - 1);
    if (close + 1 >= host_port.size() || host_port[close + 1] != ':') {
      return bad("missing port");
    }
    p = host_port.substr(close + 2);
  } else {
    const size_t colon = host_port.rfind(':');
    if (colon == std::string::npos) return bad("missing port");
    h = host_port.substr(0, colon);
    if (h.find(':') != std::string::npos) return bad("IPv6 needs brackets");
    p = host_port.substr(colon + 1);
  }
  if (h.empty()) return bad("empty host");
  int port_number = 0;
  if (p.empty() || !absl::ascii_isdigit(p[0]) ||
      !absl::SimpleAtoi(p, &port_number) || port_number < 1 ||
      port_number > 65535) {
    return bad("port must be 1-65535");
  }
  *host = std::move(h);
  *port = std::move(p);
  return absl::OkStatus();
}

bool IsIpAddress(const std::string& host) {
  unsigned char buf[sizeof(in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 ||
         inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

absl::StatusOr<CapturedHandshake> CaptureHandshake(
    const std::string& host_port, const std::string& servername,
    absl::Duration timeout) {
  std::string host, port;
  if (absl::Status s = SplitHostPort(host_port, &host, &port); !s.ok()) {
    return s;
  }
  const std::string sni =
      !servername.empty() ? servername : (IsIpAddress(host) ? "" : host);

  absl::StatusOr<Socket> sock = Connect(host, port, absl::Now() + timeout);
  if (!sock.ok()) return Annotate(sock.status(), host_port);
  // Bounds each blocking read and write of the handshake.
  timeval tv{};
  const int64_t usec = std::max<int64_t>(absl::ToInt64Microseconds(timeout), 1);
  tv.tv_sec = usec / 1000000;
  tv.tv_usec = usec % 1000000;
  setsockopt(sock->get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(sock->get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));

  ERR_clear_error();
  std::unique_ptr<SSL_CTX, SslCtxFree> ctx(SSL_CTX_new(TLS_client_method()));
  if (ctx == nullptr) {
    return absl::InternalError(
        absl::StrCat("SSL_CTX_new: ", OpenSslErrors()));
  }
  // Deliberately no verification: the service decides, from what we capture.
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  std::unique_ptr<SSL, SslFree> ssl(SSL_new(ctx.get()));
  if (ssl == nullptr) {
    return absl::InternalError(absl::StrCat("SSL_new: ", OpenSslErrors()));
  }
  if (!sni.empty() && !IsIpAddress(sni) &&
      SSL_set_tlsext_host_name(ssl.get(), sni.c_str()) != 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot use '", sni, "' as TLS server name: ", OpenSslErrors()));
  }
  SSL_set_tlsext_status_type(ssl.get(), TLSEXT_STATUSTYPE_ocsp);
  if (SSL_set_fd(ssl.get(), sock->get()) != 1) {
    return absl::InternalError(absl::StrCat("SSL_set_fd: ", OpenSslErrors()));
  }
  errno = 0;
  const int rc = SSL_connect(ssl.get());
  if (rc != 1) {
    const int ssl_error = SSL_get_error(ssl.get(), rc);
    const int saved_errno = errno;
    std::string detail = OpenSslErrors();
    if (ssl_error == SSL_ERROR_SYSCALL &&
        (saved_errno == EAGAIN || saved_errno == EWOULDBLOCK)) {
      return absl::DeadlineExceededError(absl::StrCat(
          host_port, ": TLS handshake timed out after ",
          absl::FormatDuration(timeout)));
    }
    if (detail.empty()) {
      detail = saved_errno != 0 ? std::strerror(saved_errno)
                                : "connection closed by peer";
    }
    return absl::UnavailableError(
        absl::StrCat(host_port, ": TLS handshake failed: ", detail));
  }

  CapturedHandshake captured;
  captured.negotiated_protocol = SSL_get_version(ssl.get());
  // On the client side the chain as sent includes the leaf, first.
  STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl.get());
  for (int i = 0; chain != nullptr && i < sk_X509_num(chain); ++i) {
    X509* cert = sk_X509_value(chain, i);
    unsigned char* der = nullptr;
    const int len = i2d_X509(cert, &der);
    if (len <= 0) {
      return absl::InternalError(absl::StrCat(
          host_port, ": cannot encode certificate #", i, ": ",
          OpenSslErrors()));
    }
    captured.chain_der.emplace_back(reinterpret_cast<char*>(der), len);
    OPENSSL_free(der);
  }
  if (captured.chain_der.empty()) {
    return absl::UnavailableError(
        absl::StrCat(host_port, ": the server sent no certificate"));
  }
  const unsigned char* ocsp = nullptr;
  const long ocsp_len = SSL_get_tlsext_status_ocsp_resp(ssl.get(), &ocsp);
  if (ocsp != nullptr && ocsp_len > 0) {
    captured.stapled_ocsp_der.assign(reinterpret_cast<const char*>(ocsp),
                                     ocsp_len);
  }
  // Best effort close_notify; the socket closes regardless.
  SSL_shutdown(ssl.get());
  ERR_clear_error();
  return captured;
}

}  // namespace chainverify::client
