#include "server/pki/ocsp.h"

#include <map>
#include <memory>
#include <optional>
#include <utility>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/pki/aia.h"

namespace chainverify::pki {
namespace {

template <typename T, void (*Free)(T*)>
using Owned = std::unique_ptr<T, OpenSslDeleter<T, Free>>;

using OcspResponsePtr = Owned<OCSP_RESPONSE, OCSP_RESPONSE_free>;
using OcspBasicRespPtr = Owned<OCSP_BASICRESP, OCSP_BASICRESP_free>;
using OcspCertIdPtr = Owned<OCSP_CERTID, OCSP_CERTID_free>;
using OcspRequestPtr = Owned<OCSP_REQUEST, OCSP_REQUEST_free>;

RevocationCheck Unknown(std::string diagnostic) {
  RevocationCheck result;
  result.state = RevocationState::kUnknown;
  result.diagnostic = std::move(diagnostic);
  ERR_clear_error();
  return result;
}

// RFC 6960 4.2.1: the OCSPResponse, as DER with nothing after it.
OcspResponsePtr DecodeResponse(absl::string_view der, std::string* error) {
  if (der.empty()) {
    *error = "empty OCSP response";
    return nullptr;
  }
  if (der.size() > kMaxOcspResponseBytes) {
    *error = absl::StrCat("OCSP response of ", der.size(),
                          " bytes is larger than the limit of ",
                          kMaxOcspResponseBytes);
    return nullptr;
  }
  const unsigned char* begin = reinterpret_cast<const unsigned char*>(der.data());
  const unsigned char* p = begin;
  OcspResponsePtr response(d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(der.size())));
  if (response == nullptr) {
    *error = absl::StrCat("not a DER OCSPResponse (RFC 6960 4.2.1): ",
                          DrainOpenSslErrors());
    return nullptr;
  }
  if (p != begin + der.size()) {
    *error = "trailing data after the OCSPResponse (RFC 6960 4.2.1)";
    return nullptr;
  }
  return response;
}

// RFC 6960 4.2.1: only a "successful" responseStatus carries responseBytes;
// the others (malformedRequest, internalError, tryLater, sigRequired,
// unauthorized) say nothing about the certificate. Empty when successful.
std::string ResponseStatusProblem(OCSP_RESPONSE* response) {
  const int status = OCSP_response_status(response);
  if (status == OCSP_RESPONSE_STATUS_SUCCESSFUL) return "";
  return absl::StrCat("OCSP responseStatus is ", OCSP_response_status_str(status),
                      " (", status, "), not successful (RFC 6960 4.2.1)");
}

// RFC 6960 4.4: "unrecognized extensions MUST be ignored (unless they have the
// critical flag set and are not understood)". The nonce (4.4.1) is the only
// response extension recognized. Empty when there is no such extension.
template <typename T>
std::string UnrecognizedCriticalExtension(T* x, int (*count)(T*),
                                          X509_EXTENSION* (*get)(T*, int),
                                          bool nonce_recognized) {
  const int n = count(x);
  for (int i = 0; i < n; ++i) {
    X509_EXTENSION* ext = get(x, i);
    if (!X509_EXTENSION_get_critical(ext)) continue;
    const ASN1_OBJECT* obj = X509_EXTENSION_get_object(ext);
    if (nonce_recognized && OBJ_obj2nid(obj) == NID_id_pkix_OCSP_Nonce) continue;
    return OidToDescription(obj);
  }
  return "";
}

// RFC 6960 4.2.1: the signature over the DER tbsResponseData verifies with
// `key`.
bool SignatureVerifies(OCSP_BASICRESP* basic, EVP_PKEY* key) {
  if (key == nullptr) return false;
  const int ok = ASN1_item_verify(
      ASN1_ITEM_rptr(OCSP_RESPDATA), OCSP_resp_get0_tbs_sigalg(basic),
      OCSP_resp_get0_signature(basic), OCSP_resp_get0_respdata(basic), key);
  ERR_clear_error();
  return ok == 1;
}

// RFC 6960 4.2.2.3: the responderID names `x`: byName, its subject; byKey, the
// SHA-1 hash of its subjectPublicKey BIT STRING value.
bool ResponderIdNames(const OCSP_BASICRESP* basic, const X509* x) {
  const ASN1_OCTET_STRING* key_hash = nullptr;
  const X509_NAME* name = nullptr;
  if (OCSP_resp_get0_id(basic, &key_hash, &name) != 1) return false;
  if (name != nullptr) {
    return X509_NAME_cmp(name, X509_get_subject_name(x)) == 0;
  }
  if (key_hash == nullptr) return false;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  if (X509_pubkey_digest(x, EVP_sha1(), md, &md_len) != 1) {
    ERR_clear_error();
    return false;
  }
  return static_cast<unsigned int>(ASN1_STRING_length(key_hash)) == md_len &&
         CRYPTO_memcmp(ASN1_STRING_get0_data(key_hash), md, md_len) == 0;
}

std::string ResponderIdText(const OCSP_BASICRESP* basic) {
  const ASN1_OCTET_STRING* key_hash = nullptr;
  const X509_NAME* name = nullptr;
  if (OCSP_resp_get0_id(basic, &key_hash, &name) != 1) return "?";
  if (name != nullptr) return absl::StrCat("byName ", NameToString(name));
  if (key_hash == nullptr) return "?";
  return absl::StrCat(
      "byKey ", HexEncode(absl::string_view(
                    reinterpret_cast<const char*>(ASN1_STRING_get0_data(key_hash)),
                    ASN1_STRING_length(key_hash))));
}

// RFC 6960 4.2.2.2: whether `responder`, a certificate from the response's
// `certs`, is a delegated responder of `issuer` at `time`. Empty when it is,
// with `parsed` set (the caller judges it further) and `nocheck` set when it
// carries id-pkix-ocsp-nocheck (4.2.2.2.1).
std::string DelegatedResponderProblem(X509* responder, const Certificate& issuer,
                                      absl::Time time, CertificatePtr* parsed,
                                      bool* nocheck) {
  unsigned char* der = nullptr;
  const int len = i2d_X509(responder, &der);
  if (len <= 0) return "does not encode";
  ParseError parse_error;
  CertificatePtr cert =
      Certificate::Parse(absl::string_view(reinterpret_cast<char*>(der), len),
                         &parse_error);
  OPENSSL_free(der);
  if (cert == nullptr) {
    return absl::StrCat("does not parse: ", parse_error.diagnostic);
  }
  // "Issued directly by the CA that is identified in the request."
  if (X509_NAME_cmp(cert->issuer(), issuer.subject()) != 0) {
    return absl::StrCat("is issued by ", NameToString(cert->issuer()),
                        ", not by the certificate's issuer");
  }
  const int signed_by_issuer = X509_verify(cert->x509(), issuer.public_key());
  ERR_clear_error();
  if (signed_by_issuer != 1) {
    return "its signature does not verify with the issuer's key";
  }
  // "The responder's certificate MUST contain id-kp-OCSPSigning in extKeyUsage."
  const auto& eku = cert->extended_key_usage();
  bool ocsp_signing = false;
  if (eku.has_value()) {
    for (int nid : *eku) ocsp_signing |= nid == NID_OCSP_sign;
  }
  if (!ocsp_signing) {
    return "has no id-kp-OCSPSigning extended key usage (RFC 6960 4.2.2.2)";
  }
  if (cert->key_usage().has_value() &&
      (*cert->key_usage() & kKeyUsageDigitalSignature) == 0) {
    return "its keyUsage lacks digitalSignature (RFC 5280 4.2.1.3)";
  }
  if (!cert->unhandled_critical_extensions().empty()) {
    return absl::StrCat("has unhandled critical extensions: ",
                        absl::StrJoin(cert->unhandled_critical_extensions(), ", "));
  }
  if (time < cert->not_before()) {
    return absl::StrCat("is not valid before ", TimeToString(cert->not_before()));
  }
  if (time > cert->not_after()) {
    return absl::StrCat("expired at ", TimeToString(cert->not_after()));
  }
  *nocheck = X509_get_ext_by_NID(cert->x509(), NID_id_pkix_OCSP_noCheck, -1) >= 0;
  *parsed = std::move(cert);
  return "";
}

// Who signed the response, once authorized.
struct Signer {
  std::string name;    // RFC 2253 subject.
  bool nocheck = false;
  CertificatePtr delegated;  // The delegated responder's certificate, or null.
};

// RFC 6960 4.2.2.2: the response must be signed by the issuer itself or by a
// delegated responder it authorized; both are found through the responderID
// (4.2.2.3). Returns false with `why` when neither signed it.
bool FindAuthorizedSigner(OCSP_BASICRESP* basic, const Certificate& issuer,
                          absl::Time time, Signer* signer, std::string* why) {
  std::vector<std::string> problems;
  if (ResponderIdNames(basic, issuer.x509())) {
    if (SignatureVerifies(basic, issuer.public_key())) {
      signer->name = NameToString(issuer.subject());
      return true;
    }
    problems.push_back("the responderID names the issuer but the signature "
                       "does not verify with the issuer's key");
  }
  const STACK_OF(X509)* certs = OCSP_resp_get0_certs(basic);
  bool any_named = false;
  for (int i = 0; i < sk_X509_num(certs); ++i) {
    X509* candidate = sk_X509_value(certs, i);
    if (!ResponderIdNames(basic, candidate)) continue;
    if (X509_cmp(candidate, issuer.x509()) == 0) continue;  // Tried above.
    any_named = true;
    const std::string candidate_name =
        NameToString(X509_get_subject_name(candidate));
    bool nocheck = false;
    CertificatePtr parsed;
    const std::string problem =
        DelegatedResponderProblem(candidate, issuer, time, &parsed, &nocheck);
    if (!problem.empty()) {
      problems.push_back(absl::StrCat("responder certificate ", candidate_name,
                                      " ", problem));
      continue;
    }
    if (!SignatureVerifies(basic, X509_get0_pubkey(candidate))) {
      problems.push_back(absl::StrCat("the signature does not verify with the key "
                                      "of responder certificate ",
                                      candidate_name));
      continue;
    }
    signer->name = candidate_name;
    signer->nocheck = nocheck;
    signer->delegated = std::move(parsed);
    return true;
  }
  if (!any_named && problems.empty()) {
    problems.push_back(absl::StrCat("responderID ", ResponderIdText(basic),
                                    " names neither the issuer nor a "
                                    "certificate in the response"));
  }
  *why = absl::StrCat(
      "response not signed by the issuer or a delegated responder "
      "(RFC 6960 4.2.2.2): ",
      absl::StrJoin(problems, "; "));
  return false;
}

// RFC 6960 4.1.1: the CertIDs of `cert` under each hash algorithm seen, so
// that a SingleResponse matches when its hashAlgorithm, issuerNameHash,
// issuerKeyHash and serialNumber all equal ours.
class CertIdMatcher {
 public:
  CertIdMatcher(const Certificate& cert, const Certificate& issuer)
      : cert_(cert), issuer_(issuer) {}

