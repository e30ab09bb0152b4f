#include "server/pki/web_pki_names.h"

#include <arpa/inet.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <openssl/asn1.h>
#include <openssl/crypto.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"

namespace chainverify::pki {
namespace {

constexpr size_t kMaxDnsNameLength = 253;  // RFC 1035 2.3.4, without the root
constexpr size_t kMaxLabelLength = 63;     // RFC 1035 2.3.4

// The status payload that carries the CertErrorId's name.
constexpr char kErrorIdPayload[] = "type.chainverify.dev/cert_error_id";

absl::Status NameError(const CertErrorId& id, std::string message) {
  absl::Status status = absl::InvalidArgumentError(std::move(message));
  status.SetPayload(kErrorIdPayload, absl::Cord(id.name));
  return status;
}

absl::string_view StripOneTrailingDot(absl::string_view s) {
  if (!s.empty() && s.back() == '.') s.remove_suffix(1);
  return s;
}

bool IsAscii(absl::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) > 0x7f) return false;
  }
  return true;
}

// Quoted for a diagnostic; non-printable bytes escaped.
std::string Quote(absl::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      absl::StrAppendFormat(&out, "\\x%02x", u);
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
  return out;
}

// Why `name` is not a dNSName in preferred name syntax (RFC 5280 4.2.1.6,
// RFC 1034 3.5, RFC 1123 2.1), or "" when it is one.
std::string DnsSyntaxProblem(absl::string_view name) {
  if (name.empty()) return "is empty";
  if (name.size() > kMaxDnsNameLength) {
    return absl::StrCat("is longer than ", kMaxDnsNameLength, " characters");
  }
  if (name.back() == '.') return "ends with '.' (an empty root label)";
  absl::string_view rest = name;
  if (absl::ConsumePrefix(&rest, "*.")) {
    // RFC 6125 6.4.3 / BR 1.6.1: "*." immediately followed by a name.
  } else if (rest == "*") {
    return "is a wildcard with no name after it";
  }
  std::vector<absl::string_view> labels = absl::StrSplit(rest, '.');
  for (absl::string_view label : labels) {
    if (label.empty()) return "has an empty label";
    if (label.size() > kMaxLabelLength) {
      return absl::StrCat("has a label longer than ", kMaxLabelLength,
                          " characters");
    }
    for (char c : label) {
      if (c == '*') {
        return "has a '*' that is not the whole left-most label";
      }
      if (c == '_') return "has an underscore";
      if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-') {
        return absl::StrCat("has the character ", Quote(absl::string_view(&c, 1)),
                            ", not a letter, digit or '-'");
      }
    }
    if (label.front() == '-' || label.back() == '-') {
      return absl::StrCat("has the label ", Quote(label),
                          " starting or ending with '-'");
    }
  }
  bool all_digits = true;
  for (char c : labels.back()) {
    all_digits = all_digits && absl::ascii_isdigit(static_cast<unsigned char>(c));
  }
  if (all_digits) {
    return "has an all-numeric right-most label (an IP address belongs in "
           "iPAddress, RFC 1123 2.1)";
  }
  return "";
}

// --- IP addresses ------------------------------------------------------------

// One inet_aton(3) part: "0x" hex, "0" octal, else decimal.
bool ParseAtonPart(absl::string_view part, uint64_t* value) {
  if (part.empty()) return false;
  int base = 10;
  if (part.size() > 2 && part[0] == '0' && (part[1] == 'x' || part[1] == 'X')) {
    base = 16;
    part.remove_prefix(2);
  } else if (part.size() > 1 && part[0] == '0') {
    base = 8;
    part.remove_prefix(1);
  }
  uint64_t v = 0;
  for (char c : part) {
    int d;
    if (c >= '0' && c <= '9') {
      d = c - '0';
    } else if (base == 16 && absl::ascii_isxdigit(static_cast<unsigned char>(c))) {
      d = absl::ascii_tolower(static_cast<unsigned char>(c)) - 'a' + 10;
    } else {
      return false;
    }
    if (d >= base) return false;
    v = v * base + d;
    if (v > 0xffffffffu) return false;
  }
  *value = v;
  return true;
}

