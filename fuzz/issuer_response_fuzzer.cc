// Fuzz target: what a caIssuers URL serves (server/pki/aia.h): one DER
// certificate, PEM, or PKCS#7 certs-only, then each certificate parsed as the
// path builder does. The body comes from any HTTP server a certificate names.
//
// Input: the response body.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "server/pki/aia.h"
#include "server/pki/certificate.h"

namespace chainverify::fuzz {
namespace {

constexpr size_t kMaxCertificates = 16;  // IssuerSources' default.

void Run(absl::string_view body) {
  absl::StatusOr<std::vector<std::string>> ders =
      pki::ParseIssuerResponse(body, kMaxCertificates);
  if (!ders.ok()) {
    if (ders.status().message().empty()) std::abort();  // Failures say why.
    return;
  }
  // Success holds at least one and at most the limit, none empty.
  if (ders->empty() || ders->size() > kMaxCertificates) std::abort();
  for (const std::string& der : *ders) {
    if (der.empty()) std::abort();
    pki::ParseError error;
    if (pki::CertificatePtr cert = pki::Certificate::Parse(der, &error)) {
      pki::CaIssuersUrls(*cert);
    }
  }
}

}  // namespace
}  // namespace chainverify::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  chainverify::fuzz::Run(absl::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
