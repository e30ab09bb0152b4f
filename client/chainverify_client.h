// Client library for the chainverify v1 API: reading certificate files, calling
// ChainVerifier.Verify, and rendering its verdict for people and scripts.
#ifndef CHAINVERIFY_CLIENT_CHAINVERIFY_CLIENT_H_
#define CHAINVERIFY_CLIENT_CHAINVERIFY_CLIENT_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "chainverify/v1/verifier.grpc.pb.h"
#include "chainverify/v1/verifier.pb.h"

namespace chainverify::client {

// Process exit codes of the `chainverify` CLI; scripts depend on them.
inline constexpr int kExitTrusted = 0;
inline constexpr int kExitRejected = 1;
inline constexpr int kExitError = 2;

// Returns the DER certificates in `paths`, in order: every CERTIFICATE block of
// a PEM file in file order, or the whole file when it is one DER certificate.
//
// The bytes are passed through as found (PEM is only base64-decoded), not
// parsed as X.509: diagnosing a malformed certificate is the server's job, and
// it reports one as a MALFORMED_CERTIFICATE verdict. Errors name the file:
// unreadable, empty, neither PEM nor DER, or a PEM block that is not a
// certificate (e.g. a key).
absl::StatusOr<std::vector<std::string>> ReadCertificateFiles(
    const std::vector<std::string>& paths);

struct ConnectOptions {
  // gRPC target, e.g. "127.0.0.1:50051" or "dns:///chainverify.internal:443".
  std::string target = "127.0.0.1:50051";
  // No transport security. When false, TLS with the files below.
  bool plaintext = true;
  // PEM roots the server certificate must chain to; empty: gRPC's default
  // roots.
  std::string tls_ca_file;
  // PEM client certificate chain and private key for mutual TLS; both or
  // neither.
  std::string tls_cert_file;
  std::string tls_key_file;
  // Per-call deadline.
  absl::Duration deadline = absl::Seconds(10);
};

// A ChainVerifier stub with a fixed deadline per call. Thread-safe.
class ChainVerifierClient {
 public:
  // Validates `options` and creates the channel. The channel connects lazily,
  // so an unreachable server shows up as UNAVAILABLE from the first Verify().
  static absl::StatusOr<std::unique_ptr<ChainVerifierClient>> Connect(
      const ConnectOptions& options);

  ChainVerifierClient(const ChainVerifierClient&) = delete;
  ChainVerifierClient& operator=(const ChainVerifierClient&) = delete;

  // Calls ChainVerifier.Verify. A REJECTED verdict is a successful call; an RPC
  // error comes back with the same code and message, and UNAVAILABLE and
  // DEADLINE_EXCEEDED also name the target.
  absl::StatusOr<chainverify::v1::VerifyResponse> Verify(
      const chainverify::v1::VerifyRequest& request) const;

  const std::string& target() const { return target_; }

 private:
  ChainVerifierClient(
      std::string target, absl::Duration deadline,
      std::unique_ptr<chainverify::v1::ChainVerifier::Stub> stub);

  const std::string target_;
  const absl::Duration deadline_;
  const std::unique_ptr<chainverify::v1::ChainVerifier::Stub> stub_;
};

// Multi-line human-readable rendering of `response`: verdict and status,
// policy, decision id, the chain one certificate per block, unused uploads, and
// errors. Strings from certificates are shown with control characters escaped.
std::string FormatVerdict(const chainverify::v1::VerifyResponse& response);

// kExitTrusted only for a TRUSTED verdict with status OK; kExitRejected for
// anything else, including unknown or inconsistent values (fail closed).
int ExitCodeFor(const chainverify::v1::VerifyResponse& response);

}  // namespace chainverify::client

#endif  // CHAINVERIFY_CLIENT_CHAINVERIFY_CLIENT_H_
