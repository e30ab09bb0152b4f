#include "server/pki/crl.h"

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <utility>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"

namespace chainverify::pki {
namespace {

template <typename T, void (*Free)(T*)>
using Owned = std::unique_ptr<T, OpenSslDeleter<T, Free>>;

// ReasonFlags bits (RFC 5280 4.2.1.13) as a mask: bit n is ReasonFlags bit n.
// Bit 0 ("unused") is no reason; all-reasons is keyCompromise (1) through
// aACompromise (8) (RFC 5280 6.3.2 (b)).
constexpr uint32_t kAllReasons = 0x1FE;

// RFC 5280 5.2.3: CRL verifiers MUST handle cRLNumber values up to 20 octets.
constexpr size_t kMaxCrlNumberOctets = 20;

// Big-endian magnitude of an INTEGER, without leading zero octets.
std::string Magnitude(const ASN1_INTEGER* i) {
  const unsigned char* data = ASN1_STRING_get0_data(i);
  const int len = ASN1_STRING_length(i);
  int start = 0;
  while (start < len && data[start] == 0) ++start;
  return std::string(reinterpret_cast<const char*>(data) + start, len - start);
}

bool IsNegative(const ASN1_INTEGER* i) {
  return ASN1_STRING_type(i) == V_ASN1_NEG_INTEGER;
}

// A key that equal serial numbers share (RFC 5280 5.1.2.6: matched with the
// certificate's serialNumber).
std::string SerialKey(const ASN1_INTEGER* serial) {
  return absl::StrCat(IsNegative(serial) ? "-" : "+", Magnitude(serial));
}

std::string ToDecimal(const ASN1_INTEGER* i) {
  Owned<BIGNUM, BN_free> bn(ASN1_INTEGER_to_BN(i, nullptr));
  if (bn == nullptr) return "?";
  char* text = BN_bn2dec(bn.get());
  if (text == nullptr) return "?";
  std::string out(text);
  OPENSSL_free(text);
  return out;
}

// Compares two non-negative magnitudes from Magnitude().
int CompareNumbers(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
  return a.compare(b);
}

// Decodes the whole extnValue of `ext` as a T; null when it does not decode or
// has trailing data.
template <typename T, void (*Free)(T*)>
Owned<T, Free> DecodeExtension(X509_EXTENSION* ext,
                               T* (*d2i)(T**, const unsigned char**, long)) {
  const ASN1_OCTET_STRING* value = X509_EXTENSION_get_data(ext);
  const unsigned char* begin = ASN1_STRING_get0_data(value);
  const long len = ASN1_STRING_length(value);
  const unsigned char* p = begin;
  Owned<T, Free> out(d2i(nullptr, &p, len));
  if (out != nullptr && p != begin + len) out.reset();
  return out;
}

// ReasonFlags (RFC 5280 4.2.1.13) as a mask like kAllReasons.
uint32_t ReasonsMask(const ASN1_BIT_STRING* bits) {
  uint32_t mask = 0;
  for (int bit = 1; bit <= 8; ++bit) {
    if (ASN1_BIT_STRING_get_bit(bits, bit)) mask |= 1u << bit;
  }
  return mask;
}

std::string ReasonsText(uint32_t mask) {
  static constexpr const char* kNames[] = {
      "unused",      "keyCompromise",        "cACompromise",
      "affiliationChanged", "superseded",    "cessationOfOperation",
      "certificateHold",    "privilegeWithdrawn", "aACompromise"};
  std::vector<std::string> names;
  for (int bit = 1; bit <= 8; ++bit) {
    if (mask & (1u << bit)) names.push_back(kNames[bit]);
  }
  return names.empty() ? "none" : absl::StrJoin(names, ", ");
}

}  // namespace

std::string CrlReasonName(int reason) {
  switch (reason) {
    case kCrlReasonUnspecified: return "unspecified";
    case kCrlReasonKeyCompromise: return "keyCompromise";
    case kCrlReasonCaCompromise: return "cACompromise";
    case kCrlReasonAffiliationChanged: return "affiliationChanged";
    case kCrlReasonSuperseded: return "superseded";
    case kCrlReasonCessationOfOperation: return "cessationOfOperation";
    case kCrlReasonCertificateHold: return "certificateHold";
    case kCrlReasonRemoveFromCrl: return "removeFromCRL";
    case kCrlReasonPrivilegeWithdrawn: return "privilegeWithdrawn";
    case kCrlReasonAaCompromise: return "aACompromise";
    default: return absl::StrCat("reason(", reason, ")");
  }
}

// One decoded CRL and the facts Check() needs, extracted once so that Check()
// only reads.
struct CrlSet::ParsedCrl {
  struct Entry {
    int reason = kCrlReasonUnspecified;
    absl::Time revocation_date;
    // Index into entry_issuers, or -1 when the entry's certificate issuer is
    // the CRL issuer (RFC 5280 5.3.3).
    int issuer_group = -1;
  };