  // Sets `note` when the hash algorithm is not supported.
  bool Matches(const OCSP_CERTID* id, std::string* note) {
    ASN1_OBJECT* hash_oid = nullptr;
    ASN1_INTEGER* serial = nullptr;
    // OCSP_id_get0_info only reads `id`, but is not declared const.
    if (OCSP_id_get0_info(nullptr, &hash_oid, nullptr, &serial,
                          const_cast<OCSP_CERTID*>(id)) != 1 ||
        hash_oid == nullptr || serial == nullptr) {
      return false;
    }
    // The serial number first: it rules out most SingleResponses cheaply.
    if (ASN1_INTEGER_cmp(serial, X509_get0_serialNumber(cert_.x509())) != 0) {
      return false;
    }
    const int nid = OBJ_obj2nid(hash_oid);
    auto it = ids_.find(nid);
    if (it == ids_.end()) {
      const EVP_MD* md = nid == NID_undef ? nullptr : EVP_get_digestbynid(nid);
      OcspCertIdPtr ours;
      if (md != nullptr) ours.reset(OCSP_cert_to_id(md, cert_.x509(), issuer_.x509()));
      ERR_clear_error();
      it = ids_.emplace(nid, std::move(ours)).first;
    }
    if (it->second == nullptr) {
      *note = absl::StrCat("a SingleResponse for the serial number uses the "
                           "unsupported CertID hash algorithm ",
                           OidToDescription(hash_oid));
      return false;
    }
    return OCSP_id_cmp(id, it->second.get()) == 0;
  }

