// A parsed, immutable X.509 certificate with the facts path building and
// validation need, extracted once (RFC 5280 section 4).
#ifndef CHAINVERIFY_SERVER_PKI_CERTIFICATE_H_
#define CHAINVERIFY_SERVER_PKI_CERTIFICATE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/pki/cert_errors.h"
#include "server/pki/general_names.h"
#include "server/pki/lazy.h"
#include "server/pki/openssl_util.h"

namespace chainverify::pki {

// keyUsage bits (RFC 5280 4.2.1.3), as OpenSSL's KU_* values.
inline constexpr uint32_t kKeyUsageDigitalSignature = 0x0080;
inline constexpr uint32_t kKeyUsageKeyEncipherment = 0x0020;
inline constexpr uint32_t kKeyUsageKeyAgreement = 0x0008;
inline constexpr uint32_t kKeyUsageKeyCertSign = 0x0004;
inline constexpr uint32_t kKeyUsageCrlSign = 0x0002;

class Certificate;
using CertificatePtr = std::shared_ptr<const Certificate>;

// Why a DER blob was refused.
struct ParseError {
  const CertErrorId* id;
  std::string diagnostic;
};

class Certificate {
 public:
  // Parses one DER certificate. Rejects trailing data, and encodings RFC 5280
  // forbids that OpenSSL tolerates (see certificate.cc for the list).
  // `sha256`, when given, is the caller's raw SHA-256 of `der`, not computed
  // again.
  static CertificatePtr Parse(absl::string_view der, ParseError* error,
                              const std::string* sha256 = nullptr);

  // Borrowed; valid for the certificate's lifetime. Never modified after Parse
  // (OpenSSL's lazy caches are filled in Parse, so sharing across threads is safe).
  X509* x509() const { return x509_.get(); }
  const std::string& der() const { return der_; }
  // Raw SHA-256 of der() and of the DER SubjectPublicKeyInfo.
  const std::string& sha256() const { return sha256_; }
  const std::string& spki_sha256() const { return spki_sha256_; }
  const std::string& spki_der() const { return spki_der_; }

  X509_NAME* subject() const { return X509_get_subject_name(x509_.get()); }
  X509_NAME* issuer() const { return X509_get_issuer_name(x509_.get()); }
  // Hash of the canonical subject/issuer name (RFC 5280 7.1 comparison rules
  // as OpenSSL implements them): an index key, confirmed with X509_NAME_cmp.
  uint64_t subject_hash() const { return subject_hash_; }
  uint64_t issuer_hash() const { return issuer_hash_; }
  bool IsSelfIssued() const { return self_issued_; }

  absl::Time not_before() const { return not_before_; }
  absl::Time not_after() const { return not_after_; }

  int version() const { return version_; }  // 1, 2 or 3
  bool has_basic_constraints() const { return has_basic_constraints_; }
  bool basic_constraints_critical() const { return basic_constraints_critical_; }
  bool is_ca() const { return is_ca_; }
  // pathLenConstraint, or -1 when absent.
  int path_len() const { return path_len_; }
  // keyUsage bits, or nullopt when the extension is absent.
  std::optional<uint32_t> key_usage() const { return key_usage_; }
  // extendedKeyUsage NIDs (NID_undef for OIDs OpenSSL does not know), or
  // nullopt when the extension is absent.
  const std::optional<std::vector<int>>& extended_key_usage() const {
    return extended_key_usage_;
  }
  const std::optional<std::string>& subject_key_id() const { return ski_; }
  const std::optional<std::string>& authority_key_id() const { return aki_; }
  const GeneralNames& subject_alt_names() const { return sans_; }
  bool has_subject_alt_names() const { return has_sans_; }
  bool subject_alt_names_critical() const { return sans_critical_; }
  NAME_CONSTRAINTS* name_constraints() const { return name_constraints_.get(); }

  // NIDs of critical extensions this verifier does not process.
  const std::vector<std::string>& unhandled_critical_extensions() const {
    return unhandled_critical_extensions_;
  }
  // Signature algorithm NID of the certificate (the outer one).
  int signature_nid() const { return signature_nid_; }
  // The subject public key, decoded at parse time. (x509()'s own
  // X509_get0_pubkey is null: see certificate.cc.)
  EVP_PKEY* public_key() const { return public_key_.get(); }

  // The verdict's rendering of this certificate (certificate_details.cc),
  // serialized: made by `render` on first use and kept with the certificate,
  // since it depends on the DER alone and a shared certificate (a CA's, from
  // the cache) is shown in many verdicts, whose bytes then include it as it
  // is. Thread-safe; the only state filled after Parse.
  using DetailsRenderer = void (*)(const Certificate&, v1::CertificateDetails*);
  const std::string& DetailsBytes(DetailsRenderer render) const;

 private:
  Certificate() = default;

  X509Ptr x509_;
  EvpPkeyPtr public_key_;
  std::string der_;
  std::string sha256_;
  std::string spki_der_;
  std::string spki_sha256_;
  uint64_t subject_hash_ = 0;
  uint64_t issuer_hash_ = 0;
  bool self_issued_ = false;
  absl::Time not_before_;
  absl::Time not_after_;
  int version_ = 1;
  bool has_basic_constraints_ = false;
  bool basic_constraints_critical_ = false;
  bool is_ca_ = false;
  int path_len_ = -1;
  std::optional<uint32_t> key_usage_;
  std::optional<std::vector<int>> extended_key_usage_;
  std::optional<std::string> ski_;
  std::optional<std::string> aki_;
  GeneralNames sans_;
  bool has_sans_ = false;
  bool sans_critical_ = false;
  std::unique_ptr<NAME_CONSTRAINTS,
                  OpenSslDeleter<NAME_CONSTRAINTS, NAME_CONSTRAINTS_free>>
      name_constraints_;
  std::vector<std::string> unhandled_critical_extensions_;
  int signature_nid_ = 0;
  Lazy<std::string> details_bytes_;
};

// Converts an ASN1_TIME to absl::Time; false when unparsable.
bool Asn1TimeToAbsl(const ASN1_TIME* t, absl::Time* out);

}  // namespace chainverify::pki

#endif  // CHAINVERIFY_SERVER_PKI_CERTIFICATE_H_
