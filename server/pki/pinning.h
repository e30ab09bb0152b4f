// SPKI pinning (RFC 7469's pin-sha256 values) applied to candidate paths, so
// path building can backtrack to a path that satisfies the pins.
#ifndef CHAINVERIFY_SERVER_PKI_PINNING_H_
#define CHAINVERIFY_SERVER_PKI_PINNING_H_

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "server/pki/path_builder.h"
#include "server/pki/validation_options.h"

namespace chainverify::pki {

struct PinSet {
  enum class Scope { kAnyCertificate, kAnchor, kLeaf };

  std::string name;
  // Exact peer names, or "*.suffix" for any name below suffix. Empty: all.
  std::vector<std::string> peer_name_patterns;
  bool applies_to_server_auth = true;
  bool applies_to_client_auth = true;
  // Raw 32-byte SHA-256 digests of SubjectPublicKeyInfos.
  std::set<std::string> spki_sha256;
  Scope scope = Scope::kAnyCertificate;
  std::optional<absl::Time> expires;
  bool report_only = false;

  bool AppliesTo(const PeerName& peer, KeyPurpose purpose, absl::Time now) const;
  bool SatisfiedBy(const std::vector<PathElement>& path) const;
};

// Whether `peer` matches `pattern` (exact, or "*.suffix" at any depth).
bool PeerNameMatchesPattern(const PeerName& peer, const std::string& pattern);

}  // namespace chainverify::pki

#endif  // CHAINVERIFY_SERVER_PKI_PINNING_H_