// The BSD inet_aton(3) reading: 1 to 4 parts, the last filling the remaining
// bytes ("0xC0A80101", "192.168.1", "0300.0250.01.01").
bool ParseInetAton(absl::string_view text, std::string* out) {
  std::vector<absl::string_view> parts = absl::StrSplit(text, '.');
  if (parts.empty() || parts.size() > 4) return false;
  uint32_t address = 0;
  for (size_t i = 0; i < parts.size(); ++i) {
    uint64_t v;
    if (!ParseAtonPart(parts[i], &v)) return false;
    if (i + 1 < parts.size()) {
      if (v > 0xff) return false;
      address |= static_cast<uint32_t>(v) << (8 * (3 - i));
    } else {
      const int bits = 8 * static_cast<int>(4 - i);
      if (bits < 32 && v >= (uint64_t{1} << bits)) return false;
      address |= static_cast<uint32_t>(v);
    }
  }
  out->clear();
  for (int shift = 24; shift >= 0; shift -= 8) {
    out->push_back(static_cast<char>((address >> shift) & 0xff));
  }
  return true;
}

// Four decimal parts with leading zeros read as decimal ("192.168.001.001").
bool ParseDecimalQuad(absl::string_view text, std::string* out) {
  std::vector<absl::string_view> parts = absl::StrSplit(text, '.');
  if (parts.size() != 4) return false;
  out->clear();
  for (absl::string_view part : parts) {
    if (part.empty()) return false;
    unsigned v = 0;
    for (char c : part) {
      if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
      v = v * 10 + (c - '0');
      if (v > 255) return false;
    }
    out->push_back(static_cast<char>(v));
  }
  return true;
}

// Every address (4 or 16 bytes) `text` may be read as by some parser:
// RFC 3986 dotted decimal, decimal with leading zeros, inet_aton(3), and any
// IPv6 text inet_pton accepts (upper case, leading zeros, no "::").
std::vector<std::string> IpReadings(absl::string_view text) {
  std::vector<std::string> out;
  if (text.empty() || !IsAscii(text)) return out;
  const auto add = [&out](std::string bytes) {
    for (const std::string& seen : out) {
      if (seen == bytes) return;
    }
    out.push_back(std::move(bytes));
  };
  std::string bytes;
  if (ParseDecimalQuad(text, &bytes)) add(bytes);
  if (ParseInetAton(text, &bytes)) add(bytes);
  const std::string s(text);
  unsigned char buf[16];
  if (inet_pton(AF_INET6, s.c_str(), buf) == 1) {
    add(std::string(reinterpret_cast<char*>(buf), 16));
  }
  return out;
}