  X509CrlPtr crl;
  int index = 0;  // Position in the input.
  std::string issuer_text;
  absl::Time this_update;
  std::optional<absl::Time> next_update;
  std::string number;  // cRLNumber magnitude (5.2.3).
  std::string number_text;
  bool is_delta = false;
  std::string base_number;  // BaseCRLNumber magnitude of a delta (5.2.4).
  std::string base_number_text;

  // issuingDistributionPoint (5.2.5). `scope` is its DER ("" when absent):
  // complete and delta CRLs of one scope carry the same extension.
  std::string scope;
  bool only_user = false;
  bool only_ca = false;
  bool only_attribute = false;
  bool indirect = false;
  uint32_t reasons = kAllReasons;
  bool has_dp_name = false;
  std::vector<std::string> dp_names;  // DER GeneralNames, directoryName aside.
  std::vector<X509NamePtr> dp_dir_names;

  std::multimap<std::string, Entry> entries;  // By SerialKey().
  // certificateIssuer directoryNames of indirect CRL entries (5.3.3).
  std::vector<std::vector<X509NamePtr>> entry_issuers;

  // Why the CRL breaks RFC 5280; empty when it does not.
  std::string problem;

  std::string Source() const {
    return absl::StrCat("crl:", issuer_text, " #",
                        number_text.empty() ? "?" : number_text);
  }
  std::string Describe() const {
    return absl::StrCat(is_delta ? "delta CRL #" : "CRL #",
                        number_text.empty() ? "?" : number_text, " from ",
                        issuer_text);
  }
};

namespace {

using ParsedCrl = CrlSet::ParsedCrl;
using Entry = CrlSet::ParsedCrl::Entry;

void AddGeneralName(const GENERAL_NAME* name, std::vector<std::string>* ders,
                    std::vector<X509NamePtr>* dir_names) {
  if (name->type == GEN_DIRNAME) {
    dir_names->emplace_back(X509_NAME_dup(name->d.directoryName));
    return;
  }
  unsigned char* der = nullptr;
  const int len = i2d_GENERAL_NAME(name, &der);
  if (len <= 0) return;
  ders->emplace_back(reinterpret_cast<char*>(der), len);
  OPENSSL_free(der);
}

// RFC 5280 5.2.5: issuingDistributionPoint.
std::string ParseIssuingDistributionPoint(X509_EXTENSION* ext, ParsedCrl* out) {
  auto idp = DecodeExtension<ISSUING_DIST_POINT, ISSUING_DIST_POINT_free>(
      ext, d2i_ISSUING_DIST_POINT);
  if (idp == nullptr) {
    return "issuingDistributionPoint does not decode (RFC 5280 5.2.5)";
  }
  const ASN1_OCTET_STRING* value = X509_EXTENSION_get_data(ext);
  out->scope.assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(value)),
                    ASN1_STRING_length(value));
  out->only_user = idp->onlyuser != 0;
  out->only_ca = idp->onlyCA != 0;
  out->only_attribute = idp->onlyattr != 0;
  out->indirect = idp->indirectCRL != 0;
  if (out->only_user + out->only_ca + out->only_attribute > 1) {
    return "issuingDistributionPoint asserts more than one of "
           "onlyContainsUserCerts, onlyContainsCACerts and "
           "onlyContainsAttributeCerts (RFC 5280 5.2.5)";
  }
  if (idp->distpoint == nullptr && idp->onlysomereasons == nullptr &&
      !out->indirect && !out->only_user && !out->only_ca &&
      !out->only_attribute) {
    return "issuingDistributionPoint is an empty sequence (RFC 5280 5.2.5)";
  }
  if (idp->onlysomereasons != nullptr) {
    out->reasons = ReasonsMask(idp->onlysomereasons);
  }
  if (idp->distpoint != nullptr) {
    out->has_dp_name = true;
    if (idp->distpoint->type == 0) {
      const GENERAL_NAMES* names = idp->distpoint->name.fullname;
      for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
        AddGeneralName(sk_GENERAL_NAME_value(names, i), &out->dp_names,
                       &out->dp_dir_names);
      }
    } else {
      // nameRelativeToCRLIssuer: appended to the CRL issuer's name (5.2.5).
      if (DIST_POINT_set_dpname(idp->distpoint,
                                X509_CRL_get_issuer(out->crl.get())) != 1 ||
          idp->distpoint->dpname == nullptr) {
        return "issuingDistributionPoint nameRelativeToCRLIssuer is invalid";
      }
      out->dp_dir_names.emplace_back(X509_NAME_dup(idp->distpoint->dpname));
    }
  }
  return "";
}

