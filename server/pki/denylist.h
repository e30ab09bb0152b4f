// The fleet denylist, CRLSet-style: revocations pushed as data, keyed by the
// issuer's SPKI hash and the serial number, plus whole SPKIs blocked wherever
// they appear (a compromised key, whatever certificate carries it).
#ifndef CHAINVERIFY_SERVER_PKI_DENYLIST_H_
#define CHAINVERIFY_SERVER_PKI_DENYLIST_H_

#include <optional>
#include <set>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "server/pki/certificate.h"

namespace chainverify::pki {

class Denylist {
 public:
  // `issuer_spki_sha256_b64`: base64 SHA-256 of the issuer's SPKI;
  // `serial_hex`: the serial number in hex (case and leading zeros ignored).
  absl::Status AddSerial(const std::string& issuer_spki_sha256_b64,
                         const std::string& serial_hex);
  absl::Status BlockSpki(const std::string& spki_sha256_b64);

  // Why `cert` (issued by `issuer`, or null for the anchor) is denylisted, or
  // nullopt.
  std::optional<std::string> Check(const Certificate& cert, const Certificate* issuer) const;

  bool empty() const { return serials_.empty() && spkis_.empty(); }

 private:
  std::set<std::pair<std::string, std::string>> serials_;  // (raw SPKI hash, hex)
  std::set<std::string> spkis_;                            // raw SPKI hashes
};

// Serial number of `cert` as lowercase hex without leading zeros.
std::string SerialHex(const Certificate& cert);

}  // namespace chainverify::pki

#endif  // CHAINVERIFY_SERVER_PKI_DENYLIST_H_