// BR 1.6.1 "Reserved IP Address": in the address block of any entry of the
// IANA IPv4 or IPv6 Special-Purpose Address Registry.
struct Block {
  uint8_t bytes[16];
  int prefix_bits;
};
constexpr Block kReservedV4[] = {
    {{0, 0, 0, 0}, 8},          // "this network" (RFC 791)
    {{10, 0, 0, 0}, 8},         // private (RFC 1918)
    {{100, 64, 0, 0}, 10},      // shared address space (RFC 6598)
    {{127, 0, 0, 0}, 8},        // loopback (RFC 1122)
    {{169, 254, 0, 0}, 16},     // link local (RFC 3927)
    {{172, 16, 0, 0}, 12},      // private (RFC 1918)
    {{192, 0, 0, 0}, 24},       // IETF protocol assignments (RFC 6890)
    {{192, 0, 2, 0}, 24},       // documentation TEST-NET-1 (RFC 5737)
    {{192, 31, 196, 0}, 24},    // AS112-v4 (RFC 7535)
    {{192, 52, 193, 0}, 24},    // AMT (RFC 7450)
    {{192, 88, 99, 0}, 24},     // deprecated 6to4 relay anycast (RFC 7526)
    {{192, 168, 0, 0}, 16},     // private (RFC 1918)
    {{192, 175, 48, 0}, 24},    // direct delegation AS112 (RFC 7534)
    {{198, 18, 0, 0}, 15},      // benchmarking (RFC 2544)
    {{198, 51, 100, 0}, 24},    // documentation TEST-NET-2 (RFC 5737)
    {{203, 0, 113, 0}, 24},     // documentation TEST-NET-3 (RFC 5737)
    {{240, 0, 0, 0}, 4},        // reserved (RFC 1112), incl. broadcast
};
constexpr Block kReservedV6[] = {
    {{}, 128},                                            // unspecified ::
    {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 128},  // loopback ::1
    {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}, 96},     // IPv4-mapped
    {{0, 0x64, 0xff, 0x9b}, 96},                          // NAT64 (RFC 6052)
    {{0, 0x64, 0xff, 0x9b, 0, 1}, 48},                    // local NAT64 (RFC 8215)
    {{0x01, 0x00}, 64},                                   // discard-only (RFC 6666)
    {{0x20, 0x01, 0x00, 0x00}, 23},                       // IETF protocols (RFC 2928)
    {{0x20, 0x01, 0x0d, 0xb8}, 32},                       // documentation (RFC 3849)
    {{0x20, 0x02}, 16},                                   // 6to4 (RFC 3056)
    {{0x26, 0x20, 0x00, 0x4f, 0x80, 0x00}, 48},           // direct delegation AS112
    {{0x3f, 0xff, 0x00, 0x00}, 20},                       // documentation (RFC 9637)
    {{0x5f, 0x00}, 16},                                   // segment routing (RFC 9602)
    {{0xfc, 0x00}, 7},                                    // unique local (RFC 4193)
    {{0xfe, 0x80}, 10},                                   // link-local (RFC 4291)
};

bool InBlock(absl::string_view ip, const Block& block) {
  int bits = block.prefix_bits;
  for (size_t i = 0; bits > 0; ++i, bits -= 8) {
    const uint8_t mask = bits >= 8 ? 0xff : static_cast<uint8_t>(0xff << (8 - bits));
    if ((static_cast<uint8_t>(ip[i]) & mask) != (block.bytes[i] & mask)) {
      return false;
    }
  }
  return true;
}

bool IsReservedIp(absl::string_view ip) {
  if (ip.size() == 4) {
    for (const Block& b : kReservedV4) {
      if (InBlock(ip, b)) return true;
    }
  } else if (ip.size() == 16) {
    for (const Block& b : kReservedV6) {
      if (InBlock(ip, b)) return true;
    }
  }
  return false;
}

// --- DNS names ---------------------------------------------------------------

// Special-use TLDs never delegated in the root zone: RFC 6761 6.2-6.5
// ("test", "localhost", "invalid", "example"), RFC 6762 ("local"), and ICANN's
// 2024 reservation of "internal" for private use.
constexpr absl::string_view kSpecialUseTlds[] = {
    "localhost", "local", "test", "invalid", "example", "internal"};

// BR 1.6.1 "Internal Name": cannot be verified as globally unique in the
// public DNS because it does not end with a TLD registered in IANA's root
// zone. Single labels are such names, as are the special-use TLDs (and
// RFC 8375's "home.arpa"), and, with a list, TLDs its ICANN section lacks.
bool IsInternalName(absl::string_view dns, const PublicSuffixList* psl) {
  absl::string_view name = StripOneTrailingDot(dns);
  absl::ConsumePrefix(&name, "*.");
  const std::string lower = absl::AsciiStrToLower(name);
  const size_t dot = lower.rfind('.');
  if (dot == std::string::npos) return true;
  const absl::string_view tld = absl::string_view(lower).substr(dot + 1);
  for (absl::string_view special : kSpecialUseTlds) {
    if (tld == special) return true;
  }
  if (lower == "home.arpa" || absl::EndsWith(lower, ".home.arpa")) return true;
  return psl != nullptr && !psl->IsIcannTld(tld);
}