// RFC 5280 5.2: CRL extensions. Sets the cRLNumber, the delta indicator and
// the scope; refuses what a CRL user MUST NOT rely on.
std::string ParseCrlExtensions(ParsedCrl* out) {
  X509_CRL* crl = out->crl.get();
  std::set<std::string> seen;
  bool has_number = false;
  for (int i = 0; i < X509_CRL_get_ext_count(crl); ++i) {
    X509_EXTENSION* ext = X509_CRL_get_ext(crl, i);
    const ASN1_OBJECT* obj = X509_EXTENSION_get_object(ext);
    const std::string oid = OidToDescription(obj);
    if (!seen.insert(oid).second) {
      return absl::StrCat("duplicate CRL extension ", oid, " (RFC 5280 5.2)");
    }
    const bool critical = X509_EXTENSION_get_critical(ext) > 0;
    switch (OBJ_obj2nid(obj)) {
      case NID_crl_number: {
        // 5.2.3: MUST be included, MUST be non-critical, a non-negative
        // INTEGER of at most 20 octets.
        if (critical) {
          return "cRLNumber is critical; RFC 5280 5.2.3 requires it to be "
                 "non-critical";
        }
        auto number = DecodeExtension<ASN1_INTEGER, ASN1_INTEGER_free>(
            ext, d2i_ASN1_INTEGER);
        if (number == nullptr) return "cRLNumber does not decode (RFC 5280 5.2.3)";
        if (IsNegative(number.get())) return "cRLNumber is negative (RFC 5280 5.2.3)";
        out->number = Magnitude(number.get());
        if (out->number.size() > kMaxCrlNumberOctets) {
          return "cRLNumber is longer than 20 octets (RFC 5280 5.2.3)";
        }
        out->number_text = ToDecimal(number.get());
        has_number = true;
        break;
      }
      case NID_delta_crl: {
        // 5.2.4: deltaCRLIndicator is critical; BaseCRLNumber as cRLNumber.
        if (!critical) {
          return "deltaCRLIndicator is not critical (RFC 5280 5.2.4)";
        }
        auto base = DecodeExtension<ASN1_INTEGER, ASN1_INTEGER_free>(
            ext, d2i_ASN1_INTEGER);
        if (base == nullptr || IsNegative(base.get())) {
          return "deltaCRLIndicator does not hold a BaseCRLNumber (RFC 5280 5.2.4)";
        }
        out->is_delta = true;
        out->base_number = Magnitude(base.get());
        out->base_number_text = ToDecimal(base.get());
        break;
      }
      case NID_issuing_distribution_point: {
        std::string problem = ParseIssuingDistributionPoint(ext, out);
        if (!problem.empty()) return problem;
        break;
      }
      // Informational: nothing in them changes which certificates the CRL
      // covers or what its entries mean (5.2.1, 5.2.2, 5.2.6, 5.2.7).
      case NID_authority_key_identifier:
      case NID_issuer_alt_name:
      case NID_freshest_crl:
      case NID_info_access:
        break;
      default:
        // 5.2: a critical extension we cannot process makes the CRL unusable.
        if (critical) {
          return absl::StrCat("unhandled critical CRL extension ", oid,
                              " (RFC 5280 5.2)");
        }
    }
  }
  if (!has_number) return "no cRLNumber extension (RFC 5280 5.2.3 requires it)";
  if (out->is_delta && CompareNumbers(out->number, out->base_number) <= 0) {
    return absl::StrCat("delta CRL number ", out->number_text,
                        " is not above its BaseCRLNumber ", out->base_number_text,
                        " (RFC 5280 5.2.4)");
  }
  return "";
}

