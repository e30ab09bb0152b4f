#include "server/pki/denylist.h"

#include <openssl/bn.h>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace chainverify::pki {
namespace {

std::string NormalizeHex(std::string hex) {
  hex = absl::AsciiStrToLower(hex);
  const size_t first = hex.find_first_not_of('0');
  return first == std::string::npos ? "0" : hex.substr(first);
}

absl::StatusOr<std::string> DecodeSha256(const std::string& b64) {
  std::string raw;
  if (!absl::Base64Unescape(b64, &raw) || raw.size() != 32) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", b64, "\" is not a base64 SHA-256 (pin-sha256 form)"));
  }
  return raw;
}

}  // namespace

std::string SerialHex(const Certificate& cert) {
  BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert.x509()), nullptr);
  if (bn == nullptr) return "";
  char* hex = BN_bn2hex(bn);
  std::string out = NormalizeHex(hex);
  OPENSSL_free(hex);
  BN_free(bn);
  return out;
}

absl::Status Denylist::AddSerial(const std::string& issuer_spki_sha256_b64,
                                 const std::string& serial_hex) {
  absl::StatusOr<std::string> spki = DecodeSha256(issuer_spki_sha256_b64);
  if (!spki.ok()) return spki.status();
  if (serial_hex.empty() || !std::all_of(serial_hex.begin(), serial_hex.end(), ::isxdigit)) {
    return absl::InvalidArgumentError(absl::StrCat("\"", serial_hex, "\" is not a hex serial"));
  }
  serials_.emplace(*spki, NormalizeHex(serial_hex));
  return absl::OkStatus();
}

absl::Status Denylist::BlockSpki(const std::string& spki_sha256_b64) {
  absl::StatusOr<std::string> spki = DecodeSha256(spki_sha256_b64);
  if (!spki.ok()) return spki.status();
  spkis_.insert(*spki);
  return absl::OkStatus();
}

std::optional<std::string> Denylist::Check(const Certificate& cert,
                                           const Certificate* issuer) const {
  if (spkis_.count(cert.spki_sha256())) return "its public key is on the fleet denylist";
  if (issuer != nullptr && serials_.count({issuer->spki_sha256(), SerialHex(cert)})) {
    return absl::StrCat("serial ", SerialHex(cert), " of this issuer is on the fleet denylist");
  }
  return std::nullopt;
}

}  // namespace chainverify::pki
