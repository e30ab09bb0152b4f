// Builds keys, certificates and CRLs at test time, so that no certificate files
// are committed and every test says in code what its certificates contain.
//
//   TestCert root = MustIssue(RootSpec("Root"), nullptr);
//   TestCert ica = MustIssue(IntermediateSpec("ICA"), &root);
//   TestCert leaf = MustIssue(LeafSpec("leaf", {"a.example"}), &ica);
#ifndef CHAINVERIFY_TESTS_TESTUTIL_TEST_PKI_H_
#define CHAINVERIFY_TESTS_TESTUTIL_TEST_PKI_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace chainverify::testing {

enum class KeyType { kRsa2048, kRsa1024, kEcP256, kEcP384, kEd25519, kRsa3072, kRsa4096, kEcP521 };

// The KeyType of an existing key (RSA by modulus size, EC by curve), for
// making a fresh key of the same type and size.
absl::StatusOr<KeyType> KeyTypeOf(EVP_PKEY* key);

// A key pair. Copies share the same EVP_PKEY.
class TestKey {
 public:
  // RSA generation is slow, so by default one key per type is made per process
  // and shared; pass fresh = true for a key no other caller has.
  static TestKey Generate(KeyType type) { return Generate(type, false); }
  static TestKey Generate(KeyType type, bool fresh);

  TestKey() = default;  // Holds no key; get() returns nullptr.

  EVP_PKEY* get() const { return pkey_.get(); }
  // DER SubjectPublicKeyInfo.
  std::string SpkiDer() const;
  // The private key, PEM (PKCS#8), for servers started by tests.
  std::string PrivateKeyPem() const;

 private:
  explicit TestKey(EVP_PKEY* pkey);  // Takes ownership.
  std::shared_ptr<EVP_PKEY> pkey_;
};

// What to put in a certificate. The defaults give a leaf-like certificate
// without SAN or EKU; RootSpec/IntermediateSpec/LeafSpec fill in the usual.
struct CertSpec {
  // Subject: the `extra_subject` attributes in order (e.g. {"C","US"},
  // {"O","Example"}), then CN = common_name. An empty common_name adds no CN.
  std::string common_name;
  std::vector<std::pair<std::string, std::string>> extra_subject;
  // When set, the issuer name is CN=<issuer_override> instead of the issuer's
  // subject (still signed by the issuer's key), so the names do not chain.
  std::optional<std::string> issuer_override;

  // X.509 version, 3 or 1. A version 1 certificate has no extensions, so
  // every extension field below is ignored (old roots are still v1).
  int version = 3;

  // basicConstraints, always critical: cA = is_ca, pathLenConstraint =
  // path_len (even on a non-CA, so tests can build that invalid case).
  bool is_ca = false;
  std::optional<int> path_len;
  bool include_basic_constraints = true;

  absl::Time not_before = absl::FromUnixSeconds(1700000000);  // 2023-11-14
  absl::Time not_after = absl::FromUnixSeconds(1900000000);   // 2030-03-17

  // subjectAltName (non-critical); no extension when all four are empty.
  std::vector<std::string> dns_names;
  std::vector<std::string> ip_addresses;  // "10.0.0.1", "::1"
  std::vector<std::string> emails;
  std::vector<std::string> uris;  // "spiffe://fleet/ns/billing/sa/api"

  // extKeyUsage (non-critical): short names or dotted OIDs ("serverAuth",
  // "anyExtendedKeyUsage", "1.2.3.4"). nullopt: no extension.
  std::optional<std::vector<std::string>> extended_key_usage;
  // keyUsage in OpenSSL config syntax ("critical,digitalSignature").
  // nullopt: "critical,keyCertSign,cRLSign" for a CA, else
  // "critical,digitalSignature". An empty string: no extension.
  std::optional<std::string> key_usage;

  // nameConstraints (critical); no extension when all four are empty.
  std::vector<std::string> permitted_dns, excluded_dns;
  std::vector<std::string> permitted_ip, excluded_ip;  // CIDR: "10.0.0.0/8"

  std::vector<std::string> crl_distribution_points;     // URIs, one DP each
  std::vector<std::string> ocsp_urls, ca_issuers_urls;  // authorityInfoAccess
  std::vector<std::string> certificate_policies;        // OIDs

  bool include_subject_key_id = true;
  bool include_authority_key_id = true;

  // Signature digest, by OpenSSL name ("sha256", "sha1", "md5", "sha384").
  // Ignored when the issuer key is Ed25519, which has none.
  std::string digest = "sha256";
  // Serial number in hex. nullopt: 16 random bytes, positive.
  std::optional<std::string> serial_hex;
  // Type of this certificate's key. Issue() makes a fresh one unless given a
  // key, so that a signature from the wrong issuer really fails to verify.
  KeyType key_type = KeyType::kEcP256;

  // Any other extension, added last: `der_value` is the DER that goes inside
  // the extnValue OCTET STRING.
  struct RawExtension {
    std::string oid;
    bool critical = false;
    std::string der_value;
  };
  std::vector<RawExtension> raw_extensions;
};

// A CA certificate spec (is_ca, default CA key usage).
CertSpec RootSpec(std::string cn);
CertSpec IntermediateSpec(std::string cn);
// An end-entity spec: SAN dNSNames, EKU serverAuth+clientAuth, KU
// digitalSignature.
CertSpec LeafSpec(std::string cn, std::vector<std::string> dns_names);

