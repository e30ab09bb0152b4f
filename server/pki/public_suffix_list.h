// The Public Suffix List (https://publicsuffix.org/list/): the domains under
// which anyone can register names ("com", "co.uk", "s3.amazonaws.com"). The
// CA/Browser Forum Baseline Requirements use it for the "registry-controlled
// or public suffix" of BR 1.6.1 (Base Domain Name) and 3.2.2.6 (wildcards).
//
// Rules are matched as the PSL's own algorithm says
// (https://github.com/publicsuffix/list/wiki/Format): a rule "a.b" matches
// "a.b", "*.a.b" matches any one label followed by "a.b", an exception
// "!c.a.b" cancels a wildcard for "c.a.b", and an unlisted top-level domain
// counts as a public suffix (the implicit rule "*").
#ifndef CHAINVERIFY_SERVER_PKI_PUBLIC_SUFFIX_LIST_H_
#define CHAINVERIFY_SERVER_PKI_PUBLIC_SUFFIX_LIST_H_

#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace chainverify::pki {

// Converts a domain name to its ASCII form: ASCII letters are lowercased, and
// each label holding a non-ASCII character becomes an A-label, "xn--" plus the
// RFC 3492 Punycode of the label's code points. No IDNA2008 / UTS #46 mapping
// or normalization is applied, so this is exact only for labels that are
// already in normalized lowercase form (as the PSL's are). Returns nullopt for
// invalid UTF-8.
std::optional<std::string> DomainToAscii(absl::string_view utf8_domain);

class PublicSuffixList {
 public:
  // The list's two parts. Both count as public suffixes.
  enum class Section {
    kIcann,    // delegated by ICANN: TLDs and the registries under them
    kPrivate,  // submitted by the operator of a shared namespace
  };

  // Where the Debian package "publicsuffix" installs the list.
  static constexpr char kDefaultPath[] =
      "/usr/share/publicsuffix/public_suffix_list.dat";

  // Parses the list's text format: one rule per line, read up to the first
  // whitespace; "//" starts a comment line; "// ===BEGIN PRIVATE DOMAINS==="
  // starts the private section (rules before it are ICANN ones). Unicode
  // rules are stored as A-labels. Fails on a malformed rule (empty label,
  // '*' other than as a whole left-most label, invalid UTF-8) or when the
  // text holds no rule at all.
  static absl::StatusOr<std::shared_ptr<const PublicSuffixList>> Parse(
      absl::string_view text);

  // Reads and parses a list file.
  static absl::StatusOr<std::shared_ptr<const PublicSuffixList>> Load(
      const std::string& path);

  // The list at kDefaultPath, loaded on the first call (thread-safe) and kept
  // for the process's lifetime; nullptr when that file is absent or does not
  // parse. Callers then fall back to "a wildcard must be followed by at least
  // two labels".
  static const PublicSuffixList* Default();

  // Whether `domain` (an A-label name, lowercase, no trailing dot) is itself
  // a public suffix: "com", "co.uk", "s3.amazonaws.com", "anything.ck" (by
  // "*.ck") but not "www.ck" (by "!www.ck"), and any single label.
  bool IsPublicSuffix(absl::string_view domain) const {
    return PublicSuffixSection(domain).has_value();
  }

  // The section of the rule that makes `domain` a public suffix (kIcann for
  // the implicit "*" rule), or nullopt when it is not one (including an empty
  // name or one with an empty label).
  std::optional<Section> PublicSuffixSection(absl::string_view domain) const;

  // Whether `label` is a top-level domain some ICANN-section rule falls
  // under. The ICANN section tracks the IANA root zone, so a TLD it lacks
  // ("localhost", "corp") is not a public one (BR 1.6.1 "Internal Name").
  bool IsIcannTld(absl::string_view label) const;

  // Number of rules, for diagnostics.
  size_t size() const {
    return exact_.size() + wildcard_.size() + exception_.size();
  }

 private:
  PublicSuffixList() = default;

  // Keyed by the rule without its "*." or "!" prefix, in A-label form.
  absl::flat_hash_map<std::string, Section> exact_;
  absl::flat_hash_map<std::string, Section> wildcard_;
  absl::flat_hash_set<std::string> exception_;
  absl::flat_hash_set<std::string> icann_tlds_;
};

}  // namespace chainverify::pki

#endif  // CHAINVERIFY_SERVER_PKI_PUBLIC_SUFFIX_LIST_H_
