// Writing DER (ITU-T X.690 8.1, 10.1): one tag-length-value element with a
// low tag number (a single identifier octet) and the definite, minimal length
// encoding. Readers live with what they read (crl.cc's TLV reader).
#ifndef CHAINVERIFY_SERVER_PKI_DER_H_
#define CHAINVERIFY_SERVER_PKI_DER_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace chainverify::pki {

// `tag`, then the length of `content` (short form below 128 bytes, else the
// long form in as few octets as it needs), then `content`.
std::string DerTlv(uint8_t tag, absl::string_view content);

}  // namespace chainverify::pki

#endif  // CHAINVERIFY_SERVER_PKI_DER_H_