// Whether `domain` (no wildcard, any case) is a public suffix: by the list,
// or, without one, when it is a single label.
bool IsSuffix(absl::string_view domain, const PublicSuffixList* psl) {
  if (psl != nullptr) return psl->IsPublicSuffix(absl::AsciiStrToLower(domain));
  return !absl::StrContains(domain, '.');
}

// BR 1.6.1 "Authorization Domain Name" candidates of a SAN dNSName: the name
// with a leading "*." removed, then each name obtained by pruning labels from
// the left down to the Base Domain Name (the first name that is not a public
// suffix above one). Views into `san`.
std::vector<absl::string_view> AuthorizationDomainNames(
    absl::string_view san, const PublicSuffixList* psl) {
  absl::string_view fqdn = san;
  absl::ConsumePrefix(&fqdn, "*.");
  std::vector<absl::string_view> out = {fqdn};
  for (size_t dot = fqdn.find('.'); dot != absl::string_view::npos;
       dot = fqdn.find('.', dot + 1)) {
    absl::string_view ancestor = fqdn.substr(dot + 1);
    if (ancestor.empty() || IsSuffix(ancestor, psl)) break;
    out.push_back(ancestor);
  }
  return out;
}

// Whether a commonName reads as a host identity - an IPv6 address, or text
// with an inner '.' and no space - the names RFC 6125 6.4.4 CN-ID matching
// and BR 7.1.4.3's "FQDN, Wildcard Domain Name, IPv4 or IPv6 address" cover.
// Names like "EE", "Acme Inc." or "x509-limbo-intermediate" are not.
bool LooksLikeHost(absl::string_view cn) {
  if (absl::StrContains(cn, ' ')) return false;
  absl::string_view inner = StripOneTrailingDot(cn);
  if (inner.size() >= 2 &&
      inner.substr(1, inner.size() - 2).find('.') != absl::string_view::npos) {
    return true;
  }
  for (const std::string& ip : IpReadings(cn)) {
    if (ip.size() == 16) return true;
  }
  return false;
}

// --- The rules ---------------------------------------------------------------

// The subject's commonName values, as UTF-8.
absl::StatusOr<std::vector<std::string>> CommonNames(const Certificate& cert) {
  std::vector<std::string> out;
  X509_NAME* subject = cert.subject();
  for (int i = X509_NAME_get_index_by_NID(subject, NID_commonName, -1); i >= 0;
       i = X509_NAME_get_index_by_NID(subject, NID_commonName, i)) {
    const ASN1_STRING* data =
        X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, i));
    unsigned char* utf8 = nullptr;
    const int len = ASN1_STRING_to_UTF8(&utf8, data);
    if (len < 0) {
      return NameError(kNameCommonNameMismatch,
                       "subject commonName cannot be decoded as text");
    }
    out.emplace_back(reinterpret_cast<char*>(utf8), static_cast<size_t>(len));
    OPENSSL_free(utf8);
  }
  return out;
}

// BR 3.2.2.6: no wildcard directly over a registry-controlled or public
// suffix (see web_pki_names.h for the PRIVATE-section apex rule).
absl::Status CheckWildcards(const GeneralNames& sans,
                            const PublicSuffixList* psl) {
  for (const std::string& dns : sans.dns_names) {
    if (!absl::StartsWith(dns, "*.")) continue;
    const std::string base = absl::AsciiStrToLower(dns.substr(2));
    if (psl == nullptr) {
      if (!absl::StrContains(base, '.')) {
        return NameError(
            kNameWildcardPublicSuffix,
            absl::StrCat("SAN dNSName ", Quote(dns),
                         ": a wildcard must be followed by at least two "
                         "labels (CA/B BR 3.2.2.6; no public suffix list)"));
      }
      continue;
    }
    const std::optional<PublicSuffixList::Section> section =
        psl->PublicSuffixSection(base);
    if (!section.has_value()) continue;
    if (*section == PublicSuffixList::Section::kPrivate) {
      bool names_apex = false;
      for (const std::string& other : sans.dns_names) {
        names_apex = names_apex || absl::EqualsIgnoreCase(other, base);
      }
      if (names_apex) continue;
    }
    return NameError(
        kNameWildcardPublicSuffix,
        absl::StrCat("SAN dNSName ", Quote(dns), ": ", Quote(base),
                     " is a public suffix (",
                     *section == PublicSuffixList::Section::kIcann
                         ? "ICANN section of the Public Suffix List"
                         : "PRIVATE section of the Public Suffix List, and the "
                           "SAN does not name it itself",
                     "); CA/B BR 3.2.2.6 forbids a wildcard over it"));
  }
  return absl::OkStatus();
}

