// GeneralNames (RFC 5280 section 4.2.1.6) in a form the name checks can use
// without OpenSSL types.
#ifndef CHAINVERIFY_SERVER_PKI_GENERAL_NAMES_H_
#define CHAINVERIFY_SERVER_PKI_GENERAL_NAMES_H_

#include <string>
#include <vector>

#include <openssl/x509v3.h>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace chainverify::pki {

struct GeneralNames {
  std::vector<std::string> dns_names;       // dNSName, as encoded (IA5String)
  std::vector<std::string> ip_addresses;    // iPAddress, raw 4 or 16 bytes
  std::vector<std::string> emails;          // rfc822Name, as encoded
  std::vector<std::string> uris;            // uniformResourceIdentifier
  std::vector<std::string> directory_names; // directoryName, DER of the Name
  // otherName, x400Address, ediPartyName, registeredID are only counted: they
  // take part in name constraints only to fail closed when constrained.
  int other_names = 0;
  int registered_ids = 0;

  bool empty() const {
    return dns_names.empty() && ip_addresses.empty() && emails.empty() &&
           uris.empty() && directory_names.empty() && other_names == 0 &&
           registered_ids == 0;
  }
};

// Converts OpenSSL's decoded GENERAL_NAMES. Fails on entries that violate the
// encoding rules (e.g. an iPAddress that is not 4 or 16 bytes, a dNSName or
// rfc822Name that is not IA5). `names` may be null (empty result).
absl::StatusOr<GeneralNames> ParseGeneralNames(const GENERAL_NAMES* names);

// IPv4 dotted-quad or IPv6 text to raw bytes (4 or 16). inet_pton refuses
// leading zeros, octal and hexadecimal IPv4 forms and IPv6 zone identifiers.
bool ParseIpAddress(absl::string_view text, std::string* raw);
// Raw bytes (4 or 16) to text; "<n octets>" for other sizes.
std::string IpAddressToString(absl::string_view raw);

}  // namespace chainverify::pki

#endif  // CHAINVERIFY_SERVER_PKI_GENERAL_NAMES_H_