// RFC 5280 5.3: entry extensions, and the entries by serial number.
std::string ParseCrlEntries(ParsedCrl* out) {
  STACK_OF(X509_REVOKED)* revoked = X509_CRL_get_REVOKED(out->crl.get());
  int group = -1;  // 5.3.3: entries inherit the previous certificateIssuer.
  for (int i = 0; i < sk_X509_REVOKED_num(revoked); ++i) {
    X509_REVOKED* rev = sk_X509_REVOKED_value(revoked, i);
    const std::string serial = SerialKey(X509_REVOKED_get0_serialNumber(rev));
    const std::string where = absl::StrCat(
        "the entry for serial ", HexEncode(serial.substr(1)));
    Entry entry;
    if (!Asn1TimeToAbsl(X509_REVOKED_get0_revocationDate(rev),
                        &entry.revocation_date)) {
      return absl::StrCat(where, " has an unparsable revocationDate");
    }
    std::set<std::string> seen;
    for (int j = 0; j < X509_REVOKED_get_ext_count(rev); ++j) {
      X509_EXTENSION* ext = X509_REVOKED_get_ext(rev, j);
      const ASN1_OBJECT* obj = X509_EXTENSION_get_object(ext);
      const std::string oid = OidToDescription(obj);
      if (!seen.insert(oid).second) {
        return absl::StrCat(where, " repeats extension ", oid, " (RFC 5280 5.3)");
      }
      switch (OBJ_obj2nid(obj)) {
        case NID_crl_reason: {
          // 5.3.1: CRLReason; 7 is not used; removeFromCRL only in deltas.
          auto reason = DecodeExtension<ASN1_ENUMERATED, ASN1_ENUMERATED_free>(
              ext, d2i_ASN1_ENUMERATED);
          int64_t value = -1;
          if (reason == nullptr ||
              ASN1_ENUMERATED_get_int64(&value, reason.get()) != 1 ||
              value < 0 || value > kCrlReasonAaCompromise || value == 7) {
            return absl::StrCat(where, " has an invalid reasonCode (RFC 5280 5.3.1)");
          }
          if (value == kCrlReasonRemoveFromCrl && !out->is_delta) {
            return absl::StrCat(where, " has reason removeFromCRL on a complete "
                                       "CRL (RFC 5280 5.3.1: delta CRLs only)");
          }
          entry.reason = static_cast<int>(value);
          break;
        }
        case NID_certificate_issuer: {
          // 5.3.3: only in indirect CRLs.
          if (!out->indirect) {
            return absl::StrCat(where, " has certificateIssuer but the CRL is "
                                       "not indirect (RFC 5280 5.3.3)");
          }
          auto names = DecodeExtension<GENERAL_NAMES, GENERAL_NAMES_free>(
              ext, d2i_GENERAL_NAMES);
          if (names == nullptr) {
            return absl::StrCat(where, " has an undecodable certificateIssuer");
          }
          std::vector<X509NamePtr> dir_names;
          for (int k = 0; k < sk_GENERAL_NAME_num(names.get()); ++k) {
            const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), k);
            if (name->type == GEN_DIRNAME) {
              dir_names.emplace_back(X509_NAME_dup(name->d.directoryName));
            }
          }
          out->entry_issuers.push_back(std::move(dir_names));
          group = static_cast<int>(out->entry_issuers.size()) - 1;
          break;
        }
        case NID_invalidity_date:       // 5.3.2
        case NID_hold_instruction_code:  // Deprecated; informational.
          break;
        default:
          // 5.3: a critical entry extension we cannot process makes the whole
          // CRL unusable.
          if (X509_EXTENSION_get_critical(ext) > 0) {
            return absl::StrCat(where, " has unhandled critical extension ",
                                oid, " (RFC 5280 5.3)");
          }
      }
    }
    entry.issuer_group = group;
    out->entries.emplace(serial, entry);
  }
  return "";
}

// Reads the DER TLV at *p (not past `end`), moving *p past it. `content` and
// `tag` describe it. False on a malformed or indefinite-length TLV.
bool ReadTlv(const unsigned char** p, const unsigned char* end, int* tag,
             absl::string_view* tlv, absl::string_view* content) {
  const unsigned char* start = *p;
  const unsigned char* q = start;
  long len = 0;
  int xclass = 0;
  const int ret = ASN1_get_object(&q, &len, tag, &xclass, end - start);
  if ((ret & 0x80) != 0 || (ret & 0x01) != 0) return false;
  *content = absl::string_view(reinterpret_cast<const char*>(q), len);
  *tlv = absl::string_view(reinterpret_cast<const char*>(start), q + len - start);
  *p = q + len;
  return true;
}

// 5.1.1.2: the outer signatureAlgorithm is the same AlgorithmIdentifier as
// tbsCertList.signature. OpenSSL offers no accessor for the inner one, so the
// two are read from the DER.
bool SignatureAlgorithmsMatch(absl::string_view der) {
  auto bytes = [](absl::string_view s) {
    return reinterpret_cast<const unsigned char*>(s.data());
  };
  int tag = 0;
  absl::string_view tlv, list, tbs, field, inner, outer;
  const unsigned char* p = bytes(der);
  if (!ReadTlv(&p, p + der.size(), &tag, &tlv, &list)) return false;
  p = bytes(list);
  const unsigned char* list_end = p + list.size();
  if (!ReadTlv(&p, list_end, &tag, &tlv, &tbs)) return false;
  const unsigned char* q = bytes(tbs);
  const unsigned char* tbs_end = q + tbs.size();
  if (!ReadTlv(&q, tbs_end, &tag, &inner, &field)) return false;
  if (tag == V_ASN1_INTEGER &&  // The optional version.
      !ReadTlv(&q, tbs_end, &tag, &inner, &field)) {
    return false;
  }
  if (!ReadTlv(&p, list_end, &tag, &outer, &field)) return false;
  return inner == outer;
}