// Rule (1) of web_pki_names.h: a CN naming a SAN identity is its exact
// canonical text (BR 7.1.4.3).
absl::Status CheckCommonNameSpelling(absl::string_view cn,
                                     const GeneralNames& sans) {
  const std::vector<std::string> readings = IpReadings(cn);
  for (const std::string& ip : sans.ip_addresses) {
    bool names_it = false;
    for (const std::string& r : readings) names_it = names_it || r == ip;
    if (!names_it) continue;
    const std::optional<std::string> canonical = CanonicalIpText(ip);
    if (canonical.has_value() && cn != *canonical) {
      return NameError(
          kNameCommonNameMismatch,
          absl::StrCat("subject commonName ", Quote(cn), " spells the SAN "
                       "iPAddress ", *canonical, " another way; CA/B BR 7.1.4.3 "
                       "requires ",
                       ip.size() == 4 ? "RFC 3986 3.2.2 dotted decimal"
                                      : "RFC 5952 section 4 text",
                       " (", Quote(*canonical), ")"));
    }
  }

  const absl::string_view bare = StripOneTrailingDot(cn);
  std::optional<std::string> a_labels;
  if (!IsAscii(bare) && LooksLikeHost(cn)) a_labels = DomainToAscii(bare);
  for (const std::string& dns : sans.dns_names) {
    if (cn == dns) continue;
    const bool same = absl::EqualsIgnoreCase(bare, dns) ||
                      (a_labels.has_value() && absl::EqualsIgnoreCase(*a_labels, dns));
    if (same) {
      return NameError(
          kNameCommonNameMismatch,
          absl::StrCat("subject commonName ", Quote(cn), " names the SAN "
                       "dNSName ", Quote(dns), " but is not a character-for-"
                       "character copy of it (CA/B BR 7.1.4.3: same case, "
                       "A-labels not converted to Unicode)"));
    }
  }
  return absl::OkStatus();
}

// Whether the SAN names only public identities (see rule (2) of
// web_pki_names.h): some dNSName or iPAddress, no Internal Name, no Reserved
// IP Address.
bool SanIsPublic(const GeneralNames& sans, const PublicSuffixList* psl) {
  if (sans.dns_names.empty() && sans.ip_addresses.empty()) return false;
  for (const std::string& dns : sans.dns_names) {
    if (IsInternalName(dns, psl)) return false;
  }
  for (const std::string& ip : sans.ip_addresses) {
    if (IsReservedIp(ip)) return false;
  }
  return true;
}

// Rule (2) of web_pki_names.h: in a publicly-issued leaf, a host-like CN
// names a SAN identity or an Authorization Domain Name of a SAN dNSName.
absl::Status CheckCommonNameInSan(absl::string_view cn,
                                  const GeneralNames& sans,
                                  const PublicSuffixList* psl) {
  if (!LooksLikeHost(cn) || !SanIsPublic(sans, psl)) return absl::OkStatus();

  const std::vector<std::string> readings = IpReadings(cn);
  if (!readings.empty()) {
    for (const std::string& ip : sans.ip_addresses) {
      for (const std::string& r : readings) {
        if (r == ip) return absl::OkStatus();
      }
    }
    return NameError(
        kNameCommonNameMismatch,
        absl::StrCat("subject commonName ", Quote(cn), " is an IP address "
                     "that is not a SAN iPAddress (CA/B BR 7.1.4.3)"));
  }
  for (const std::string& dns : sans.dns_names) {
    for (absl::string_view adn : AuthorizationDomainNames(dns, psl)) {
      if (cn == adn || cn == dns) return absl::OkStatus();
    }
  }
  return NameError(
      kNameCommonNameMismatch,
      absl::StrCat("subject commonName ", Quote(cn), " is not a SAN dNSName "
                   "(nor a domain such a name was validated under, BR 1.6.1 "
                   "Authorization Domain Name); CA/B BR 7.1.4.3"));
}

}  // namespace

