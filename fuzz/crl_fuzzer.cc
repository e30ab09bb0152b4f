// Fuzz target: CRL parsing and checking (server/pki/crl.h, RFC 5280 6.3).
//
// Input: 4 bytes of verification time (big-endian Unix seconds), then
// fuzz_input.h parts: the certificate, its issuer, then one or more DER CRLs.
// The CRLs go through the DER walker and entry index of CrlSet::Parse, then
// Check() twice: without a CRL signer resolver, and with one that accepts
// the issuer's key as a CRL signer of any name (so that indirect CRLs and
// CRLs of other names reach the scope, entry and delta logic).
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

// Accepts `signer` for any CRL whose signature its key verifies.
class IssuerAsSigner : public pki::CrlSignerResolver {
 public:
  explicit IssuerAsSigner(const pki::Certificate& signer) : signer_(signer) {}
  pki::CrlSignerAnswer Resolve(const pki::CrlSignatureQuery& query) override {
    if (query.issuer == nullptr || query.id == nullptr) std::abort();
    return {query.verifies(signer_), "fuzz"};
  }

 private:
  const pki::Certificate& signer_;
};

void CheckInvariants(const pki::RevocationCheck& check) {
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
  if (set->size() + load_errors.size() != crls.size()) std::abort();
  set->FreshestCrlUrls();
  set->NextUpdate();
  pki::ParseError error;
  pki::CertificatePtr cert = pki::Certificate::Parse(parts[0], &error);
  pki::CertificatePtr issuer = pki::Certificate::Parse(parts[1], &error);
  if (cert == nullptr || issuer == nullptr) return;
  pki::FreshestCrlUrls(*cert);
  const absl::Time time = absl::FromUnixSeconds(seconds);
  CheckInvariants(set->Check(*cert, *issuer, time));
  IssuerAsSigner signers(*issuer);
  CheckInvariants(pki::CrlSet::CheckAll({set.get(), set.get()}, *cert, *issuer, time, &signers));
}

}  // namespace
}  // namespace chainverify::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  chainverify::fuzz::Run(
      absl::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
