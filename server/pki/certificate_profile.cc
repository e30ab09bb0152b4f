#include "server/pki/certificate_profile.h"

#include <openssl/x509v3.h>

#include "absl/strings/str_cat.h"
#include "server/pki/public_suffix_list.h"
#include "server/pki/web_pki_names.h"

namespace chainverify::pki {
namespace {

// Criticality of the extension with `nid`, or -1 when absent.
int Criticality(const Certificate& cert, int nid) {
  const int index = X509_get_ext_by_NID(cert.x509(), nid, -1);
  if (index < 0) return -1;
  return X509_EXTENSION_get_critical(X509_get_ext(cert.x509(), index)) ? 1 : 0;
}

// One signature check; only asked of anchors without an AKI, which come
// from the policy's trust store, never from a request.
bool IsSignedByOwnKey(const Certificate& cert) {
  return cert.public_key() != nullptr && X509_verify(cert.x509(), cert.public_key()) == 1;
}

bool HasEmptySubject(const Certificate& cert) {
  return X509_NAME_entry_count(cert.subject()) == 0;
}

// RFC 5280 4.1.2.2: a positive integer of at most 20 octets. Not applied to
// anchors: long-lived roots with serial 0 or negative serials are still in
// root stores, and an anchor is trusted for its name and key.
void CheckSerialNumber(const Certificate& cert, CertRole role, int i, CertErrors* errors) {
  if (role == CertRole::kAnchor) return;
  const ASN1_INTEGER* serial = X509_get0_serialNumber(cert.x509());
  const int length = ASN1_STRING_length(serial);
  if (ASN1_STRING_type(serial) == V_ASN1_NEG_INTEGER) {
    errors->Add(kCertSerialInvalid, i, "negative serial number (RFC 5280 4.1.2.2)");
  } else if (length == 0 || (length == 1 && ASN1_STRING_get0_data(serial)[0] == 0)) {
    errors->Add(kCertSerialInvalid, i, "serial number zero (RFC 5280 4.1.2.2)");
  } else if (length > 20) {
    errors->Add(kCertSerialInvalid, i, "serial number longer than 20 octets (RFC 5280 4.1.2.2)");
  }
}

// RFC 5280 4.2.1.1: authorityKeyIdentifier.
void CheckAuthorityKeyId(const Certificate& cert, CertRole role, Profile profile,
                         int i, CertErrors* errors) {
  const int critical = Criticality(cert, NID_authority_key_identifier);
  if (critical == 1) {
    errors->Add(kCertAkiInvalid, i, "authorityKeyIdentifier must be non-critical (RFC 5280 4.2.1.1)");
  }
  // Required in every certificate a CA issues; a CA that distributes its key
  // as a self-signed certificate may omit it. An anchor counts as self-signed
  // when its signature verifies under its own key, even under a changed issuer
  // name (a re-issued root); a cross-certificate does not.
  if (!cert.IsSelfIssued() && !cert.authority_key_id() &&
      !(role == CertRole::kAnchor && IsSignedByOwnKey(cert))) {
    errors->Add(kCertAkiInvalid, i,
                "authorityKeyIdentifier keyIdentifier is required (RFC 5280 4.2.1.1)");
  }
  // CA/B BR 7.1.2.1.3: a root's AKI, when present, is just its own key id.
  if (profile == Profile::kWebPki && role == CertRole::kAnchor && critical >= 0 &&
      cert.IsSelfIssued()) {
    auto* aki = static_cast<AUTHORITY_KEYID*>(
        X509_get_ext_d2i(cert.x509(), NID_authority_key_identifier, nullptr, nullptr));
    const bool bad = aki == nullptr || aki->keyid == nullptr || aki->issuer != nullptr ||
                     aki->serial != nullptr || !cert.subject_key_id() ||
                     *cert.authority_key_id() != *cert.subject_key_id();
    AUTHORITY_KEYID_free(aki);
    if (bad) {
      errors->Add(kCertAkiInvalid, i,
                  "a root's authorityKeyIdentifier must hold only its own key identifier "
                  "(CA/B BR 7.1.2.1.3)");
    }
  }
}

// RFC 5280 4.2.1.2: subjectKeyIdentifier.
void CheckSubjectKeyId(const Certificate& cert, int i, CertErrors* errors) {
  const int critical = Criticality(cert, NID_subject_key_identifier);
  if (critical == 1) {
    errors->Add(kCertSkiInvalid, i, "subjectKeyIdentifier must be non-critical (RFC 5280 4.2.1.2)");
  }
  if (cert.is_ca() && critical < 0) {
    errors->Add(kCertSkiMissing, i, "CA certificates must carry subjectKeyIdentifier (RFC 5280 4.2.1.2)");
  }
}

// RFC 5280 4.2.1.6 and CA/B BR 7.1.2.7.12: subjectAltName criticality.
void CheckSubjectAltName(const Certificate& cert, CertRole role, Profile profile, int i,
                         CertErrors* errors) {
  if (HasEmptySubject(cert)) {
    if (!cert.has_subject_alt_names() || !cert.subject_alt_names_critical()) {
      errors->Add(kCertSanInvalid, i,
                  "with an empty subject, subjectAltName must be present and critical "
                  "(RFC 5280 4.2.1.6)");
    }
  } else if (profile == Profile::kWebPki && role == CertRole::kLeaf &&
             cert.subject_alt_names_critical()) {
    errors->Add(kCertSanInvalid, i,
                "subjectAltName must not be critical when the subject is not empty "
                "(CA/B BR 7.1.2.7.12)");
  }
  if (profile == Profile::kWebPki && role == CertRole::kLeaf && !cert.has_subject_alt_names()) {
    errors->Add(kCertSanInvalid, i, "a TLS certificate must carry subjectAltName (CA/B BR 7.1.2.7.12)");
  }
}

// RFC 5280 4.2.1.9, 4.2.1.3: basicConstraints and the keyCertSign bit agree.
void CheckBasicConstraints(const Certificate& cert, int i, CertErrors* errors) {
  if (cert.is_ca() && !cert.basic_constraints_critical()) {
    errors->Add(kBasicConstraintsNotCritical, i,
                "a CA's basicConstraints must be critical (RFC 5280 4.2.1.9)");
  }
  if (!cert.is_ca() && cert.key_usage() && (*cert.key_usage() & kKeyUsageKeyCertSign)) {
    errors->Add(kKeyCertSignWithoutCa, i,
                "keyCertSign is set but basicConstraints cA is not (RFC 5280 4.2.1.9)");
  }
}

// RFC 5280 4.2.1.10, 4.2.1.11: constraints belong to CAs and are critical.
// CA/B BR 7.1.2.5.2 lets nameConstraints be non-critical, so the Web PKI
// profile accepts that.
void CheckConstraintExtensions(const Certificate& cert, Profile profile, int i,
                               CertErrors* errors) {
  const int name_constraints = Criticality(cert, NID_name_constraints);
  if (!cert.is_ca() && name_constraints >= 0) {
    errors->Add(kNameConstraintsInEndEntity, i,
                "nameConstraints must be used only in CA certificates (RFC 5280 4.2.1.10)");
  } else if (profile == Profile::kRfc5280 && name_constraints == 0) {
    errors->Add(kNameConstraintsInvalid, i,
                "nameConstraints must be critical (RFC 5280 4.2.1.10)");
  }
  if (Criticality(cert, NID_policy_constraints) == 0) {
    errors->Add(kPolicyInvalid, i, "policyConstraints must be critical (RFC 5280 4.2.1.11)");
  }
}

// RFC 5280 4.2.2.1: AuthorityInfoAccessSyntax is SEQUENCE SIZE (1..MAX).
void CheckAuthorityInfoAccess(const Certificate& cert, int i, CertErrors* errors) {
  int critical = 0;
  auto* aia = static_cast<AUTHORITY_INFO_ACCESS*>(
      X509_get_ext_d2i(cert.x509(), NID_info_access, &critical, nullptr));
  if (aia == nullptr) {
    if (critical != -1) errors->Add(kCertAiaInvalid, i, "authorityInfoAccess does not decode");
    return;
  }
  if (sk_ACCESS_DESCRIPTION_num(aia) == 0) {
    errors->Add(kCertAiaInvalid, i,
                "authorityInfoAccess must hold at least one AccessDescription (RFC 5280 4.2.2.1)");
  }
  AUTHORITY_INFO_ACCESS_free(aia);
}

// RFC 5480 2.1.1: EC keys name their curve; specifiedCurve MUST NOT be used.
// CA/B BR 6.1.5: RSA moduli are a multiple of 8 bits.
void CheckKeyEncoding(const Certificate& cert, Profile profile, int i, CertErrors* errors) {
  EVP_PKEY* key = cert.public_key();
  if (EVP_PKEY_get_base_id(key) == EVP_PKEY_EC) {
    ASN1_OBJECT* alg = nullptr;
    const void* param = nullptr;
    int param_type = 0;
    X509_ALGOR* algor = nullptr;
    if (X509_PUBKEY_get0_param(&alg, nullptr, nullptr, &algor,
                               X509_get_X509_PUBKEY(cert.x509())) == 1) {
      X509_ALGOR_get0(nullptr, &param_type, &param, algor);
    }
    if (param_type != V_ASN1_OBJECT) {
      errors->Add(kPublicKeyInvalid, i,
                  "EC public keys must use a named curve, not explicit parameters (RFC 5480 2.1.1)");
    }
  }
  if (profile == Profile::kWebPki && EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA &&
      EVP_PKEY_get_bits(key) % 8 != 0) {
    errors->Add(kPublicKeyDisallowed, i,
                absl::StrCat("RSA modulus of ", EVP_PKEY_get_bits(key),
                             " bits is not a multiple of 8 (CA/B BR 6.1.5)"));
  }
}

// CA/B BR 7.1.2.7.6, 7.1.2.7.8, 7.1.2.7.10, 7.1.2.1.2: extendedKeyUsage and
// basicConstraints by role.
void CheckWebPkiRoleExtensions(const Certificate& cert, CertRole role, int i,
                               CertErrors* errors) {
  const int critical = Criticality(cert, NID_ext_key_usage);
  if (role == CertRole::kLeaf) {
    // A cA=TRUE leaf is a CA certificate, judged by usage.leaf_is_ca in the
    // path (verify_certificate_chain.cc); its EKU is optional as for any CA.
    if (critical < 0 && !cert.is_ca()) {
      errors->Add(kExtendedKeyUsageMissing, i,
                  "a TLS certificate must carry extendedKeyUsage (CA/B BR 7.1.2.7.6)");
    } else if (critical == 1) {
      errors->Add(kExtendedKeyUsageCritical, i,
                  "extendedKeyUsage must not be critical (CA/B BR 7.1.2.7.6)");
    }
    if (cert.extended_key_usage()) {
      for (int nid : *cert.extended_key_usage()) {
        if (nid == NID_anyExtendedKeyUsage) {
          errors->Add(kExtendedKeyUsageDisallowed, i,
                      "anyExtendedKeyUsage is forbidden in TLS certificates (CA/B BR 7.1.2.7.10)");
        }
      }
    }
  } else if (role == CertRole::kAnchor && cert.IsSelfIssued() && critical >= 0) {
    errors->Add(kCertRootExtendedKeyUsage, i,
                "a root certificate must not carry extendedKeyUsage (CA/B BR 7.1.2.1.2)");
  }
}

}  // namespace

void CheckCertificateProfile(const Certificate& cert, CertRole role, Profile profile,
                             int chain_index, CertErrors* errors) {
  CheckSerialNumber(cert, role, chain_index, errors);
  CheckAuthorityKeyId(cert, role, profile, chain_index, errors);
  CheckSubjectKeyId(cert, chain_index, errors);
  CheckSubjectAltName(cert, role, profile, chain_index, errors);
  CheckBasicConstraints(cert, chain_index, errors);
  CheckConstraintExtensions(cert, profile, chain_index, errors);
  CheckAuthorityInfoAccess(cert, chain_index, errors);
  CheckKeyEncoding(cert, profile, chain_index, errors);
  if (profile == Profile::kWebPki) CheckWebPkiRoleExtensions(cert, role, chain_index, errors);
  if (role == CertRole::kLeaf) {
    // RFC 5280 4.2.1.6 name syntax; for the Web PKI also CA/B BR 7.1.4.3 and
    // 7.1.2.7.12 (Common Name, wildcards over public suffixes).
    absl::Status names = profile == Profile::kWebPki
                             ? CheckWebPkiLeafNames(cert, PublicSuffixList::Default())
                             : CheckSanDnsSyntax(cert);
    if (!names.ok()) {
      const CertErrorId* id = WebPkiNameErrorId(names);
      errors->Add(id != nullptr ? *id : kCertSanInvalid, chain_index,
                  std::string(names.message()));
    }
  }
}

}  // namespace chainverify::pki