std::optional<std::string> CanonicalIpText(absl::string_view ip) {
  const auto byte = [&ip](size_t i) { return static_cast<uint8_t>(ip[i]); };
  if (ip.size() == 4) {
    return absl::StrCat(byte(0), ".", byte(1), ".", byte(2), ".", byte(3));
  }
  if (ip.size() != 16) return std::nullopt;
  uint16_t groups[8];
  for (int i = 0; i < 8; ++i) groups[i] = (byte(2 * i) << 8) | byte(2 * i + 1);
  // RFC 5952 4.2: "::" replaces the longest run of 16-bit zero fields (the
  // first when runs tie, 4.2.3), and never a single one (4.2.2).
  int best_start = -1, best_len = 1;
  for (int i = 0; i < 8;) {
    if (groups[i] != 0) {
      ++i;
      continue;
    }
    int j = i;
    while (j < 8 && groups[j] == 0) ++j;
    if (j - i > best_len) {
      best_start = i;
      best_len = j - i;
    }
    i = j;
  }
  std::string out;
  for (int i = 0; i < 8; ++i) {
    if (i == best_start) {
      out += "::";
      i += best_len - 1;
      continue;
    }
    if (!out.empty() && out.back() != ':') out += ':';
    absl::StrAppendFormat(&out, "%x", groups[i]);  // 4.1, 4.3: no leading zeros, lowercase
  }
  return out;
}

absl::Status CheckSanDnsSyntax(const Certificate& cert) {
  for (const std::string& dns : cert.subject_alt_names().dns_names) {
    std::string problem = DnsSyntaxProblem(dns);
    if (!problem.empty()) {
      return NameError(
          kNameSanDnsSyntax,
          absl::StrCat("SAN dNSName ", Quote(dns), " ", problem,
                       "; RFC 5280 4.2.1.6 requires the preferred name syntax "
                       "(RFC 1034 3.5, RFC 1123 2.1)"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckWebPkiLeafNames(const Certificate& leaf,
                                  const PublicSuffixList* psl) {
  if (absl::Status s = CheckSanDnsSyntax(leaf); !s.ok()) return s;
  const GeneralNames& sans = leaf.subject_alt_names();
  if (absl::Status s = CheckWildcards(sans, psl); !s.ok()) return s;

  absl::StatusOr<std::vector<std::string>> cns = CommonNames(leaf);
  if (!cns.ok()) return cns.status();
  if (cns->empty()) return absl::OkStatus();
  if (cns->size() > 1) {
    return NameError(kNameCommonNameMismatch,
                     absl::StrCat("subject has ", cns->size(),
                                  " commonName attributes; CA/B BR 7.1.4.1 and "
                                  "7.1.4.3 allow exactly one"));
  }
  const std::string& cn = cns->front();
  if (absl::Status s = CheckCommonNameSpelling(cn, sans); !s.ok()) return s;
  return CheckCommonNameInSan(cn, sans, psl);
}

const CertErrorId* WebPkiNameErrorId(const absl::Status& status) {
  if (status.ok()) return nullptr;
  const auto payload = status.GetPayload(kErrorIdPayload);  // absl::optional
  if (!payload.has_value()) return nullptr;
  for (const CertErrorId* id : {&kNameSanDnsSyntax, &kNameWildcardPublicSuffix,
                                &kNameCommonNameMismatch}) {
    if (*payload == absl::string_view(id->name)) return id;
  }
  return nullptr;
}

}  // namespace chainverify::pki