 private:
  const Certificate& cert_;
  const Certificate& issuer_;
  std::map<int, OcspCertIdPtr> ids_;  // By digest NID; null when unsupported.
};

// RFC 6960 4.2.2.1: whether the SingleResponse is current at `time`. Empty
// when it is, else why not. (A thisUpdate after the time is handled before.)
std::string StalenessProblem(absl::Time this_update,
                             std::optional<absl::Time> next_update,
                             absl::Time time, const OcspOptions& options) {
  if (next_update.has_value()) {
    if (*next_update < this_update) {
      return absl::StrCat("nextUpdate ", TimeToString(*next_update),
                          " is before thisUpdate ", TimeToString(this_update));
    }
    if (time > *next_update + options.clock_skew) {
      return absl::StrCat("stale response: nextUpdate ", TimeToString(*next_update),
                          " has passed (RFC 6960 4.2.2.1)");
    }
    return "";
  }
  if (time > this_update + options.max_age_without_next_update + options.clock_skew) {
    return absl::StrCat("stale response: no nextUpdate and thisUpdate ",
                        TimeToString(this_update), " is older than ",
                        absl::FormatDuration(options.max_age_without_next_update),
                        " (RFC 6960 4.2.2.1)");
  }
  return "";
}

// What the SingleResponses about the certificate say.
struct Findings {
  bool revoked = false;
  int reason = kCrlReasonUnspecified;
  std::string revoked_text;
  bool good = false;  // A current "good".
  std::string good_text;
  bool unknown = false;  // A current "unknown".
  std::vector<std::string> notes;
};

// RFC 6960 4.2.1 (certStatus, revokedInfo) and 4.2.2.1 (freshness): one
// SingleResponse that matched the certificate.
void EvaluateSingleResponse(OCSP_SINGLERESP* single, absl::Time time,
                            const OcspOptions& options, Findings* findings) {
  const std::string critical = UnrecognizedCriticalExtension(
      single, OCSP_SINGLERESP_get_ext_count, OCSP_SINGLERESP_get_ext,
      /*nonce_recognized=*/false);
  if (!critical.empty()) {
    findings->notes.push_back(absl::StrCat(
        "a SingleResponse has the unrecognized critical extension ", critical,
        " (RFC 6960 4.4)"));
    return;
  }
  int reason = OCSP_REVOKED_STATUS_NOSTATUS;
  ASN1_GENERALIZEDTIME* revocation_time = nullptr;
  ASN1_GENERALIZEDTIME* this_update_asn1 = nullptr;
  ASN1_GENERALIZEDTIME* next_update_asn1 = nullptr;
  const int status = OCSP_single_get0_status(single, &reason, &revocation_time,
                                             &this_update_asn1, &next_update_asn1);
  absl::Time this_update;
  std::optional<absl::Time> next_update;
  if (!Asn1TimeToAbsl(this_update_asn1, &this_update)) {
    findings->notes.push_back("a SingleResponse has an unparsable thisUpdate");
    return;
  }
  if (next_update_asn1 != nullptr) {
    absl::Time t;
    if (!Asn1TimeToAbsl(next_update_asn1, &t)) {
      findings->notes.push_back("a SingleResponse has an unparsable nextUpdate");
      return;
    }
    next_update = t;
  }
  // 4.2.2.1: "thisUpdate ... sufficiently recent", never in the future.
  if (this_update > time + options.clock_skew) {
    findings->notes.push_back(absl::StrCat("thisUpdate ", TimeToString(this_update),
                                           " is after the time ", TimeToString(time),
                                           " (RFC 6960 4.2.2.1)"));
    return;
  }
  const std::string stale = StalenessProblem(this_update, next_update, time, options);
  switch (status) {
    case V_OCSP_CERTSTATUS_REVOKED: {
      // Sticky, stale or not (see ocsp.h). revocationReason is optional
      // (4.2.1); without it the reason is unspecified, as for CRL entries.
      const int code = reason == OCSP_REVOKED_STATUS_NOSTATUS
                           ? kCrlReasonUnspecified
                           : reason;
      absl::Time revoked_at;
      const std::string at = Asn1TimeToAbsl(revocation_time, &revoked_at)
                                 ? TimeToString(revoked_at)
                                 : "?";
      if (!findings->revoked || (findings->reason == kCrlReasonCertificateHold &&
                                 code != kCrlReasonCertificateHold)) {
        findings->revoked = true;
        findings->reason = code;
        findings->revoked_text = absl::StrCat(
            "revoked at ", at, ", reason ", CrlReasonName(code),
            stale.empty() ? "" : absl::StrCat(" (", stale, ", but revocation is final)"));
      }
      return;
    }
    case V_OCSP_CERTSTATUS_GOOD:
      if (!stale.empty()) {
        findings->notes.push_back(stale);
        return;
      }
      findings->good = true;
      findings->good_text = absl::StrCat(
          "certStatus good, thisUpdate ", TimeToString(this_update),
          next_update.has_value() ? absl::StrCat(", nextUpdate ", TimeToString(*next_update))
                                  : ", no nextUpdate");
      return;
    case V_OCSP_CERTSTATUS_UNKNOWN:
      if (stale.empty()) findings->unknown = true;
      findings->notes.push_back(
          "the responder does not know the certificate (certStatus unknown, "
          "RFC 6960 2.2)");
      return;
    default:
      findings->notes.push_back("a SingleResponse has an unrecognized certStatus");
      return;
  }
}

}  // namespace

