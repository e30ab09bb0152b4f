// Captures what a TLS server presents in its handshake, without verifying it:
// the certificate chain as sent and the stapled OCSP response. The result is
// meant to be uploaded to the chainverify service, which makes the decision.
#ifndef CHAINVERIFY_CLIENT_TLS_CAPTURE_H_
#define CHAINVERIFY_CLIENT_TLS_CAPTURE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace chainverify::client {

struct CapturedHandshake {
  // DER certificates in the order the server sent them, leaf first.
  std::vector<std::string> chain_der;
  // The DER OCSP response the server stapled; empty when it stapled none.
  std::string stapled_ocsp_der;
  // The TLS version negotiated, e.g. "TLSv1.3".
  std::string negotiated_protocol;
};

// Connects to `host_port` ("host:port", "[v6addr]:port"), performs a TLS
// handshake with certificate verification OFF, asking for OCSP stapling, and
// returns what the server presented. `servername` is sent as SNI; when empty,
// the host part is sent unless it is an IP address (SNI carries no IPs).
// `timeout` bounds the connect and, separately, each read or write of the
// handshake.
//
// Errors name the target: InvalidArgument for a malformed `host_port`,
// NotFound for a name that does not resolve, Unavailable for a refused
// connection or a failed handshake, DeadlineExceeded for a timeout.
absl::StatusOr<CapturedHandshake> CaptureHandshake(const std::string& host_port,
                                                   const std::string& servername,
                                                   absl::Duration timeout);

// Splits "host:port" or "[v6addr]:port" into host (without brackets) and port.
absl::Status SplitHostPort(const std::string& host_port, std::string* host,
                           std::string* port);

// Whether `host` is an IPv4 or IPv6 address literal.
bool IsIpAddress(const std::string& host);

}  // namespace chainverify::client

#endif  // CHAINVERIFY_CLIENT_TLS_CAPTURE_H_
