#include "server/pki/hostname_match.h"

#include <arpa/inet.h>

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace chainverify::pki {
namespace {

constexpr size_t kMaxDnsNameLength = 253;  // RFC 1035 2.3.4, without the root
constexpr size_t kMaxLabelLength = 63;

bool IsLdhOrUnderscore(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' ||
         c == '_';
}

// Validates a host name for use as a reference identifier (RFC 6125 6.2.1);
// `name` has no trailing dot. Returns the problem, or "" when valid.
std::string DnsNameProblem(absl::string_view name) {
  if (name.empty()) return "empty host name";
  if (name.size() > kMaxDnsNameLength) {
    return absl::StrCat("host name longer than ", kMaxDnsNameLength,
                        " characters");
  }
  std::vector<absl::string_view> labels = absl::StrSplit(name, '.');
  for (absl::string_view label : labels) {
    if (label.empty()) return "empty label in host name";
    if (label.size() > kMaxLabelLength) {
      return absl::StrCat("label \"", label, "\" longer than ", kMaxLabelLength,
                          " characters");
    }
    for (char c : label) {
      if (c == '*') return "wildcards are not allowed in a peer name";
      if (static_cast<unsigned char>(c) > 0x7f) {
        return "non-ASCII host name; use the A-label (xn--) form";
      }
      if (!IsLdhOrUnderscore(c)) {
        return absl::StrCat("character '", absl::string_view(&c, 1),
                            "' not allowed in a host name");
      }
    }
    if (label.front() == '-' || label.back() == '-') {
      return absl::StrCat("label \"", label,
                          "\" starts or ends with '-' (RFC 1123 2.1)");
    }
  }
  bool all_digits = true;
  for (char c : labels.back()) {
    all_digits = all_digits && absl::ascii_isdigit(static_cast<unsigned char>(c));
  }
  if (all_digits) {
    return "all-numeric top-level label: not a host name nor a valid IP address";
  }
  return "";
}

absl::string_view StripOneTrailingDot(absl::string_view s) {
  if (!s.empty() && s.back() == '.') s.remove_suffix(1);
  return s;
}

// Splits "local@domain" at its only '@'. False when there is not exactly one
// '@' or either side is empty.
bool SplitMailbox(absl::string_view mailbox, absl::string_view* local,
                  absl::string_view* domain) {
  const size_t at = mailbox.find('@');
  if (at == absl::string_view::npos || mailbox.find('@', at + 1) != absl::string_view::npos) {
    return false;
  }
  *local = mailbox.substr(0, at);
  *domain = mailbox.substr(at + 1);
  return !local->empty() && !domain->empty();
}

}  // namespace

absl::StatusOr<PeerName> ParsePeerName(absl::string_view text) {
  PeerName out;
  if (text.empty()) return out;
  for (char c : text) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) {
      return absl::InvalidArgumentError(
          "peer name contains a space or control character");
    }
  }

  if (absl::StrContains(text, '@')) {
    absl::string_view local, domain;
    if (!SplitMailbox(text, &local, &domain)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "invalid email address \"", text,
          "\": expected exactly one '@' with text on both sides"));
    }
    std::string problem = DnsNameProblem(StripOneTrailingDot(domain));
    if (!problem.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "invalid email address \"", text, "\": domain: ", problem));
    }
    out.kind = PeerName::Kind::kEmail;
    out.value = std::string(text);
    return out;
  }

  if (text.front() == '[') {
    std::string bytes;
    if (text.size() < 2 || text.back() != ']' ||
        !ParseIpAddress(text.substr(1, text.size() - 2), &bytes) ||
        bytes.size() != 16) {
      return absl::InvalidArgumentError(absl::StrCat(
          "invalid bracketed IPv6 address \"", text, "\""));
    }
    out.kind = PeerName::Kind::kIpAddress;
    out.value = std::move(bytes);
    return out;
  }

  std::string bytes;
  if (ParseIpAddress(text, &bytes)) {
    out.kind = PeerName::Kind::kIpAddress;
    out.value = std::move(bytes);
    return out;
  }
  if (absl::StrContains(text, ':')) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid IPv6 address \"", text, "\""));
  }

  absl::string_view host = StripOneTrailingDot(text);
  std::string problem = DnsNameProblem(host);
  if (!problem.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid host name \"", text, "\": ", problem));
  }
  out.kind = PeerName::Kind::kDns;
  out.value = absl::AsciiStrToLower(host);
  return out;
}

bool MatchesDnsPattern(absl::string_view san_dns, absl::string_view host) {
  san_dns = StripOneTrailingDot(san_dns);
  host = StripOneTrailingDot(host);
  if (san_dns.empty() || host.empty()) return false;

  if (!absl::StrContains(san_dns, '*')) {
    return absl::EqualsIgnoreCase(san_dns, host);
  }

  // RFC 6125 6.4.3 / BR 1.6.1: "*." followed by a name, and no other '*'.
  if (!absl::StartsWith(san_dns, "*.")) return false;
  absl::string_view suffix = san_dns.substr(2);
  if (absl::StrContains(suffix, '*')) return false;
  // At least two labels after the wildcard ("*.com" is refused), none empty.
  std::vector<absl::string_view> suffix_labels = absl::StrSplit(suffix, '.');
  if (suffix_labels.size() < 2) return false;
  for (absl::string_view label : suffix_labels) {
    if (label.empty()) return false;
  }

  const size_t dot = host.find('.');
  if (dot == absl::string_view::npos || dot == 0) return false;
  absl::string_view first_label = host.substr(0, dot);
  if (absl::StrContains(first_label, '*')) return false;
  if (absl::StartsWithIgnoreCase(first_label, "xn--")) return false;
  return absl::EqualsIgnoreCase(host.substr(dot + 1), suffix);
}

bool LeafMatchesPeerName(const Certificate& leaf, const PeerName& name,
                         Profile /*profile*/) {
  const GeneralNames& sans = leaf.subject_alt_names();
  switch (name.kind) {
    case PeerName::Kind::kNone:
      return true;
    case PeerName::Kind::kDns:
      for (const std::string& dns : sans.dns_names) {
        if (MatchesDnsPattern(dns, name.value)) return true;
      }
      return false;
    case PeerName::Kind::kIpAddress:
      for (const std::string& ip : sans.ip_addresses) {
        if (ip == name.value) return true;
      }
      return false;
    case PeerName::Kind::kEmail: {
      absl::string_view want_local, want_domain;
      if (!SplitMailbox(name.value, &want_local, &want_domain)) return false;
      want_domain = StripOneTrailingDot(want_domain);
      for (const std::string& email : sans.emails) {
        absl::string_view local, domain;
        if (!SplitMailbox(email, &local, &domain)) continue;
        if (local == want_local &&
            absl::EqualsIgnoreCase(StripOneTrailingDot(domain), want_domain)) {
          return true;
        }
      }
      return false;
    }
  }
  return false;
}

}  // namespace chainverify::pki
