#include "server/pki/general_names.h"

#include <arpa/inet.h>

#include <openssl/asn1.h>
#include <openssl/x509.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace chainverify::pki {
namespace {

absl::string_view StringView(const ASN1_STRING* s) {
  return absl::string_view(
      reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
      static_cast<size_t>(ASN1_STRING_length(s)));
}

// dNSName, rfc822Name and uniformResourceIdentifier are IA5String (RFC 5280
// 4.2.1.6): 7-bit characters only. A NUL byte is a classic way to make a name
// read differently to C string code ("good.com\0.evil.com"), so it is refused
// in all three, not just in dNSName.
absl::Status CheckIa5(const ASN1_STRING* s, absl::string_view what) {
  if (s == nullptr) return absl::InvalidArgumentError(absl::StrCat(what, " is missing"));
  if (ASN1_STRING_type(s) != V_ASN1_IA5STRING) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " is not an IA5String (RFC 5280 4.2.1.6)"));
  }
  for (unsigned char c : StringView(s)) {
    if (c == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, " contains a NUL byte"));
    }
    if (c > 0x7f) {
      return absl::InvalidArgumentError(absl::StrCat(
          what, " contains a non-ASCII byte; IA5String is 7-bit (RFC 5280 7.2)"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<GeneralNames> ParseGeneralNames(const GENERAL_NAMES* names) {
  GeneralNames out;
  if (names == nullptr) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    if (name == nullptr) return absl::InvalidArgumentError("null GeneralName");
    switch (name->type) {
      case GEN_DNS: {
        absl::Status s = CheckIa5(name->d.dNSName, "dNSName");
        if (!s.ok()) return s;
        out.dns_names.emplace_back(StringView(name->d.dNSName));
        break;
      }
      case GEN_EMAIL: {
        absl::Status s = CheckIa5(name->d.rfc822Name, "rfc822Name");
        if (!s.ok()) return s;
        out.emails.emplace_back(StringView(name->d.rfc822Name));
        break;
      }
      case GEN_URI: {
        absl::Status s = CheckIa5(name->d.uniformResourceIdentifier,
                                  "uniformResourceIdentifier");
        if (!s.ok()) return s;
        out.uris.emplace_back(StringView(name->d.uniformResourceIdentifier));
        break;
      }
      case GEN_IPADD: {
        // RFC 5280 4.2.1.6: four octets for IPv4, sixteen for IPv6. (The
        // address/mask form of 8 or 32 octets belongs to name constraints only.)
        const ASN1_OCTET_STRING* ip = name->d.iPAddress;
        const int len = ip == nullptr ? -1 : ASN1_STRING_length(ip);
        if (len != 4 && len != 16) {
          return absl::InvalidArgumentError(absl::StrCat(
              "iPAddress of ", len, " octets; must be 4 or 16 (RFC 5280 4.2.1.6)"));
        }
        out.ip_addresses.emplace_back(StringView(ip));
        break;
      }
      case GEN_DIRNAME: {
        unsigned char* der = nullptr;
        const int len = i2d_X509_NAME(name->d.directoryName, &der);
        if (len < 0) {
          return absl::InvalidArgumentError("unencodable directoryName");
        }
        out.directory_names.emplace_back(reinterpret_cast<char*>(der),
                                         static_cast<size_t>(len));
        OPENSSL_free(der);
        break;
      }
      case GEN_OTHERNAME:
      case GEN_X400:
      case GEN_EDIPARTY:
        ++out.other_names;
        break;
      case GEN_RID:
        ++out.registered_ids;
        break;
      default:
        return absl::InvalidArgumentError(
            absl::StrCat("unknown GeneralName type ", name->type));
    }
  }
  return out;
}

bool ParseIpAddress(absl::string_view text, std::string* raw) {
  const std::string s(text);
  unsigned char buf[16];
  if (inet_pton(AF_INET, s.c_str(), buf) == 1) {
    raw->assign(reinterpret_cast<char*>(buf), 4);
    return true;
  }
  if (inet_pton(AF_INET6, s.c_str(), buf) == 1) {
    raw->assign(reinterpret_cast<char*>(buf), 16);
    return true;
  }
  return false;
}

std::string IpAddressToString(absl::string_view raw) {
  char buf[INET6_ADDRSTRLEN] = {0};
  if (raw.size() == 4) {
    inet_ntop(AF_INET, raw.data(), buf, sizeof(buf));
  } else if (raw.size() == 16) {
    inet_ntop(AF_INET6, raw.data(), buf, sizeof(buf));
  } else {
    return absl::StrCat("<", raw.size(), " octets>");
  }
  return buf;
}

}  // namespace chainverify::pki
