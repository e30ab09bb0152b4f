#include "server/pki/pinning.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "server/pki/hostname_match.h"

namespace chainverify::pki {

bool PeerNameMatchesPattern(const PeerName& peer, const std::string& pattern) {
  if (absl::StartsWith(pattern, "*.")) {
    if (peer.kind != PeerName::Kind::kDns) return false;
    const std::string suffix = absl::AsciiStrToLower(pattern.substr(1));  // ".suffix"
    return peer.value.size() > suffix.size() && absl::EndsWith(peer.value, suffix);
  }
  absl::StatusOr<PeerName> exact = ParsePeerName(pattern);
  return exact.ok() && exact->kind == peer.kind && exact->value == peer.value;
}

bool PinSet::AppliesTo(const PeerName& peer, KeyPurpose purpose, absl::Time now) const {
  if (expires && now > *expires) return false;
  if (purpose == KeyPurpose::kServerAuth ? !applies_to_server_auth : !applies_to_client_auth) {
    return false;
  }
  if (peer_name_patterns.empty()) return true;
  for (const std::string& pattern : peer_name_patterns) {
    if (PeerNameMatchesPattern(peer, pattern)) return true;
  }
  return false;
}

bool PinSet::SatisfiedBy(const std::vector<PathElement>& path) const {
  for (size_t i = 0; i < path.size(); ++i) {
    if (scope == Scope::kLeaf && i != 0) continue;
    if (scope == Scope::kAnchor && i + 1 != path.size()) continue;
    if (spki_sha256.count(path[i].certificate->spki_sha256())) return true;
  }
  return false;
}

}  // namespace chainverify::pki
