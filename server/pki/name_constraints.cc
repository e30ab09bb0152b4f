#include "server/pki/name_constraints.h"

#include <arpa/inet.h>

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace chainverify::pki {
namespace {

constexpr size_t kMaxDnsNameLength = 253;  // RFC 1035 2.3.4, without the root
constexpr size_t kMaxLabelLength = 63;

absl::string_view View(const ASN1_STRING* s) {
  return absl::string_view(
      reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
      static_cast<size_t>(ASN1_STRING_length(s)));
}

bool IsAsciiWithoutNul(absl::string_view s) {
  for (char c : s) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (u == 0 || u > 0x7f) return false;
  }
  return true;
}

absl::string_view StripOneTrailingDot(absl::string_view s) {
  if (!s.empty() && s.back() == '.') s.remove_suffix(1);
  return s;
}

// "a.b.c": labels of 1-63 letters, digits, '-' or '_', at most 253 characters
// in all. With `allow_wildcard`, the first label may be exactly "*". Hyphen
// placement is not policed: this decides whether a name can be compared with
// a subtree, not whether it is a good host name.
bool IsDnsName(absl::string_view name, bool allow_wildcard) {
  if (name.empty() || name.size() > kMaxDnsNameLength) return false;
  bool first = true;
  for (absl::string_view label : absl::StrSplit(name, '.')) {
    if (label.empty() || label.size() > kMaxLabelLength) return false;
    if (first && allow_wildcard && label == "*") {
      first = false;
      continue;
    }
    first = false;
    for (char c : label) {
      if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' &&
          c != '_') {
        return false;
      }
    }
  }
  return true;
}

// RFC 5322 3.2.3 atext plus '.', i.e. an unquoted local part. Quoted local
// parts are not supported and so are refused when constrained.
bool IsEmailLocalPart(absl::string_view local) {
  if (local.empty()) return false;
  for (char c : local) {
    if (absl::ascii_isalnum(static_cast<unsigned char>(c))) continue;
    if (absl::StrContains("!#$%&'*+-/=?^_`{|}~.", c)) continue;
    return false;
  }
  return true;
}

// Splits "local@domain": exactly one '@', a valid local part and a valid DNS
// domain. The domain is returned as encoded.
bool ParseMailbox(absl::string_view mailbox, absl::string_view* local,
                  absl::string_view* domain) {
  const size_t at = mailbox.find('@');
  if (at == absl::string_view::npos ||
      mailbox.find('@', at + 1) != absl::string_view::npos) {
    return false;
  }
  *local = mailbox.substr(0, at);
  *domain = mailbox.substr(at + 1);
  return IsEmailLocalPart(*local) && IsDnsName(*domain, false);
}

// RFC 5280 4.2.1.10, dNSName: "Any DNS name that can be constructed by simply
// adding zero or more labels to the left-hand side of the name satisfies the
// name constraint." A leading '.' (not in RFC 5280 for dNSName, but accepted
// by Chrome, Go and OpenSSL) requires at least one added label. "" matches
// everything. Both arguments lowercase, without trailing dot.
bool DnsInSubtree(absl::string_view name, absl::string_view constraint) {
  if (constraint.empty()) return true;
  if (constraint.front() == '.') {
    return name.size() > constraint.size() && absl::EndsWith(name, constraint);
  }
  if (name == constraint) return true;
  return name.size() > constraint.size() && absl::EndsWith(name, constraint) &&
         name[name.size() - constraint.size() - 1] == '.';
}

// For excluded subtrees a wildcard name counts as a match when any of its
// expansions would: "*.example.com" is excluded by "foo.example.com" (as
// Chrome does). Both arguments lowercase, without trailing dot.
bool WildcardMayExpandInto(absl::string_view name,
                           absl::string_view constraint) {
  if (!absl::StartsWith(name, "*.")) return false;
  const size_t dot = constraint.find('.');
  if (dot == absl::string_view::npos || dot == 0) return false;
  return constraint.substr(dot + 1) == name.substr(2);
}

