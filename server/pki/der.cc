#include "server/pki/der.h"

namespace chainverify::pki {

std::string DerTlv(uint8_t tag, absl::string_view content) {
  std::string out(1, static_cast<char>(tag));
  const size_t n = content.size();
  if (n < 0x80) {
    out.push_back(static_cast<char>(n));
  } else {
    // X.690 8.1.3.5: 0x80 | the number of length octets, then the length
    // big-endian with no leading zero octet (10.1).
    std::string length;
    for (size_t v = n; v != 0; v >>= 8) length.insert(length.begin(), static_cast<char>(v & 0xff));
    out.push_back(static_cast<char>(0x80 | length.size()));
    out.append(length);
  }
  out.append(content.data(), content.size());
  return out;
}

}  // namespace chainverify::pki