// Everything about one CRL that does not depend on the certificate. Returns
// the first violation of RFC 5280, or "".
std::string ParseCrl(absl::string_view der, ParsedCrl* out) {
  X509_CRL* crl = out->crl.get();
  out->issuer_text = NameToString(X509_CRL_get_issuer(crl));
  // 5.1.2.1: v2, since cRLNumber (5.2.3) is required and needs extensions.
  if (X509_CRL_get_version(crl) != X509_CRL_VERSION_2) {
    return "not a v2 CRL; RFC 5280 5.2.3 requires the cRLNumber extension";
  }
  // 5.1.1.2: signatureAlgorithm MUST equal tbsCertList.signature.
  if (!SignatureAlgorithmsMatch(der)) {
    return "signatureAlgorithm differs from tbsCertList.signature "
           "(RFC 5280 5.1.1.2)";
  }
  // 5.1.2.4, 5.1.2.5.
  if (!Asn1TimeToAbsl(X509_CRL_get0_lastUpdate(crl), &out->this_update)) {
    return "unparsable thisUpdate (RFC 5280 5.1.2.4)";
  }
  if (const ASN1_TIME* next = X509_CRL_get0_nextUpdate(crl); next != nullptr) {
    absl::Time t;
    if (!Asn1TimeToAbsl(next, &t)) return "unparsable nextUpdate (RFC 5280 5.1.2.5)";
    out->next_update = t;
  }
  std::string problem = ParseCrlExtensions(out);
  if (!problem.empty()) return problem;
  return ParseCrlEntries(out);
}

// 6.3.3 (f): the CRL's signature verifies with the issuer's public key.
bool SignatureVerifies(const ParsedCrl& crl, const Certificate& issuer) {
  const bool ok = X509_CRL_verify(crl.crl.get(), issuer.public_key()) == 1;
  if (!ok) ERR_clear_error();
  return ok;
}

// Whether `name` (from a certificate's cRLDistributionPoints) is one of the
// CRL's issuingDistributionPoint names.
bool IdpHasName(const ParsedCrl& crl, const GENERAL_NAME* name) {
  if (name->type == GEN_DIRNAME) {
    for (const X509NamePtr& dir : crl.dp_dir_names) {
      if (X509_NAME_cmp(dir.get(), name->d.directoryName) == 0) return true;
    }
    return false;
  }
  unsigned char* der = nullptr;
  const int len = i2d_GENERAL_NAME(name, &der);
  if (len <= 0) return false;
  const std::string key(reinterpret_cast<char*>(der), len);
  OPENSSL_free(der);
  for (const std::string& dp : crl.dp_names) {
    if (dp == key) return true;
  }
  return false;
}

bool NamesHaveDirName(const GENERAL_NAMES* names, const X509_NAME* wanted) {
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    if (name->type == GEN_DIRNAME &&
        X509_NAME_cmp(name->d.directoryName, wanted) == 0) {
      return true;
    }
  }
  return false;
}

// 6.3.3 (b)(2)(i): a distribution point of the certificate names the CRL's
// issuingDistributionPoint.
bool DistributionPointMatches(const ParsedCrl& crl, const Certificate& cert) {
  Owned<CRL_DIST_POINTS, CRL_DIST_POINTS_free> dps(
      static_cast<CRL_DIST_POINTS*>(X509_get_ext_d2i(
          cert.x509(), NID_crl_distribution_points, nullptr, nullptr)));
  if (dps == nullptr) return false;
  const X509_NAME* crl_issuer = X509_CRL_get_issuer(crl.crl.get());
  for (int i = 0; i < sk_DIST_POINT_num(dps.get()); ++i) {
    DIST_POINT* dp = sk_DIST_POINT_value(dps.get(), i);
    // 6.3.3 (b)(1): a point with cRLIssuer is served by an indirect CRL of
    // that issuer.
    if (dp->CRLissuer != nullptr &&
        (!crl.indirect || !NamesHaveDirName(dp->CRLissuer, crl_issuer))) {
      continue;
    }
    if (dp->distpoint == nullptr) {
      // No name: the cRLIssuer names are matched instead.
      if (dp->CRLissuer == nullptr) continue;
      for (int k = 0; k < sk_GENERAL_NAME_num(dp->CRLissuer); ++k) {
        if (IdpHasName(crl, sk_GENERAL_NAME_value(dp->CRLissuer, k))) return true;
      }
      continue;
    }
    if (dp->distpoint->type == 0) {
      const GENERAL_NAMES* names = dp->distpoint->name.fullname;
      for (int k = 0; k < sk_GENERAL_NAME_num(names); ++k) {
        if (IdpHasName(crl, sk_GENERAL_NAME_value(names, k))) return true;
      }
      continue;
    }
    // nameRelativeToCRLIssuer: relative to the CRL issuer, which is the
    // certificate issuer or the matched cRLIssuer (4.2.1.13).
    if (DIST_POINT_set_dpname(dp->distpoint, crl_issuer) == 1 &&
        dp->distpoint->dpname != nullptr) {
      for (const X509NamePtr& dir : crl.dp_dir_names) {
        if (X509_NAME_cmp(dir.get(), dp->distpoint->dpname) == 0) return true;
      }
    }
  }
  return false;
}