// A mask is valid when it is a run of one bits followed by zero bits.
bool IsPrefixMask(absl::string_view mask) {
  bool seen_zero = false;
  for (char c : mask) {
    const unsigned char byte = static_cast<unsigned char>(c);
    for (int bit = 7; bit >= 0; --bit) {
      const bool one = (byte >> bit) & 1;
      if (one && seen_zero) return false;
      if (!one) seen_zero = true;
    }
  }
  return true;
}

// The host of an RFC 3986 URI when it is a DNS name, lowercased and without
// trailing dot; false when the URI has no authority, or its host is an IP
// literal, a registered name that is not a DNS name, or empty.
bool UriDnsHost(absl::string_view uri, std::string* host_out) {
  const size_t colon = uri.find(':');
  if (colon == absl::string_view::npos || colon == 0) return false;
  absl::string_view scheme = uri.substr(0, colon);
  if (!absl::ascii_isalpha(static_cast<unsigned char>(scheme.front()))) return false;
  for (char c : scheme) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '+' &&
        c != '-' && c != '.') {
      return false;
    }
  }
  absl::string_view rest = uri.substr(colon + 1);
  if (!absl::StartsWith(rest, "//")) return false;
  absl::string_view authority = rest.substr(2);
  authority = authority.substr(0, authority.find_first_of("/?#"));
  const size_t at = authority.rfind('@');
  if (at != absl::string_view::npos) authority.remove_prefix(at + 1);
  if (authority.empty() || authority.front() == '[') return false;
  absl::string_view host = authority;
  const size_t port_colon = authority.find(':');
  if (port_colon != absl::string_view::npos) {
    host = authority.substr(0, port_colon);
    for (char c : authority.substr(port_colon + 1)) {
      if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
    }
  }
  std::string ip;
  if (ParseIpAddress(host, &ip)) return false;
  host = StripOneTrailingDot(host);
  if (!IsDnsName(host, false)) return false;
  *host_out = absl::AsciiStrToLower(host);
  return true;
}

// Number of RDNs (entries share an RDN when they have the same set index).
int RdnCount(const X509_NAME* name) {
  const int n = X509_NAME_entry_count(name);
  if (n == 0) return 0;
  return X509_NAME_ENTRY_set(X509_NAME_get_entry(name, n - 1)) + 1;
}

// A new name made of the first `count` RDNs of `name`.
X509NamePtr FirstRdns(const X509_NAME* name, int count) {
  X509NamePtr out(X509_NAME_new());
  if (out == nullptr) return nullptr;
  int previous_set = -1;
  for (int i = 0; i < X509_NAME_entry_count(name); ++i) {
    const X509_NAME_ENTRY* entry = X509_NAME_get_entry(name, i);
    const int set = X509_NAME_ENTRY_set(entry);
    if (set >= count) break;
    // set = -1 adds to the previous RDN (multi-valued), 0 starts a new one.
    const int where = (i > 0 && set == previous_set) ? -1 : 0;
    if (X509_NAME_add_entry(out.get(), entry, -1, where) != 1) return nullptr;
    previous_set = set;
  }
  return out;
}

std::string NameToText(const X509_NAME* name) {
  BIO* bio = BIO_new(BIO_s_mem());
  if (bio == nullptr) return "<name>";
  X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  std::string out(data != nullptr ? data : "", len > 0 ? len : 0);
  BIO_free(bio);
  return out.empty() ? "<empty DN>" : out;
}

std::string Utf8(const ASN1_STRING* s, bool* ok) {
  unsigned char* utf8 = nullptr;
  const int len = ASN1_STRING_to_UTF8(&utf8, s);
  if (len < 0) {
    *ok = false;
    return "";
  }
  std::string out(reinterpret_cast<char*>(utf8), static_cast<size_t>(len));
  OPENSSL_free(utf8);
  *ok = true;
  return out;
}

absl::Status Violation(absl::string_view message) {
  return absl::PermissionDeniedError(
      absl::StrCat(message, " (RFC 5280 4.2.1.10)"));
}

}  // namespace