RevocationCheck CheckOcspResponse(absl::string_view ocsp_response_der,
                                  const Certificate& cert,
                                  const Certificate& issuer, absl::Time time,
                                  const OcspOptions& options) {
  std::string error;
  OcspResponsePtr response = DecodeResponse(ocsp_response_der, &error);
  if (response == nullptr) return Unknown(std::move(error));
  if (std::string problem = ResponseStatusProblem(response.get()); !problem.empty()) {
    return Unknown(std::move(problem));
  }
  // 4.2.1: "Conforming clients MUST be capable of receiving and processing
  // responses of the id-pkix-ocsp-basic response type."
  OcspBasicRespPtr basic(OCSP_response_get1_basic(response.get()));
  if (basic == nullptr) {
    return Unknown(absl::StrCat(
        "OCSP responseBytes is not a decodable id-pkix-ocsp-basic response "
        "(RFC 6960 4.2.1): ",
        DrainOpenSslErrors()));
  }

  Signer signer;
  if (!FindAuthorizedSigner(basic.get(), issuer, time, &signer, &error)) {
    return Unknown(std::move(error));
  }
  const std::string critical = UnrecognizedCriticalExtension(
      basic.get(), OCSP_BASICRESP_get_ext_count, OCSP_BASICRESP_get_ext,
      /*nonce_recognized=*/true);
  if (!critical.empty()) {
    return Unknown(absl::StrCat("OCSP response from ", signer.name,
                                " has the unrecognized critical extension ",
                                critical, " (RFC 6960 4.4)"));
  }

  // 4.2.2.3 / 4.1.1: the SingleResponses about this certificate.
  CertIdMatcher matcher(cert, issuer);
  Findings findings;
  int matched = 0;
  const int count = OCSP_resp_count(basic.get());
  for (int i = 0; i < count; ++i) {
    OCSP_SINGLERESP* single = OCSP_resp_get0(basic.get(), i);
    std::string note;
    if (!matcher.Matches(OCSP_SINGLERESP_get0_id(single), &note)) {
      if (!note.empty()) findings.notes.push_back(std::move(note));
      continue;
    }
    ++matched;
    EvaluateSingleResponse(single, time, options, &findings);
  }
  ERR_clear_error();

  const std::string by =
      signer.delegated != nullptr
          ? absl::StrCat("delegated responder ", signer.name,
                         signer.nocheck ? " (id-pkix-ocsp-nocheck)" : "")
          : absl::StrCat("issuer ", signer.name);
  RevocationCheck result;
  result.delegated_responder = signer.delegated;
  result.responder_nocheck = signer.nocheck;
  if (findings.revoked) {
    result.state = RevocationState::kRevoked;
    result.source = absl::StrCat("ocsp:", signer.name);
    result.reason = findings.reason;
    result.diagnostic = absl::StrCat(findings.revoked_text, ", OCSP response signed by ", by);
    return result;
  }
  if (findings.good && !findings.unknown) {
    result.state = RevocationState::kGood;
    result.source = absl::StrCat("ocsp:", signer.name);
    result.diagnostic = absl::StrCat(findings.good_text, ", OCSP response signed by ", by);
    return result;
  }
  if (matched == 0) {
    findings.notes.insert(
        findings.notes.begin(),
        absl::StrCat("OCSP response from ", signer.name, " has no SingleResponse for "
                     "the certificate's CertID (RFC 6960 4.1.1) among ", count));
  } else if (findings.good && findings.unknown) {
    findings.notes.push_back("contradictory SingleResponses (good and unknown)");
  }
  return Unknown(absl::StrJoin(findings.notes, "; "));
}

