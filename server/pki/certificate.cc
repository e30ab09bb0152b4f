// d2i_RSA_PUBKEY and d2i_EC_PUBKEY are deprecated in OpenSSL 3.0 but are the
// only public way to its legacy key decoders, which are 100x cheaper than
// the provider decoders (see DecodePublicKey).
#define OPENSSL_SUPPRESS_DEPRECATED

#include "server/pki/certificate.h"

#include <time.h>

#include <openssl/asn1.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/provider.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace chainverify::pki {
namespace {

// Extensions whose semantics the validator implements; any other critical
// extension makes the certificate unusable (RFC 5280 4.2).
bool IsHandledExtension(int nid) {
  switch (nid) {
    case NID_basic_constraints:
    case NID_key_usage:
    case NID_ext_key_usage:
    case NID_subject_alt_name:
    case NID_subject_key_identifier:
    case NID_authority_key_identifier:
    case NID_name_constraints:
    case NID_certificate_policies:
    case NID_policy_constraints:
    case NID_policy_mappings:
    case NID_inhibit_any_policy:
      return true;
    default:
      return false;
  }
}

// A library context whose only provider is "null" (no algorithms at all).
// Parsing a certificate in it skips OpenSSL 3.0's eager public key decode:
// X509_PUBKEY's d2i callback builds a provider decoder chain for the key
// (OSSL_DECODER_CTX_new_for_pkey), about 1.3M instructions per certificate
// under callgrind, nine tenths of d2i_X509. In this context that chain finds
// no decoders and fails at once, leaving the key undecoded; the structure is
// parsed exactly as before. The libctx is used only for that decode (the X509
// itself keeps the default context, so X509_verify and digests work).
OSSL_LIB_CTX* NoKeyDecoderContext() {
  static OSSL_LIB_CTX* const ctx = [] {
    OSSL_LIB_CTX* c = OSSL_LIB_CTX_new();
    // Loading any provider explicitly stops OpenSSL from falling back to
    // the default provider in this context.
    if (c == nullptr || OSSL_PROVIDER_load(c, "null") == nullptr) {
      OSSL_LIB_CTX_free(c);
      return static_cast<OSSL_LIB_CTX*>(nullptr);  // Parse as d2i_X509 does.
    }
    return c;
  }();
  return ctx;
}

// Decodes a DER SubjectPublicKeyInfo. RSA (rsaEncryption) and EC keys on the
// NIST curves go through OpenSSL's legacy decoders (d2i_RSA_PUBKEY and
// d2i_EC_PUBKEY, which check the same encoding rules: RFC 3279 2.3.1, RFC
// 5480 2); everything else (RSA-PSS, Ed25519, other curves, explicit
// parameters) through the generic provider decoder, as before. The legacy
// key is exported to the provider once, on its first signature check, and
// that export is kept with the key.
EvpPkeyPtr DecodePublicKey(X509_PUBKEY* pub, absl::string_view spki) {
  ASN1_OBJECT* alg = nullptr;
  X509_ALGOR* algor = nullptr;
  const unsigned char* p = reinterpret_cast<const unsigned char*>(spki.data());
  const long len = static_cast<long>(spki.size());
  if (X509_PUBKEY_get0_param(&alg, nullptr, nullptr, &algor, pub) == 1) {
    const int nid = OBJ_obj2nid(alg);
    if (nid == NID_rsaEncryption) {
      RSA* rsa = d2i_RSA_PUBKEY(nullptr, &p, len);
      EvpPkeyPtr key(EVP_PKEY_new());
      if (rsa == nullptr || p != reinterpret_cast<const unsigned char*>(spki.data()) + len ||
          key == nullptr || EVP_PKEY_assign_RSA(key.get(), rsa) != 1) {
        RSA_free(rsa);
        return nullptr;
      }
      return key;
    }
    int param_type = 0;
    const void* param = nullptr;
    X509_ALGOR_get0(nullptr, &param_type, &param, algor);
    if (nid == NID_X9_62_id_ecPublicKey && param_type == V_ASN1_OBJECT) {
      const int curve = OBJ_obj2nid(static_cast<const ASN1_OBJECT*>(param));
      if (curve == NID_X9_62_prime256v1 || curve == NID_secp384r1 || curve == NID_secp521r1) {
        EC_KEY* ec = d2i_EC_PUBKEY(nullptr, &p, len);
        EvpPkeyPtr key(EVP_PKEY_new());
        if (ec == nullptr || p != reinterpret_cast<const unsigned char*>(spki.data()) + len ||
            key == nullptr || EVP_PKEY_assign_EC_KEY(key.get(), ec) != 1) {
          EC_KEY_free(ec);
          return nullptr;
        }
        return key;
      }
    }
  }
  p = reinterpret_cast<const unsigned char*>(spki.data());
  EvpPkeyPtr key(d2i_PUBKEY(nullptr, &p, len));
  if (p != reinterpret_cast<const unsigned char*>(spki.data()) + len) return nullptr;
  return key;
}

}  // namespace