absl::Status NameConstraints::AddSubtrees(const STACK_OF(GENERAL_SUBTREE)* stack,
                                          const char* which, Subtrees* out) {
  for (int i = 0; i < sk_GENERAL_SUBTREE_num(stack); ++i) {
    const GENERAL_SUBTREE* subtree = sk_GENERAL_SUBTREE_value(stack, i);
    if (subtree == nullptr || subtree->base == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(which, ": null subtree"));
    }
    // RFC 5280 4.2.1.10: "Within this profile, the minimum and maximum fields
    // are not used with any name forms, thus, the minimum MUST be zero, and
    // maximum MUST be absent."
    if (subtree->maximum != nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat(which, ": GeneralSubtree maximum must be absent"));
    }
    if (subtree->minimum != nullptr &&
        (ASN1_STRING_type(subtree->minimum) != V_ASN1_INTEGER ||
         ASN1_INTEGER_get(subtree->minimum) != 0)) {
      return absl::InvalidArgumentError(
          absl::StrCat(which, ": GeneralSubtree minimum must be zero"));
    }

    const GENERAL_NAME* base = subtree->base;
    // The IA5String forms: ASCII only, no NUL (RFC 5280 4.2.1.10 / 7.2).
    const ASN1_STRING* ia5 = nullptr;
    if (base->type == GEN_DNS || base->type == GEN_EMAIL ||
        base->type == GEN_URI) {
      ia5 = base->d.ia5;
      if (ia5 == nullptr || ASN1_STRING_type(ia5) != V_ASN1_IA5STRING ||
          !IsAsciiWithoutNul(View(ia5))) {
        return absl::InvalidArgumentError(
            absl::StrCat(which, ": a name is not a valid IA5String"));
      }
    }

    switch (base->type) {
      case GEN_DNS: {
        absl::string_view value = View(ia5);
        absl::string_view body = StripOneTrailingDot(value);
        if (!value.empty()) {
          if (body.empty()) {
            return absl::InvalidArgumentError(
                absl::StrCat(which, ": dNSName \"", value, "\" is malformed"));
          }
          if (body.front() == '.') body.remove_prefix(1);
          if (!IsDnsName(body, /*allow_wildcard=*/false)) {
            return absl::InvalidArgumentError(absl::StrCat(
                which, ": dNSName \"", value,
                "\" is not a DNS name (wildcards are not allowed)"));
          }
        }
        out->dns.push_back(absl::AsciiStrToLower(StripOneTrailingDot(value)));
        out->types |= kDnsType;
        break;
      }
      case GEN_IPADD: {
        // RFC 5280 4.2.1.10: address then mask, 8 octets for IPv4 and 32 for
        // IPv6, in CIDR form (RFC 4632).
        absl::string_view value =
            base->d.iPAddress == nullptr ? "" : View(base->d.iPAddress);
        if (value.size() != 8 && value.size() != 32) {
          return absl::InvalidArgumentError(absl::StrCat(
              which, ": iPAddress of ", value.size(),
              " octets; must be 8 (IPv4) or 32 (IPv6) address+mask"));
        }
        const size_t half = value.size() / 2;
        IpSubtree ip;
        ip.mask = std::string(value.substr(half));
        if (!IsPrefixMask(ip.mask)) {
          return absl::InvalidArgumentError(absl::StrCat(
              which, ": iPAddress mask ", IpAddressToString(ip.mask),
              " is not a contiguous prefix"));
        }
        ip.address = std::string(value.substr(0, half));
        for (size_t b = 0; b < half; ++b) ip.address[b] &= ip.mask[b];
        out->ips.push_back(std::move(ip));
        out->types |= kIpType;
        break;
      }
      case GEN_EMAIL: {
        // RFC 5280 4.2.1.10: a mailbox, a host, or ".domain".
        absl::string_view value = View(ia5);
        out->types |= kEmailType;
        if (value.empty()) {
          out->email_matches_all = true;
          break;
        }
        if (absl::StrContains(value, '@')) {
          absl::string_view local, domain;
          if (!ParseMailbox(value, &local, &domain)) {
            return absl::InvalidArgumentError(absl::StrCat(
                which, ": rfc822Name \"", value, "\" is not a valid mailbox"));
          }
          out->email_mailboxes.push_back(
              absl::StrCat(local, "@", absl::AsciiStrToLower(domain)));
        } else if (value.front() == '.') {
          if (!IsDnsName(value.substr(1), false)) {
            return absl::InvalidArgumentError(absl::StrCat(
                which, ": rfc822Name \"", value, "\" is not a valid domain"));
          }
          out->email_domains.push_back(absl::AsciiStrToLower(value));
        } else {
          if (!IsDnsName(value, false)) {
            return absl::InvalidArgumentError(absl::StrCat(
                which, ": rfc822Name \"", value, "\" is not a valid host"));
          }
          out->email_hosts.push_back(absl::AsciiStrToLower(value));
        }
        break;
      }
      case GEN_URI: {
        // RFC 5280 4.2.1.10: "The constraint MUST be specified as a fully
        // qualified domain name and MAY specify a host or a domain."
        absl::string_view value = View(ia5);
        absl::string_view body = value;
        if (!body.empty() && body.front() == '.') body.remove_prefix(1);
        if (!value.empty() && !IsDnsName(body, false)) {
          return absl::InvalidArgumentError(absl::StrCat(
              which, ": uniformResourceIdentifier \"", value,
              "\" is not a host or domain name"));
        }
        out->uri_hosts.push_back(absl::AsciiStrToLower(value));
        out->types |= kUriType;
        break;
      }
      case GEN_DIRNAME: {
        const X509_NAME* name = base->d.directoryName;
        if (name == nullptr) {
          return absl::InvalidArgumentError(
              absl::StrCat(which, ": null directoryName"));
        }
        out->types |= kDirectoryType;
        const int rdns = RdnCount(name);
        if (rdns == 0) {
          out->directory_matches_all = true;
          break;
        }
        DirectorySubtree dir;
        dir.name.reset(X509_NAME_dup(name));
        // Fill the canonical encoding now so that X509_NAME_cmp never writes
        // to this shared object later.
        if (dir.name == nullptr || i2d_X509_NAME(dir.name.get(), nullptr) < 0) {
          return absl::InvalidArgumentError(
              absl::StrCat(which, ": unencodable directoryName"));
        }
        dir.rdn_count = rdns;
        out->directories.push_back(std::move(dir));
        break;
      }
      case GEN_OTHERNAME:
      case GEN_X400:
      case GEN_EDIPARTY:
        out->types |= kOtherType;
        break;
      case GEN_RID:
        out->types |= kRegisteredIdType;
        break;
      default:
        return absl::InvalidArgumentError(
            absl::StrCat(which, ": unknown GeneralName type ", base->type));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<NameConstraints> NameConstraints::Create(
    const NAME_CONSTRAINTS* nc) {
  if (nc == nullptr) return absl::InvalidArgumentError("no nameConstraints");
  const STACK_OF(GENERAL_SUBTREE)* permitted = nc->permittedSubtrees;
  const STACK_OF(GENERAL_SUBTREE)* excluded = nc->excludedSubtrees;
  // RFC 5280 4.2.1.10: "Conforming CAs MUST NOT issue certificates where name
  // constraints is an empty sequence. That is, either the permittedSubtrees
  // field or the excludedSubtrees MUST be present." Each is SIZE (1..MAX).
  if (permitted == nullptr && excluded == nullptr) {
    return absl::InvalidArgumentError(
        "nameConstraints has neither permittedSubtrees nor excludedSubtrees");
  }
  if (permitted != nullptr && sk_GENERAL_SUBTREE_num(permitted) == 0) {
    return absl::InvalidArgumentError("permittedSubtrees is empty");
  }
  if (excluded != nullptr && sk_GENERAL_SUBTREE_num(excluded) == 0) {
    return absl::InvalidArgumentError("excludedSubtrees is empty");
  }

  NameConstraints out;
  if (permitted != nullptr) {
    absl::Status s = AddSubtrees(permitted, "permittedSubtrees", &out.permitted_);
    if (!s.ok()) return s;
  }
  if (excluded != nullptr) {
    absl::Status s = AddSubtrees(excluded, "excludedSubtrees", &out.excluded_);
    if (!s.ok()) return s;
  }
  for (const Subtrees* t : {&out.permitted_, &out.excluded_}) {
    for (const std::string& dns : t->dns) {
      if (!dns.empty() && dns.front() == '.') out.has_leading_dot_dns_ = true;
    }
  }
  return out;
}

absl::Status NameConstraints::CheckDns(absl::string_view name,
                                       absl::string_view what) const {
  absl::string_view stripped = StripOneTrailingDot(name);
  if (!IsDnsName(stripped, /*allow_wildcard=*/true)) {
    return Violation(absl::StrCat(
        what, " \"", name,
        "\" is not a valid DNS name, so it cannot be checked against the "
        "issuer's dNSName constraints"));
  }
  const std::string lower = absl::AsciiStrToLower(stripped);
  for (const std::string& constraint : excluded_.dns) {
    if (DnsInSubtree(lower, constraint) ||
        WildcardMayExpandInto(lower, constraint)) {
      return Violation(absl::StrCat(what, " \"", name,
                                    "\" is in excluded dNSName subtree \"",
                                    constraint, "\""));
    }
  }
  if (permitted_.types & kDnsType) {
    for (const std::string& constraint : permitted_.dns) {
      // A wildcard is permitted only when all its expansions are: "*" is
      // treated as an ordinary label, so "*.a.example" is within
      // "example" but not within "b.a.example".
      if (DnsInSubtree(lower, constraint)) return absl::OkStatus();
    }
    return Violation(absl::StrCat(what, " \"", name,
                                  "\" is not in any permitted dNSName subtree"));
  }
  return absl::OkStatus();
}

absl::Status NameConstraints::CheckIp(absl::string_view ip,
                                      absl::string_view what) const {
  auto in = [ip](const IpSubtree& subtree) {
    if (ip.size() != subtree.address.size()) return false;  // family differs
    for (size_t i = 0; i < ip.size(); ++i) {
      const unsigned char masked = static_cast<unsigned char>(ip[i]) &
                                   static_cast<unsigned char>(subtree.mask[i]);
      if (masked != static_cast<unsigned char>(subtree.address[i])) return false;
    }
    return true;
  };
  for (const IpSubtree& subtree : excluded_.ips) {
    if (in(subtree)) {
      return Violation(absl::StrCat(what, " ", IpAddressToString(ip),
                                    " is in excluded iPAddress subtree ",
                                    IpAddressToString(subtree.address), "/",
                                    IpAddressToString(subtree.mask)));
    }
  }
  if (permitted_.types & kIpType) {
    for (const IpSubtree& subtree : permitted_.ips) {
      if (in(subtree)) return absl::OkStatus();
    }
    return Violation(absl::StrCat(what, " ", IpAddressToString(ip),
                                  " is not in any permitted iPAddress subtree"));
  }
  return absl::OkStatus();
}

absl::Status NameConstraints::CheckEmail(absl::string_view email,
                                         absl::string_view what) const {
  absl::string_view local, domain;
  if (!ParseMailbox(email, &local, &domain)) {
    return Violation(absl::StrCat(
        what, " \"", email,
        "\" is not a valid mailbox, so it cannot be checked against the "
        "issuer's rfc822Name constraints"));
  }
  const std::string lower_domain = absl::AsciiStrToLower(domain);
  // Local parts are case-sensitive (RFC 5321 2.4), but an exclusion is
  // applied case-insensitively so that a differently-cased spelling of an
  // excluded mailbox cannot slip through.
  auto in = [&](const Subtrees& t, bool exclusion) {
    if (t.email_matches_all) return true;
    for (const std::string& mailbox : t.email_mailboxes) {
      const size_t at = mailbox.find('@');
      absl::string_view c_local = absl::string_view(mailbox).substr(0, at);
      absl::string_view c_domain = absl::string_view(mailbox).substr(at + 1);
      if (c_domain != lower_domain) continue;
      if (exclusion ? absl::EqualsIgnoreCase(c_local, local) : c_local == local) {
        return true;
      }
    }
    for (const std::string& host : t.email_hosts) {
      if (host == lower_domain) return true;
    }
    for (const std::string& suffix : t.email_domains) {
      if (lower_domain.size() > suffix.size() &&
          absl::EndsWith(lower_domain, suffix)) {
        return true;
      }
    }
    return false;
  };
  if ((excluded_.types & kEmailType) && in(excluded_, true)) {
    return Violation(
        absl::StrCat(what, " \"", email, "\" is in an excluded rfc822Name subtree"));
  }
  if ((permitted_.types & kEmailType) && !in(permitted_, false)) {
    return Violation(absl::StrCat(what, " \"", email,
                                  "\" is not in any permitted rfc822Name subtree"));
  }
  return absl::OkStatus();
}

absl::Status NameConstraints::CheckUri(absl::string_view uri) const {
  std::string host;
  // RFC 5280 4.2.1.10: a URI without an authority holding a fully qualified
  // domain name (none, or an IP address) MUST be rejected.
  if (!UriDnsHost(uri, &host)) {
    return Violation(absl::StrCat(
        "uniformResourceIdentifier \"", uri,
        "\" has no DNS host name, so it cannot satisfy the issuer's URI "
        "constraints"));
  }
  // "host.example.com" is that host only; ".example.com" is any host below.
  auto in = [&host](const std::vector<std::string>& constraints) {
    for (const std::string& c : constraints) {
      if (c.empty()) return true;
      if (c.front() == '.') {
        if (host.size() > c.size() && absl::EndsWith(host, c)) return true;
      } else if (host == c) {
        return true;
      }
    }
    return false;
  };
  if (in(excluded_.uri_hosts)) {
    return Violation(absl::StrCat("uniformResourceIdentifier \"", uri,
                                  "\" is in an excluded URI subtree"));
  }
  if ((permitted_.types & kUriType) && !in(permitted_.uri_hosts)) {
    return Violation(absl::StrCat("uniformResourceIdentifier \"", uri,
                                  "\" is not in any permitted URI subtree"));
  }
  return absl::OkStatus();
}

absl::Status NameConstraints::CheckDirectoryName(const X509_NAME* name,
                                                 absl::string_view what) const {
  const int rdns = RdnCount(name);
  // RFC 5280 7.1: the constraint's RDNs must be the first RDNs of the name.
  auto in = [name, rdns](const Subtrees& t) {
    if (t.directory_matches_all) return true;
    for (const DirectorySubtree& dir : t.directories) {
      if (dir.rdn_count > rdns) continue;
      X509NamePtr prefix = FirstRdns(name, dir.rdn_count);
      if (prefix != nullptr && X509_NAME_cmp(prefix.get(), dir.name.get()) == 0) {
        return true;
      }
    }
    return false;
  };
  if ((excluded_.types & kDirectoryType) && in(excluded_)) {
    return Violation(absl::StrCat(what, " \"", NameToText(name),
                                  "\" is in an excluded directoryName subtree"));
  }
  if ((permitted_.types & kDirectoryType) && !in(permitted_)) {
    return Violation(absl::StrCat(
        what, " \"", NameToText(name),
        "\" is not in any permitted directoryName subtree"));
  }
  return absl::OkStatus();
}

absl::Status NameConstraints::IsPermitted(const Certificate& cert, bool is_leaf,
                                          Profile profile) const {
  if (has_leading_dot_dns_) {
    return absl::InvalidArgumentError(
        "a dNSName constraint starts with '.', a form RFC 5280 4.2.1.10 "
        "defines only for rfc822Name and URI constraints");
  }
  const int constrained = permitted_.types | excluded_.types;
  const GeneralNames& sans = cert.subject_alt_names();

  if (constrained & kDnsType) {
    for (const std::string& dns : sans.dns_names) {
      absl::Status s = CheckDns(dns, "dNSName");
      if (!s.ok()) return s;
    }
  }
  if (constrained & kIpType) {
    for (const std::string& ip : sans.ip_addresses) {
      absl::Status s = CheckIp(ip, "iPAddress");
      if (!s.ok()) return s;
    }
  }
  if (constrained & kEmailType) {
    for (const std::string& email : sans.emails) {
      absl::Status s = CheckEmail(email, "rfc822Name");
      if (!s.ok()) return s;
    }
  }
  if (constrained & kUriType) {
    for (const std::string& uri : sans.uris) {
      absl::Status s = CheckUri(uri);
      if (!s.ok()) return s;
    }
  }
  if (constrained & kDirectoryType) {
    for (const std::string& der : sans.directory_names) {
      const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
      X509NamePtr name(d2i_X509_NAME(nullptr, &p, static_cast<long>(der.size())));
      if (name == nullptr) {
        return Violation("subjectAltName directoryName cannot be decoded");
      }
      absl::Status s =
          CheckDirectoryName(name.get(), "subjectAltName directoryName");
      if (!s.ok()) return s;
    }
  }
  // RFC 5280 4.2.1.10: "If a name constraints extension that is marked as
  // critical imposes constraints on a particular name form, and an instance
  // of that name form appears in the subject field or subjectAltName
  // extension of a subsequent certificate, then the application MUST either
  // process the constraint or reject the certificate." These forms are not
  // processed.
  if ((constrained & kOtherType) && sans.other_names > 0) {
    return Violation(
        "subjectAltName has an otherName, x400Address or ediPartyName, and the "
        "issuer constrains such names, which this verifier cannot check");
  }
  if ((constrained & kRegisteredIdType) && sans.registered_ids > 0) {
    return Violation(
        "subjectAltName has a registeredID, and the issuer constrains "
        "registeredIDs, which this verifier cannot check");
  }

  const X509_NAME* subject = cert.subject();
  // RFC 5280 4.2.1.10: directoryName restrictions apply to the subject field
  // when it is non-empty.
  if ((constrained & kDirectoryType) && X509_NAME_entry_count(subject) > 0) {
    absl::Status s = CheckDirectoryName(subject, "subject");
    if (!s.ok()) return s;
  }
  // RFC 5280 4.2.1.10: rfc822Name constraints apply to emailAddress
  // attributes of the subject (required when there is no SAN; done always).
  if (constrained & kEmailType) {
    int pos = -1;
    while ((pos = X509_NAME_get_index_by_NID(subject, NID_pkcs9_emailAddress,
                                             pos)) >= 0) {
      const ASN1_STRING* value =
          X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, pos));
      bool ok = false;
      std::string email = Utf8(value, &ok);
      if (!ok || !IsAsciiWithoutNul(email)) {
        return Violation(
            "subject emailAddress is not ASCII, so it cannot be checked "
            "against the issuer's rfc822Name constraints");
      }
      absl::Status s = CheckEmail(email, "subject emailAddress");
      if (!s.ok()) return s;
    }
  }
  // Legacy host names in the Common Name of a leaf without subjectAltName
  // (see name_constraints.h). A CN that reads as neither is not a host name.
  if (is_leaf && !cert.has_subject_alt_names() &&
      (constrained & (kDnsType | kIpType))) {
    int pos = -1;
    while ((pos = X509_NAME_get_index_by_NID(subject, NID_commonName, pos)) >= 0) {
      const ASN1_STRING* value =
          X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, pos));
      bool ok = false;
      std::string cn = Utf8(value, &ok);
      if (!ok) continue;
      std::string ip;
      if (ParseIpAddress(cn, &ip)) {
        if (constrained & kIpType) {
          absl::Status s = CheckIp(ip, "subject commonName");
          if (!s.ok()) return s;
        }
        continue;
      }
      absl::string_view host = StripOneTrailingDot(cn);
      if ((constrained & kDnsType) && absl::StrContains(host, '.') &&
          IsDnsName(host, /*allow_wildcard=*/true)) {
        absl::Status s = CheckDns(cn, "subject commonName");
        if (!s.ok()) return s;
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace chainverify::pki