// `spec` with another serial number (hex) or keyUsage (OpenSSL's syntax, e.g.
// "critical,cRLSign"; "" for none).
CertSpec WithSerial(CertSpec spec, std::string serial_hex);
CertSpec WithKeyUsage(CertSpec spec, std::string key_usage);

struct TestCert {
  std::string der;
  TestKey key;  // This certificate's own key pair.
  std::string subject_cn;
  std::shared_ptr<X509> parsed;  // `der` parsed back.

  X509* x509() const { return parsed.get(); }
  std::string pem() const;
  // Serial number as uppercase hex, the form IssueCrl() accepts.
  std::string serial_hex() const;
};

// Issues a certificate for `spec`. With issuer == nullptr it is self-signed;
// otherwise it is signed by issuer->key, names issuer's subject as its issuer,
// and its authorityKeyIdentifier is the issuer's subjectKeyIdentifier.
// `key` reuses a subject key, e.g. to cross-sign one subject by two issuers,
// or TestKey::Generate(type) to save RSA key generation time.
absl::StatusOr<TestCert> Issue(const CertSpec& spec, const TestCert* issuer,
                               std::optional<TestKey> key = std::nullopt);

// Issue(), but aborts the process with the error on failure: for tests, whose
// specs are fixed and should never fail to build.
TestCert MustIssue(const CertSpec& spec, const TestCert* issuer,
                   std::optional<TestKey> key = std::nullopt);

// A v2 CRL from `issuer` revoking `revoked_serial_hex` (revocation date =
// this_update), with cRLNumber and authorityKeyIdentifier. Returns DER.
absl::StatusOr<std::string> IssueCrl(
    const TestCert& issuer, const std::vector<std::string>& revoked_serial_hex,
    absl::Time this_update, absl::Time next_update, int64_t crl_number = 1);

// One revokedCertificates entry of a CrlSpec.
struct CrlEntrySpec {
  std::string serial_hex;
  std::optional<int> reason;  // CRLReason; none: no reasonCode extension.
  // certificateIssuer (RFC 5280 5.3.3, critical): this certificate's subject.
  const TestCert* certificate_issuer = nullptr;
  std::vector<CertSpec::RawExtension> extensions;
};

// An issuingDistributionPoint (RFC 5280 5.2.5) of a CrlSpec. (Not nested in
// CrlSpec: clang cannot use its default member initializers for the
// std::optional member inside the enclosing class.)
struct CrlIdpSpec {
  bool only_user = false;
  bool only_ca = false;
  bool only_attribute = false;
  bool indirect = false;
  std::vector<int> only_some_reasons;  // ReasonFlags bits
  std::vector<std::string> uris;       // distributionPoint fullName
};

// Everything a CRL can say (RFC 5280 5.1-5.3), for tests of the profile,
// scope, indirect and delta CRLs. Defaults: a v2 CRL #1, thisUpdate
// 2025-06-14T02:13:20Z, nextUpdate a week later, no entries.
struct CrlSpec {
  long version = 1;  // X509_CRL_VERSION_2
  absl::Time this_update = absl::FromUnixSeconds(1750000000 - 86400);
  std::optional<absl::Time> next_update = absl::FromUnixSeconds(1750000000 + 6 * 86400);
  std::optional<int64_t> number = 1;  // cRLNumber
  bool number_critical = false;
  std::optional<int64_t> delta_base;  // deltaCRLIndicator
  bool delta_critical = true;
  // issuingDistributionPoint (critical).
  using Idp = CrlIdpSpec;
  std::optional<Idp> idp;
  std::vector<std::string> freshest_urls;  // freshestCRL (non-critical)
  std::vector<CrlEntrySpec> entries;
  std::vector<CertSpec::RawExtension> extensions;
  const TestCert* signer = nullptr;  // Whose key signs; default the issuer.
};

// A CRL named after `issuer`'s subject, as `spec` says. Returns DER.
absl::StatusOr<std::string> IssueCrl(const TestCert& issuer, const CrlSpec& spec);

// The extnValue of a cRLDistributionPoints extension (RFC 5280 4.2.1.13) of
// one point: fullName `uris`, and cRLIssuer `crl_issuer`'s subject when not
// null. For CertSpec::raw_extensions with OID 2.5.29.31.
std::string CrlDistributionPointsDer(const std::vector<std::string>& uris,
                                     const TestCert* crl_issuer);

// A stand-in for a real certificate whose private key we do not have: a copy
// of `der` (names, serial, validity, extensions and signature algorithm kept)
// with `key` as its subject key, self-signed by `key` with the original's
// digest. Its subjectKeyIdentifier, if any, keeps the original value, so
// certificates issued under it carry the original's key id.
absl::StatusOr<TestCert> Resign(absl::string_view der, TestKey key);

// A PKCS#7 "certs-only" SignedData holding `certs` (DER), the .p7c form CAs
// serve at caIssuers URLs (RFC 5280 4.2.2.1).
std::string Pkcs7CertsOnly(const std::vector<const TestCert*>& certs);

// PEM armour around `der`, with the given label.
std::string DerToPem(absl::string_view der,
                     absl::string_view label = "CERTIFICATE");

}  // namespace chainverify::testing

#endif  // CHAINVERIFY_TESTS_TESTUTIL_TEST_PKI_H_