absl::StatusOr<std::string> BuildOcspRequest(const Certificate& cert,
                                             const Certificate& issuer) {
  // 4.1.1: issuerNameHash is over the issuer name of the certificate being
  // checked, which OpenSSL takes from the issuer's subject.
  if (X509_NAME_cmp(cert.issuer(), issuer.subject()) != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the certificate's issuer ", NameToString(cert.issuer()),
        " is not the subject of the given issuer ", NameToString(issuer.subject())));
  }
  OcspCertIdPtr id(OCSP_cert_to_id(EVP_sha1(), cert.x509(), issuer.x509()));
  OcspRequestPtr request(OCSP_REQUEST_new());
  if (id == nullptr || request == nullptr) {
    return absl::InternalError(absl::StrCat("building the OCSP CertID: ",
                                            DrainOpenSslErrors()));
  }
  // OCSP_request_add0_id takes ownership of the CertID only when it succeeds.
  if (OCSP_request_add0_id(request.get(), id.get()) == nullptr) {
    return absl::InternalError(absl::StrCat("building the OCSP request: ",
                                            DrainOpenSslErrors()));
  }
  id.release();
  unsigned char* der = nullptr;
  const int len = i2d_OCSP_REQUEST(request.get(), &der);
  if (len <= 0) {
    return absl::InternalError(absl::StrCat("encoding the OCSP request: ",
                                            DrainOpenSslErrors()));
  }
  std::string out(reinterpret_cast<char*>(der), len);
  OPENSSL_free(der);
  return out;
}

std::vector<std::string> OcspResponderUrls(const Certificate& cert) {
  return AuthorityInfoAccessUrls(cert, NID_ad_OCSP);
}

}  // namespace chainverify::pki
