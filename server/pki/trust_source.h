// Trust sources: where a policy's certificates come from (the OS store, PEM
// files, a root program's certdata.txt) and what each source says about each
// certificate, per purpose. A source is loaded into a LoadedTrustSource, which
// a TrustStore merges with the policy's other sources (trust_store.h); the
// same loaders serve any other store that reads these sources.
#ifndef CHAINVERIFY_SERVER_PKI_TRUST_SOURCE_H_
#define CHAINVERIFY_SERVER_PKI_TRUST_SOURCE_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/pki/certificate.h"

namespace chainverify::pki {

// One source of a policy, as the policy names it (policy.proto TrustStore).
struct TrustSource {
  enum class Kind { kSystem, kPemFile, kPemDirectory, kInlinePem, kMozillaCertdata };
  Kind kind = Kind::kInlinePem;
  // The file or directory read (kSystem: the bundle, e.g.
  // /etc/ssl/certs/ca-certificates.crt); for kInlinePem a name ("inline").
  std::string path;

  // "system", "pem_file", ... (the policy.proto field names).
  static const char* KindName(Kind kind);
  // "mozilla_certdata:/etc/chainverify/certdata.txt", for messages.
  std::string Describe() const;
};

// What a source says about a certificate for one purpose.
struct PurposeTrust {
  enum class Level {
    // An anchor for this purpose (every certificate of a PEM source;
    // CKT_NSS_TRUSTED_DELEGATOR).
    kTrusted,
    // Known, but not an anchor for this purpose (CKT_NSS_MUST_VERIFY_TRUST,
    // or no trust attribute): chains ending here are not trusted.
    kNotTrusted,
    // Explicitly distrusted (CKT_NSS_NOT_TRUSTED): wins over every other
    // source of the policy.
    kDistrusted,
  };
  Level level = Level::kTrusted;
  // Certificates issued (leaf notBefore) after this instant are not trusted
  // (CKA_NSS_SERVER_DISTRUST_AFTER). Applies to kTrusted; kept for the other
  // levels as the source states it (a root program may first set the date,
  // then drop the trust bit).
  std::optional<absl::Time> distrust_after;

  bool operator==(const PurposeTrust& o) const {
    return level == o.level && distrust_after == o.distrust_after;
  }
  bool operator!=(const PurposeTrust& o) const { return !(*this == o); }
  // "trusted", "trusted, distrust after 2024-11-30T23:59:59Z", "not trusted",
  // "not trusted (distrust after ...)", "distrusted".
  std::string Describe() const;
};

// One certificate of a source and what the source says about it.
struct SourceCertificate {
  CertificatePtr certificate;
  // certdata.txt: the CKA_LABEL; empty for PEM.
  std::string label;
  PurposeTrust server_auth;
  PurposeTrust client_auth;
  // S/MIME trust, reported only (no request asks for it); PEM: kTrusted.
  PurposeTrust email_protection;
};

// An explicit distrust of certificates by issuer and serial number, as NSS
// applies a CKT_NSS_NOT_TRUSTED trust object: to any certificate of a path
// with that issuer and serial, whether or not the file holds the certificate.
struct DistrustRecord {
  std::string issuer_der;  // DER Name
  std::string serial_der;  // DER INTEGER, tag and length included
  bool server_auth = false;
  bool client_auth = false;
  std::string label;
  // Where it came from, e.g. "mozilla_certdata:/x/certdata.txt line 812".
  std::string origin;
};

struct LoadedTrustSource {
  TrustSource source;
  std::vector<SourceCertificate> certificates;
  std::vector<DistrustRecord> distrust;
};

// RFC 3629 UTF-8 (no surrogates, no overlong forms): labels and paths end up
// in proto3 strings.
bool IsValidUtf8(absl::string_view s);

// Every CERTIFICATE block of a PEM text (other blocks, e.g. keys and CRLs, are
// skipped), each trusted for every purpose. Fails if a certificate block does
// not parse, naming it.
absl::StatusOr<LoadedTrustSource> LoadPem(absl::string_view pem, TrustSource source);
absl::StatusOr<LoadedTrustSource> LoadPemFile(const std::string& path);
// Every regular file ending in .pem or .crt, in name order.
absl::StatusOr<LoadedTrustSource> LoadPemDirectory(const std::string& path);
// The bundle OpenSSL is configured with: $SSL_CERT_FILE, else OpenSSL's
// default file (Debian: /etc/ssl/certs/ca-certificates.crt); plus the PEM files
// of $SSL_CERT_DIR when that is set. Fails when it holds no certificate.
absl::StatusOr<LoadedTrustSource> LoadSystemStore();

}  // namespace chainverify::pki

#endif  // CHAINVERIFY_SERVER_PKI_TRUST_SOURCE_H_