// 6.3.3 (b)(2): why the CRL's scope leaves `cert` out, or "" when it covers it.
std::string CoverageGap(const ParsedCrl& crl, const Certificate& cert) {
  if (crl.only_attribute) return "onlyContainsAttributeCerts";      // (v)
  if (crl.only_user && cert.is_ca()) {                               // (iii)
    return "onlyContainsUserCerts, and the certificate is a CA";
  }
  if (crl.only_ca && !cert.is_ca()) {                                // (iv)
    return "onlyContainsCACerts, and the certificate is not a CA";
  }
  if (crl.has_dp_name && !DistributionPointMatches(crl, cert)) {     // (i)
    return "its issuingDistributionPoint name is not among the "
           "certificate's cRLDistributionPoints";
  }
  return "";
}

// 5.3.3: whether the entry concerns certificates of `issuer_name`. The CRL
// issuer is already known to be `issuer_name`.
bool EntryNamesIssuer(const ParsedCrl& crl, const Entry& entry,
                      const X509_NAME* issuer_name) {
  if (entry.issuer_group < 0) return true;
  for (const X509NamePtr& name : crl.entry_issuers[entry.issuer_group]) {
    if (X509_NAME_cmp(name.get(), issuer_name) == 0) return true;
  }
  return false;
}

const Entry* FindEntry(const ParsedCrl& crl, const std::string& serial,
                       const X509_NAME* issuer_name) {
  auto [begin, end] = crl.entries.equal_range(serial);
  for (auto it = begin; it != end; ++it) {
    if (EntryNamesIssuer(crl, it->second, issuer_name)) return &it->second;
  }
  return nullptr;
}

// 6.3.3 (a): thisUpdate <= time <= nextUpdate. thisUpdate is checked before a
// CRL is used at all.
bool IsFresh(const ParsedCrl& crl, absl::Time time) {
  return crl.next_update.has_value() && time <= *crl.next_update;
}

// 6.3.3 (a)(1)(i), 5.2.4: a complete CRL is current when fresh, or when a
// fresh delta CRL of its scope is based on it or an older one and is newer.
bool IsCurrent(const ParsedCrl& complete,
               const std::vector<const ParsedCrl*>& usable, absl::Time time) {
  if (IsFresh(complete, time)) return true;
  for (const ParsedCrl* delta : usable) {
    if (delta->is_delta && delta->scope == complete.scope &&
        IsFresh(*delta, time) &&
        CompareNumbers(delta->base_number, complete.number) <= 0 &&
        CompareNumbers(complete.number, delta->number) < 0) {
      return true;
    }
  }
  return false;
}

// Whether newer information of the same scope withdraws `entry` of `crl`:
// a newer delta CRL listing it as removeFromCRL (6.3.3 (j), (l)), or, for
// certificateHold, a newer complete CRL that no longer lists it (5.3.1).
// Other revocations are final (5.1.2.6). Returns the withdrawing CRL, or null.
const ParsedCrl* WithdrawnBy(const ParsedCrl& crl, const Entry& entry,
                             const std::string& serial, const X509_NAME* issuer_name,
                             const std::vector<const ParsedCrl*>& usable) {
  for (const ParsedCrl* newer : usable) {
    if (newer == &crl || newer->scope != crl.scope ||
        CompareNumbers(newer->number, crl.number) <= 0) {
      continue;
    }
    const Entry* listed = FindEntry(*newer, serial, issuer_name);
    if (newer->is_delta) {
      if (listed != nullptr && listed->reason == kCrlReasonRemoveFromCrl) return newer;
    } else if (entry.reason == kCrlReasonCertificateHold && listed == nullptr) {
      return newer;
    }
  }
  return nullptr;
}

