// Fuzz target: OCSP response checking (server/pki/ocsp.h, RFC 6960) and
// building the request for a certificate.
//
// Input: 4 bytes of verification time (big-endian Unix seconds), then
// fuzz_input.h parts: the certificate, its issuer, the DER OCSPResponse.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "fuzz/fuzz_input.h"
#include "server/pki/certificate.h"
#include "server/pki/ocsp.h"

namespace chainverify::fuzz {
namespace {

void Run(absl::string_view data) {
  if (data.size() < 4) return;
  uint32_t seconds = 0;
  for (int i = 0; i < 4; ++i) seconds = (seconds << 8) | static_cast<uint8_t>(data[i]);
  std::vector<std::string> parts = SplitParts(data.substr(4), 3);
  if (parts.size() < 3) return;
  pki::ParseError error;
  pki::CertificatePtr cert = pki::Certificate::Parse(parts[0], &error);
  pki::CertificatePtr issuer = pki::Certificate::Parse(parts[1], &error);
  if (cert == nullptr || issuer == nullptr) return;
  const pki::RevocationCheck check = pki::CheckOcspResponse(
      parts[2], *cert, *issuer, absl::FromUnixSeconds(seconds));
  // Every OCSP failure is kUnknown (ocsp.h); answers name their responder.
  if (check.state == pki::RevocationState::kInvalidCrl) std::abort();
  if (check.state != pki::RevocationState::kUnknown && check.source.empty()) {
    std::abort();
  }
  if ((check.reason >= 0) != (check.state == pki::RevocationState::kRevoked)) {
    std::abort();
  }
  (void)pki::BuildOcspRequest(*cert, *issuer);
}

}  // namespace
}  // namespace chainverify::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  chainverify::fuzz::Run(
      absl::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
