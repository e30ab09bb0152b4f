// Inputs to RFC 5280 path validation that come from the request or the policy.
#ifndef CHAINVERIFY_SERVER_PKI_VALIDATION_OPTIONS_H_
#define CHAINVERIFY_SERVER_PKI_VALIDATION_OPTIONS_H_

#include <set>
#include <string>

namespace chainverify::pki {

// RFC 5280 4.2.1.12 key purposes a request can ask for.
enum class KeyPurpose { kServerAuth, kClientAuth };

// Which rule set applies on top of RFC 5280.
enum class Profile {
  // RFC 5280 plus RFC 6125 name matching.
  kRfc5280,
  // Adds the CA/Browser Forum Baseline Requirements checks a browser makes.
  kWebPki,
};

// The identity the caller expected the leaf to have.
struct PeerName {
  enum class Kind { kNone, kDns, kIpAddress, kEmail };
  Kind kind = Kind::kNone;
  // kDns: lowercase, no trailing dot. kIpAddress: raw 4 or 16 bytes.
  // kEmail: as given.
  std::string value;
};

// Signature and key algorithm rules (the policy's "algorithm rules").
struct AlgorithmPolicy {
  int min_rsa_bits = 2048;
  // SHA-1 and MD5 signatures are refused unless this is true.
  bool allow_sha1 = false;
  // NIDs of allowed named curves; empty means P-256, P-384, P-521.
  std::set<int> allowed_curves;
  bool allow_ed25519 = true;
};

struct ValidationOptions {
  Profile profile = Profile::kRfc5280;
  AlgorithmPolicy algorithms;
  // Maximum certificates in a path, leaf and anchor included (RFC 5280 has no
  // limit; 10 is more than any public PKI uses).
  int max_chain_length = 10;
  // Maximum intermediates that are not self-issued (a relying-party
  // pathLenConstraint, like OpenSSL's verify depth); -1 means no limit beyond
  // max_chain_length.
  int max_intermediates = -1;
  // Check the anchor certificate's own validity period and constraints. RFC 5280
  // treats an anchor as a name and a key only; OpenSSL and most TLS stacks
  // check the root's dates anyway.
  bool enforce_anchor_validity = true;
  // Also judge how the anchor certificate itself was issued: its own
  // signature algorithm and the encoding rules of the profile (AKI/SKI form,
  // basicConstraints criticality, ...). Off (the default), an anchor is judged
  // only by what the path relies on, as RFC 5280 6.1.1 (d) and every browser
  // treat it: real roots self-signed with SHA-1 or with an AKI holding issuer
  // and serial are still in root programs. x509-limbo expects strict checks.
  bool strict_anchor_checks = false;
};

}  // namespace chainverify::pki

#endif  // CHAINVERIFY_SERVER_PKI_VALIDATION_OPTIONS_H_