std::string StaleText(const ParsedCrl& crl) {
  if (!crl.next_update.has_value()) {
    return absl::StrCat(crl.Describe(), " has no nextUpdate (RFC 5280 5.1.2.5)");
  }
  return absl::StrCat(crl.Describe(), " expired at ", TimeToString(*crl.next_update));
}

}  // namespace

CrlSet::CrlSet() = default;
CrlSet::~CrlSet() = default;

std::shared_ptr<const CrlSet> CrlSet::Parse(
    const std::vector<std::string>& crl_ders,
    std::vector<std::string>* load_errors) {
  auto set = std::shared_ptr<CrlSet>(new CrlSet());
  auto report = [load_errors](std::string error) {
    if (load_errors != nullptr) load_errors->push_back(std::move(error));
  };
  for (size_t i = 0; i < crl_ders.size(); ++i) {
    const std::string& der = crl_ders[i];
    const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
    X509CrlPtr crl(d2i_X509_CRL(nullptr, &p, static_cast<long>(der.size())));
    if (crl == nullptr) {
      report(absl::StrCat("CRL ", i, ": not a DER X.509 CRL: ", DrainOpenSslErrors()));
      continue;
    }
    if (p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
      report(absl::StrCat("CRL ", i, ": trailing data after the CRL"));
      continue;
    }
    auto parsed = std::make_unique<ParsedCrl>();
    parsed->crl = std::move(crl);
    parsed->index = static_cast<int>(i);
    parsed->problem = ParseCrl(der, parsed.get());
    ERR_clear_error();
    set->crls_.push_back(std::move(parsed));
  }
  return set;
}

RevocationCheck CrlSet::Check(const Certificate& cert, const Certificate& issuer,
                              absl::Time time) const {
  // CRL times have a one-second grain, like certificate validity.
  const absl::Time now = absl::FromUnixSeconds(absl::ToUnixSeconds(time));
  const X509_NAME* issuer_name = cert.issuer();
  const std::string serial = SerialKey(X509_get0_serialNumber(cert.x509()));

  std::vector<std::string> notes;  // Why CRLs were passed over.
  std::vector<const ParsedCrl*> usable;
  const ParsedCrl* invalid = nullptr;
  std::string invalid_why;
  bool any_from_issuer = false;
  for (const auto& owned : crls_) {
    const ParsedCrl& crl = *owned;
    // 6.3.3 (b)(1): a direct CRL is issued by the certificate's issuer.
    if (X509_NAME_cmp(X509_CRL_get_issuer(crl.crl.get()), issuer_name) != 0) {
      continue;
    }
    any_from_issuer = true;
    // 6.3.3 (f)-(g): signed with the issuer's key. Otherwise it is not known
    // to come from the issuer at all, and is only passed over.
    if (!SignatureVerifies(crl, issuer)) {
      notes.push_back(absl::StrCat(crl.Describe(),
                                   ": signature does not verify with the issuer's key"));
      continue;
    }
    std::string problem = crl.problem;
    // 6.3.3 (f), 4.2.1.3: a keyUsage without cRLSign forbids signing CRLs.
    if (problem.empty() && issuer.key_usage().has_value() &&
        !(*issuer.key_usage() & kKeyUsageCrlSign)) {
      problem = "the issuer's keyUsage lacks cRLSign (RFC 5280 4.2.1.3, 6.3.3 (f))";
    }
    if (!problem.empty()) {
      if (invalid == nullptr) {
        invalid = &crl;
        invalid_why = std::move(problem);
      }
      continue;
    }
    if (std::string gap = CoverageGap(crl, cert); !gap.empty()) {
      notes.push_back(absl::StrCat(crl.Describe(), " does not cover the certificate: ", gap));
      continue;
    }
    if (crl.this_update > now) {
      notes.push_back(absl::StrCat(crl.Describe(), " is not valid before ",
                                   TimeToString(crl.this_update)));
      continue;
    }
    usable.push_back(&crl);
  }

  RevocationCheck result;
  // Revoked: listed on a usable CRL, fresh or not, and not withdrawn since
  // (6.3.3 (i)-(l)). A final reason is preferred over certificateHold.
  const ParsedCrl* hit_crl = nullptr;
  const Entry* hit = nullptr;
  std::vector<std::string> withdrawn;  // For the kGood diagnostic.
  for (const ParsedCrl* crl : usable) {
    auto [begin, end] = crl->entries.equal_range(serial);
    for (auto it = begin; it != end; ++it) {
      const Entry& entry = it->second;
      if (!EntryNamesIssuer(*crl, entry, issuer_name) ||
          entry.reason == kCrlReasonRemoveFromCrl) {
        continue;
      }
      if (const ParsedCrl* by = WithdrawnBy(*crl, entry, serial, issuer_name, usable)) {
        withdrawn.push_back(absl::StrCat(CrlReasonName(entry.reason), " on ",
                                         crl->Describe(), " withdrawn by ",
                                         by->Describe()));
        continue;
      }
      if (hit == nullptr || (hit->reason == kCrlReasonCertificateHold &&
                             entry.reason != kCrlReasonCertificateHold)) {
        hit = &entry;
        hit_crl = crl;
      }
    }
  }
  if (hit != nullptr) {
    result.state = RevocationState::kRevoked;
    result.source = hit_crl->Source();
    result.reason = hit->reason;
    result.diagnostic = absl::StrCat(
        "revoked at ", TimeToString(hit->revocation_date), ", reason ",
        CrlReasonName(hit->reason), ", on ", hit_crl->Describe(),
        IsFresh(*hit_crl, now) ? "" : " (stale, but revocation is final)");
    return result;
  }

  if (invalid != nullptr) {
    result.state = RevocationState::kInvalidCrl;
    result.source = invalid->Source();
    result.diagnostic = absl::StrCat(invalid->Describe(), " is unusable: ", invalid_why);
    return result;
  }

  // Good: current complete CRLs that together cover all reasons (6.3.3 (a),
  // (d)) and, as established above, do not list the certificate.
  uint32_t covered = 0;
  const ParsedCrl* good = nullptr;
  bool has_complete = false;
  for (const ParsedCrl* crl : usable) {
    if (crl->is_delta) continue;
    has_complete = true;
    if (!IsCurrent(*crl, usable, now)) {
      notes.push_back(StaleText(*crl));
      continue;
    }
    covered |= crl->reasons;
    // The source named is the newest full CRL, else the newest partial one.
    const bool full = crl->reasons == kAllReasons;
    if (good == nullptr || (full && good->reasons != kAllReasons) ||
        (full == (good->reasons == kAllReasons) &&
         CompareNumbers(crl->number, good->number) > 0)) {
      good = crl;
    }
  }
  if ((covered & kAllReasons) == kAllReasons) {
    result.state = RevocationState::kGood;
    result.source = good->Source();
    result.diagnostic = absl::StrCat("not listed on ", good->Describe());
    if (!withdrawn.empty()) {
      absl::StrAppend(&result.diagnostic, " (", absl::StrJoin(withdrawn, "; "), ")");
    }
    return result;
  }

  if (!any_from_issuer) {
    notes.insert(notes.begin(), absl::StrCat("no CRL from ", NameToString(issuer_name)));
  } else if (covered != 0) {
    notes.push_back(absl::StrCat("current CRLs cover only the reasons ",
                                 ReasonsText(covered), " (onlySomeReasons)"));
  } else if (!has_complete && !usable.empty()) {
    notes.push_back("only delta CRLs, no complete CRL to apply them to (RFC 5280 5.2.4)");
  }
  result.state = RevocationState::kUnknown;
  result.diagnostic = absl::StrJoin(notes, "; ");
  return result;
}

