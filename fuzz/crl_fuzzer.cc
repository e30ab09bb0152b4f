// Fuzz target: CRL parsing and checking (server/pki/crl.h, RFC 5280 6.3).
//
// Input: 4 bytes of verification time (big-endian Unix seconds), then
// fuzz_input.h parts: the certificate, its issuer, then one or more DER CRLs.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "fuzz/fuzz_input.h"
#include "server/pki/certificate.h"
#include "server/pki/crl.h"

namespace chainverify::fuzz {
namespace {

void Run(absl::string_view data) {
  if (data.size() < 4) return;
  uint32_t seconds = 0;
  for (int i = 0; i < 4; ++i) seconds = (seconds << 8) | static_cast<uint8_t>(data[i]);
  std::vector<std::string> parts = SplitParts(data.substr(4), 8);
  if (parts.size() < 3) return;
  std::vector<std::string> crls(parts.begin() + 2, parts.end());
  std::vector<std::string> load_errors;
  std::shared_ptr<const pki::CrlSet> set = pki::CrlSet::Parse(crls, &load_errors);
  if (set == nullptr) std::abort();  // Never null (crl.h).
  pki::ParseError error;
  pki::CertificatePtr cert = pki::Certificate::Parse(parts[0], &error);
  pki::CertificatePtr issuer = pki::Certificate::Parse(parts[1], &error);
  if (cert == nullptr || issuer == nullptr) return;
  const pki::RevocationCheck check =
      set->Check(*cert, *issuer, absl::FromUnixSeconds(seconds));
  // A definite answer names its CRL; only kRevoked carries a reason.
  if (check.state != pki::RevocationState::kUnknown && check.source.empty() &&
      check.state != pki::RevocationState::kInvalidCrl) {
    std::abort();
  }
  if ((check.reason >= 0) != (check.state == pki::RevocationState::kRevoked)) {
    std::abort();
  }
  pki::CrlReasonName(check.reason);
}

}  // namespace
}  // namespace chainverify::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  chainverify::fuzz::Run(
      absl::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
