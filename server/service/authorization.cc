#include "server/service/authorization.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace chainverify::service {
namespace {

// Letters, digits, '-' and '_' in non-empty labels. Not the full hostname
// rules: the pattern only has to be something a DNS SAN can equal.
bool IsDnsName(absl::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  for (absl::string_view label : absl::StrSplit(name, '.')) {
    if (label.empty() || label.size() > 63) return false;
    for (char c : label) {
      if (!absl::ascii_isalnum(c) && c != '-' && c != '_') return false;
    }
  }
  return true;
}

bool AnyMatches(const std::vector<IdentityPattern>& patterns, const Caller& caller) {
  return std::any_of(patterns.begin(), patterns.end(),
                     [&](const IdentityPattern& p) { return p.Matches(caller); });
}

absl::StatusOr<std::vector<IdentityPattern>> ParsePatterns(
    const google::protobuf::RepeatedPtrField<std::string>& texts, absl::string_view where) {
  std::vector<IdentityPattern> out;
  for (const std::string& text : texts) {
    absl::StatusOr<IdentityPattern> pattern = IdentityPattern::Parse(text);
    if (!pattern.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("authorization.", where, ": ", pattern.status().message()));
    }
    out.push_back(*std::move(pattern));
  }
  return out;
}

}  // namespace

std::string Caller::ToString() const {
  for (const std::string& uri : uris) {
    if (absl::StartsWith(uri, "spiffe://")) return uri;
  }
  if (!uris.empty()) return uris.front();
  if (!dns_names.empty()) return dns_names.front();
  if (!other.empty()) return other;
  return kUnauthenticated;
}

absl::StatusOr<IdentityPattern> IdentityPattern::Parse(absl::string_view pattern) {
  const std::string text(pattern);
  if (pattern.empty()) return absl::InvalidArgumentError("empty identity pattern");
  if (pattern == "*") return IdentityPattern(Kind::kAny, text, "");
  if (absl::StrContains(pattern, "://")) {
    if (absl::EndsWith(pattern, "/*")) {
      absl::string_view prefix = pattern.substr(0, pattern.size() - 1);  // Keeps the '/'.
      // "spiffe://*" would be every caller of a scheme; say "*" instead.
      if (absl::StrContains(prefix, '*') || absl::EndsWith(prefix, "://")) {
        return absl::InvalidArgumentError(absl::StrCat(
            "identity pattern \"", text, "\": '*' only as a whole path segment at the end"));
      }
      return IdentityPattern(Kind::kUriPrefix, text, std::string(prefix));
    }
    if (absl::StrContains(pattern, '*')) {
      return absl::InvalidArgumentError(absl::StrCat(
          "identity pattern \"", text, "\": '*' only as a whole path segment at the end"));
    }
    return IdentityPattern(Kind::kUriExact, text, text);
  }
  std::string lower = absl::AsciiStrToLower(pattern);
  if (absl::StartsWith(lower, "*.")) {
    if (!IsDnsName(absl::string_view(lower).substr(2))) {
      return absl::InvalidArgumentError(
          absl::StrCat("identity pattern \"", text, "\": not \"*.\" and a DNS name"));
    }
    return IdentityPattern(Kind::kDnsSuffix, text, lower.substr(1));  // ".suffix"
  }
  if (!IsDnsName(lower)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "identity pattern \"", text,
        "\": neither a URI (with \"://\"), a DNS name, \"*.\" and a DNS name, nor \"*\""));
  }
  return IdentityPattern(Kind::kDnsExact, text, lower);
}

bool IdentityPattern::Matches(const Caller& caller) const {
  switch (kind_) {
    case Kind::kAny:
      return !caller.uris.empty() || !caller.dns_names.empty();
    case Kind::kUriExact:
      return std::find(caller.uris.begin(), caller.uris.end(), value_) != caller.uris.end();
    case Kind::kUriPrefix:
      return std::any_of(caller.uris.begin(), caller.uris.end(), [&](const std::string& uri) {
        return uri.size() > value_.size() && absl::StartsWith(uri, value_);
      });
    case Kind::kDnsExact:
    case Kind::kDnsSuffix:
      for (const std::string& name : caller.dns_names) {
        // A wildcard SAN names no single caller.
        if (absl::StrContains(name, '*')) continue;
        const std::string lower = absl::AsciiStrToLower(name);
        if (kind_ == Kind::kDnsExact ? lower == value_
                                     : lower.size() > value_.size() &&
                                           absl::EndsWith(lower, value_)) {
          return true;
        }
      }
      return false;
  }
  return false;
}

absl::StatusOr<Authorization> Authorization::Compile(
    const v1::Authorization& config, absl::Span<const std::string> policy_names) {
  Authorization out;
  for (int i = 0; i < config.grants_size(); ++i) {
    const v1::Authorization::Grant& grant = config.grants(i);
    const std::string where = absl::StrCat("grants[", i, "]");
    if (grant.identities().empty() || grant.policies().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("authorization.", where, ": needs identities and policies"));
    }
    absl::StatusOr<std::vector<IdentityPattern>> identities =
        ParsePatterns(grant.identities(), where);
    if (!identities.ok()) return identities.status();
    // An unknown name is most likely a typo that would silently deny.
    for (const std::string& policy : grant.policies()) {
      if (policy != "*" && std::find(policy_names.begin(), policy_names.end(), policy) ==
                               policy_names.end()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "authorization.", where, ": policy \"", policy, "\" is not defined"));
      }
    }
    out.grants_.push_back(
        Grant{*std::move(identities), {grant.policies().begin(), grant.policies().end()}});
  }
  absl::StatusOr<std::vector<IdentityPattern>> admins =
      ParsePatterns(config.admin_identities(), "admin_identities");
  if (!admins.ok()) return admins.status();
  out.admins_ = *std::move(admins);
  return out;
}

bool Authorization::MayUsePolicy(const Caller& caller, absl::string_view policy) const {
  for (const Grant& grant : grants_) {
    const bool names_policy = std::any_of(
        grant.policies.begin(), grant.policies.end(),
        [&](const std::string& p) { return p == "*" || p == policy; });
    if (names_policy && AnyMatches(grant.identities, caller)) return true;
  }
  return false;
}

bool Authorization::IsAdmin(const Caller& caller) const { return AnyMatches(admins_, caller); }

}  // namespace chainverify::service
