// Trust anchors (RFC 5280 section 6.1.1 (d)): a subject name and a public key,
// carried as certificates. A TrustStore is immutable once built and shared by
// every request that uses its policy; requests never add to it.
#ifndef CHAINVERIFY_SERVER_PKI_TRUST_STORE_H_
#define CHAINVERIFY_SERVER_PKI_TRUST_STORE_H_

#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/pki/certificate.h"

namespace chainverify::pki {

// Root-program rules a PEM bundle cannot express (policy AnchorConstraint).
struct AnchorConstraints {
  // Leaves whose notBefore is later are distrusted.
  std::optional<absl::Time> distrust_issued_after;
  // DNS subtrees (RFC 5280 dNSName semantics) the leaf's DNS names must be in
  // (when non-empty) and must not be in.
  std::vector<std::string> permitted_dns_names;
  std::vector<std::string> excluded_dns_names;
  // Usages allowed; both true when unconstrained.
  bool allow_server_auth = true;
  bool allow_client_auth = true;
};

struct TrustAnchor {
  CertificatePtr certificate;
  // Where it was loaded from, e.g. "system:/etc/ssl/certs/ca-certificates.crt".
  std::string origin;
  AnchorConstraints constraints;
};

class TrustStore {
 public:
  // Adds one anchor. Duplicates (same DER) are ignored.
  void Add(CertificatePtr certificate, std::string origin);

  // Adds every CERTIFICATE block of a PEM text; other blocks (keys, CRLs) are
  // skipped. Fails if a certificate block does not parse, naming it.
  absl::Status AddPem(absl::string_view pem, absl::string_view origin);
  absl::Status AddPemFile(const std::string& path);
  // Every regular file ending in .pem or .crt, in name order.
  absl::Status AddPemDirectory(const std::string& path);
  // The bundle OpenSSL is configured with: $SSL_CERT_FILE, else OpenSSL's default
  // file (Debian: /etc/ssl/certs/ca-certificates.crt); plus the PEM files of
  // $SSL_CERT_DIR when that is set. Fails when no anchor could be loaded.
  absl::Status AddSystemStore();

  // Anchors whose subject equals `name` (RFC 5280 7.1 comparison).
  std::vector<const TrustAnchor*> FindBySubject(X509_NAME* name,
                                                uint64_t name_hash) const;
  // The anchor with the same subject and public key as `cert`, or null: a
  // certificate that is an anchor ends a path, whatever its issuer.
  const TrustAnchor* FindAnchorFor(const Certificate& cert) const;

  // Removes the anchors matching `id` (lowercase hex SHA-256 of the
  // certificate, or base64 SHA-256 of its SPKI); returns how many.
  size_t Remove(const std::string& id);
  // Sets the constraints of the anchors matching `id` (as for Remove); returns
  // how many.
  size_t Constrain(const std::string& id, const AnchorConstraints& constraints);

  size_t size() const { return anchors_.size(); }
  const std::vector<std::unique_ptr<TrustAnchor>>& anchors() const {
    return anchors_;
  }

 private:
  bool Matches(const TrustAnchor& anchor, const std::string& id) const;
  void Reindex();

  std::vector<std::unique_ptr<TrustAnchor>> anchors_;
  std::unordered_multimap<uint64_t, const TrustAnchor*> by_subject_;
  std::unordered_map<std::string, const TrustAnchor*> by_der_sha256_;
};

}  // namespace chainverify::pki

#endif  // CHAINVERIFY_SERVER_PKI_TRUST_STORE_H_