bool IsPrintableAscii(absl::string_view s) {
  for (char c : s) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

std::vector<std::string> CrlDistributionPointUrls(const Certificate& cert) {
  std::vector<std::string> urls;
  auto* dps = static_cast<CRL_DIST_POINTS*>(
      X509_get_ext_d2i(cert.x509(), NID_crl_distribution_points, nullptr, nullptr));
  if (dps == nullptr) return urls;
  for (int i = 0; i < sk_DIST_POINT_num(dps); ++i) {
    DIST_POINT* dp = sk_DIST_POINT_value(dps, i);
    if (dp->distpoint == nullptr || dp->distpoint->type != 0) continue;
    GENERAL_NAMES* names = dp->distpoint->name.fullname;
    for (int j = 0; j < sk_GENERAL_NAME_num(names); ++j) {
      GENERAL_NAME* name = sk_GENERAL_NAME_value(names, j);
      if (name->type != GEN_URI) continue;
      const ASN1_IA5STRING* uri = name->d.uniformResourceIdentifier;
      absl::string_view url(reinterpret_cast<const char*>(ASN1_STRING_get0_data(uri)),
                            ASN1_STRING_length(uri));
      // IA5String is 7-bit (RFC 5280 7.2) and a URI is ASCII (RFC 3986 2):
      // anything else is no URL to fetch, and would make the verdict's
      // crl_distribution_points, a proto3 string, invalid UTF-8 (found by
      // fuzz/certificate_fuzzer).
      if (!IsPrintableAscii(url)) continue;
      urls.emplace_back(url);
    }
  }
  CRL_DIST_POINTS_free(dps);
  return urls;
}

}  // namespace chainverify::pki
