// Trust anchors (RFC 5280 section 6.1.1 (d)): a subject name and a public key,
// carried as certificates. A TrustStore is the union of a policy's trust
// sources (trust_source.h): each certificate once, with what every source that
// holds it says per purpose. Immutable once built and shared by every request
// that uses its policy; requests never add to it.
//
// Merging sources, per purpose (SERVER_AUTH, CLIENT_AUTH):
//   - an explicit distrust (CKT_NSS_NOT_TRUSTED) from any source wins, and
//     also applies to certificates of other sources with the same issuer and
//     serial number (as NSS matches trust objects);
//   - otherwise the certificate is an anchor when any source trusts it, with
//     a distrust-after date only when every source that trusts it sets one
//     (the latest applies): sources add trust, they do not restrict each
//     other. PolicySet warns when a policy mixes a root program's file with
//     sources that trust more than it does.
// Certificates that are an anchor for neither purpose (a root program's
// email-only or distrusted roots) stay in the store, so a chain ending at one
// is rejected with the reason (POLICY_DENIED) rather than "no issuer".
#ifndef CHAINVERIFY_SERVER_PKI_TRUST_STORE_H_
#define CHAINVERIFY_SERVER_PKI_TRUST_STORE_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/pki/certificate.h"
#include "server/pki/trust_source.h"
#include "server/pki/validation_options.h"

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

// One source's view of an anchor.
struct AnchorOrigin {
  const TrustSource* source;  // Owned by the store.
  // certdata.txt: CKA_LABEL; pem_directory: the file name.
  std::string label;
  PurposeTrust server_auth;
  PurposeTrust client_auth;
  PurposeTrust email_protection;
  // "mozilla_certdata:/x/certdata.txt \"Entrust Root CA\"", for messages.
  std::string Describe() const;
};

struct TrustAnchor {
  CertificatePtr certificate;
  // Every source holding this certificate, in policy order.
  std::vector<AnchorOrigin> origins;
  // The sources merged (see the top of this file).
  PurposeTrust server_auth;
  PurposeTrust client_auth;
  // The policy's own anchor_constraints.
  AnchorConstraints constraints;

  const PurposeTrust& TrustFor(KeyPurpose purpose) const {
    return purpose == KeyPurpose::kServerAuth ? server_auth : client_auth;
  }
  // Trusted for SERVER_AUTH or CLIENT_AUTH.
  bool IsAnchor() const {
    return server_auth.level == PurposeTrust::Level::kTrusted ||
           client_auth.level == PurposeTrust::Level::kTrusted;
  }
  // The first origin whose own trust for `purpose` is `level`, or null.
  const AnchorOrigin* OriginWith(KeyPurpose purpose, PurposeTrust::Level level) const;
};

// A source as loaded into a store, with counts for operators.
struct LoadedSourceSummary {
  TrustSource source;
  int certificates = 0;
  int server_auth_anchors = 0;
  int client_auth_anchors = 0;
  // Certificates the source trusts with a distrust-after date (either purpose).
  int distrust_after = 0;
  // Explicit distrust records (CKT_NSS_NOT_TRUSTED).
  int distrusted = 0;
};

class TrustStore {
 public:
  // Adds every certificate and distrust record of `loaded`, merging with what
  // the store holds (same DER: one anchor with several origins).
  void AddSource(const LoadedTrustSource& loaded);
  // One anchor trusted for every purpose, from an inline source named
  // `origin` (tests, tools). Same DER again: ignored.
  void Add(CertificatePtr certificate, std::string origin);
  // Every certificate of a PEM text, as Add (LoadPem's errors).
  absl::Status AddPem(absl::string_view pem, absl::string_view origin);

  // Entries whose subject equals `name` (RFC 5280 7.1 comparison).
  std::vector<const TrustAnchor*> FindBySubject(X509_NAME* name,
                                                uint64_t name_hash) const;
  // The entry with the same subject and public key as `cert`, or null: a
  // certificate that is in the store ends a path, whatever its issuer.
  const TrustAnchor* FindAnchorFor(const Certificate& cert) const;
  // The explicit distrust of `cert` (by issuer and serial) for `purpose`, or
  // null. Cheap when the store has no distrust records.
  const DistrustRecord* FindDistrust(const Certificate& cert, KeyPurpose purpose) const;

  // Removes the entries matching `id` (lowercase hex SHA-256 of the
  // certificate, or base64 SHA-256 of its SPKI); returns how many.
  size_t Remove(const std::string& id);
  // Sets the policy constraints of the entries matching `id` (as for Remove);
  // returns how many.
  size_t Constrain(const std::string& id, const AnchorConstraints& constraints);

  // Every entry, anchors and certificates held only to explain a rejection.
  size_t size() const { return anchors_.size(); }
  const std::vector<std::unique_ptr<TrustAnchor>>& anchors() const {
    return anchors_;
  }
  // Entries that are an anchor for at least one purpose.
  size_t anchor_count() const;
  const std::vector<std::unique_ptr<LoadedSourceSummary>>& sources() const {
    return sources_;
  }
  // Issuer DER + serial DER -> explicit distrust.
  const std::multimap<std::string, DistrustRecord>& distrust_records() const { return distrust_; }

 private:
  bool Matches(const TrustAnchor& anchor, const std::string& id) const;
  void Reindex();
  void ApplyDistrust(TrustAnchor* anchor) const;
  static std::string DistrustKey(const Certificate& cert);

  std::vector<std::unique_ptr<TrustAnchor>> anchors_;
  std::vector<std::unique_ptr<LoadedSourceSummary>> sources_;
  std::unordered_multimap<uint64_t, const TrustAnchor*> by_subject_;
  std::unordered_map<std::string, TrustAnchor*> by_der_sha256_;
  // Issuer DER + serial DER -> record.
  std::multimap<std::string, DistrustRecord> distrust_;
};

}  // namespace chainverify::pki

#endif  // CHAINVERIFY_SERVER_PKI_TRUST_STORE_H_