const std::string& Certificate::DetailsBytes(DetailsRenderer render) const {
  return details_bytes_.Get([&](std::string* bytes) {
    v1::CertificateDetails details;
    render(*this, &details);
    *bytes = details.SerializeAsString();
  });
}

bool Asn1TimeToAbsl(const ASN1_TIME* t, absl::Time* out) {
  struct tm tm = {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return false;
  *out = absl::FromCivil(
      absl::CivilSecond(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                        tm.tm_hour, tm.tm_min, tm.tm_sec),
      absl::UTCTimeZone());
  return true;
}

CertificatePtr Certificate::Parse(absl::string_view der, ParseError* error,
                                  const std::string* sha256) {
  auto fail = [error](const CertErrorId& id, std::string why) {
    if (error != nullptr) *error = {&id, std::move(why)};
    return nullptr;
  };
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  // d2i_X509 without its key decode (see NoKeyDecoderContext); the key is
  // decoded below, more cheaply.
  X509Ptr x509(reinterpret_cast<X509*>(ASN1_item_d2i_ex(nullptr, &p, static_cast<long>(der.size()),
                                                   ASN1_ITEM_rptr(X509), NoKeyDecoderContext(),
                                                   nullptr)));
  if (x509 != nullptr) ERR_clear_error();  // The failed key decode's errors.
  if (x509 == nullptr) {
    const std::string openssl = DrainOpenSslErrors();
    // A common mistake deserves a direct answer (PEM is RFC 7468 armour).
    if (absl::StartsWith(absl::StripLeadingAsciiWhitespace(der), "-----BEGIN")) {
      return fail(kCertMalformed,
                  "not a DER X.509 certificate: this is PEM; send the DER bytes (the "
                  "base64-decoded body between the BEGIN and END lines)");
    }
    return fail(kCertMalformed, "not a DER X.509 certificate: " + openssl);
  }
  if (p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
    return fail(kCertMalformed, "trailing data after the certificate");
  }

  auto cert = std::shared_ptr<Certificate>(new Certificate());
  cert->x509_ = std::move(x509);
  X509* x = cert->x509();
  // Fills OpenSSL's extension cache now, so later concurrent reads are safe.
  X509_check_purpose(x, -1, 0);
  const uint32_t flags = X509_get_extension_flags(x);
  if (flags & EXFLAG_INVALID) {
    return fail(kCertInvalidExtension,
                "an extension is malformed or repeated (RFC 5280 4.2)");
  }

  cert->der_ = std::string(der);
  cert->sha256_ = sha256 != nullptr ? *sha256 : Sha256(der);
  unsigned char* spki = nullptr;
  int spki_len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &spki);
  if (spki_len <= 0) return fail(kPublicKeyInvalid, "cannot encode the public key");
  cert->spki_der_.assign(reinterpret_cast<char*>(spki), spki_len);
  OPENSSL_free(spki);
  cert->spki_sha256_ = Sha256(cert->spki_der_);
  cert->public_key_ = DecodePublicKey(X509_get_X509_PUBKEY(x), cert->spki_der_);
  if (cert->public_key_ == nullptr) {
    return fail(kPublicKeyInvalid, "unsupported or malformed public key: " +
                                       DrainOpenSslErrors());
  }

  // RFC 5280 4.1.1.2: the two signature algorithm fields must be identical.
  const X509_ALGOR* outer_alg = nullptr;
  X509_get0_signature(nullptr, &outer_alg, x);
  if (X509_ALGOR_cmp(outer_alg, X509_get0_tbs_sigalg(x)) != 0) {
    return fail(kCertSignatureAlgorithmMismatch,
                "signatureAlgorithm differs from tbsCertificate.signature");
  }
  cert->signature_nid_ = X509_get_signature_nid(x);

  cert->version_ = static_cast<int>(X509_get_version(x)) + 1;
  if (cert->version_ < 1 || cert->version_ > 3) {
    return fail(kCertVersionInvalid, absl::StrCat("version ", cert->version_));
  }
  if (X509_get_ext_count(x) > 0 && cert->version_ != 3) {
    return fail(kCertVersionInvalid, "extensions require version 3 (RFC 5280 4.1.2.1)");
  }

  if (!Asn1TimeToAbsl(X509_get0_notBefore(x), &cert->not_before_) ||
      !Asn1TimeToAbsl(X509_get0_notAfter(x), &cert->not_after_)) {
    return fail(kCertMalformed, "unparsable validity time");
  }

  int ok = 0;
  cert->subject_hash_ = X509_NAME_hash_ex(cert->subject(), nullptr, nullptr, &ok);
  cert->issuer_hash_ = X509_NAME_hash_ex(cert->issuer(), nullptr, nullptr, &ok);
  cert->self_issued_ = X509_NAME_cmp(cert->subject(), cert->issuer()) == 0;
  if (X509_NAME_entry_count(cert->issuer()) == 0) {
    return fail(kCertEmptyIssuer, "empty issuer name (RFC 5280 4.1.2.4)");
  }

  // Extensions (RFC 5280 4.2).
  for (int i = 0; i < X509_get_ext_count(x); ++i) {
    X509_EXTENSION* ext = X509_get_ext(x, i);
    const int nid = OBJ_obj2nid(X509_EXTENSION_get_object(ext));
    const bool critical = X509_EXTENSION_get_critical(ext) != 0;
    if (nid == NID_basic_constraints) {
      cert->has_basic_constraints_ = true;
      cert->basic_constraints_critical_ = critical;
    } else if (nid == NID_subject_alt_name) {
      cert->has_sans_ = true;
      cert->sans_critical_ = critical;
    }
    if (critical && !IsHandledExtension(nid)) {
      cert->unhandled_critical_extensions_.push_back(
          OidToString(X509_EXTENSION_get_object(ext)));
    }
  }
  cert->is_ca_ = (flags & EXFLAG_CA) != 0;
  cert->path_len_ = static_cast<int>(X509_get_pathlen(x));
  if (flags & EXFLAG_KUSAGE) cert->key_usage_ = X509_get_key_usage(x);

  int crit = 0;
  if (auto* eku = static_cast<EXTENDED_KEY_USAGE*>(
          X509_get_ext_d2i(x, NID_ext_key_usage, &crit, nullptr))) {
    std::vector<int> nids;
    for (int i = 0; i < sk_ASN1_OBJECT_num(eku); ++i) {
      nids.push_back(OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, i)));
    }
    cert->extended_key_usage_ = std::move(nids);
    EXTENDED_KEY_USAGE_free(eku);
  } else if (crit != -1) {
    return fail(kCertInvalidExtension, "malformed extendedKeyUsage");
  }

  if (const ASN1_OCTET_STRING* ski = X509_get0_subject_key_id(x)) {
    cert->ski_ = std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(ski)),
                             ASN1_STRING_length(ski));
  }
  if (const ASN1_OCTET_STRING* aki = X509_get0_authority_key_id(x)) {
    cert->aki_ = std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(aki)),
                             ASN1_STRING_length(aki));
  }

  if (cert->has_sans_) {
    auto* names = static_cast<GENERAL_NAMES*>(
        X509_get_ext_d2i(x, NID_subject_alt_name, &crit, nullptr));
    if (names == nullptr) return fail(kCertSanInvalid, "malformed subjectAltName");
    absl::StatusOr<GeneralNames> parsed = ParseGeneralNames(names);
    GENERAL_NAMES_free(names);
    if (!parsed.ok()) {
      return fail(kCertSanInvalid, std::string(parsed.status().message()));
    }
    // RFC 5280 4.2.1.6: if present, the extension holds at least one name.
    if (parsed->empty()) return fail(kCertSanInvalid, "empty subjectAltName");
    cert->sans_ = *std::move(parsed);
  }

  crit = 0;
  cert->name_constraints_.reset(static_cast<NAME_CONSTRAINTS*>(
      X509_get_ext_d2i(x, NID_name_constraints, &crit, nullptr)));
  if (cert->name_constraints_ == nullptr && crit != -1) {
    return fail(kNameConstraintsInvalid, "malformed nameConstraints");
  }

  return cert;
}

}  // namespace chainverify::pki
