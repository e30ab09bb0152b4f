#include "server/pki/crl.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/civil_time.h"
#include "server/pki/der.h"

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

// One CRL: its DER, the header decoded by OpenSSL (every field but the
// entries), the facts Check() needs, and an index of the entries sorted by
// serial number that points into the DER (see crl.h "Size").
struct CrlSet::ParsedCrl {
  // 24 bytes per entry; the serial's DER content (two's complement, minimal,
  // so equal numbers have equal bytes) is compared by length, then by its
  // first 8 bytes (`head`), then by the rest.
  struct IndexEntry {
    uint64_t head = 0;
    uint32_t serial_offset = 0;  // In `der`.
    uint32_t entry_offset = 0;   // The entry's SEQUENCE, in `der`.
    int32_t issuer_group = -1;   // Into entry_issuers; -1: the CRL issuer.
    uint16_t serial_length = 0;
  };
  // What a lookup decodes of an entry.
  struct Entry {
    int reason = kCrlReasonUnspecified;
    absl::Time revocation_date;
    int issuer_group = -1;
  };

  std::string der;
  X509CrlPtr crl;  // The CRL without its revokedCertificates.
  absl::string_view tbs;  // The whole TBSCertList TLV, in `der`.
  int index = 0;  // Position in the input.
  std::string issuer_text;
  absl::Time this_update;
  std::optional<absl::Time> next_update;
  std::string number;  // cRLNumber magnitude (5.2.3).
  std::string number_text;
  bool is_delta = false;
  std::string base_number;  // BaseCRLNumber magnitude of a delta (5.2.4).
  std::string base_number_text;
  std::vector<std::string> freshest_urls;  // freshestCRL (5.2.6) URIs.

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

  std::vector<IndexEntry> entries;  // Sorted, see IndexEntry.
  // certificateIssuer directoryNames of indirect CRL entries (5.3.3).
  std::vector<std::vector<X509NamePtr>> entry_issuers;

  // Why the CRL breaks RFC 5280; empty when it does not.
  std::string problem;

  // Signature results by signer SPKI SHA-256: hashing a large CRL costs
  // milliseconds, and every certificate checked against it asks again.
  mutable absl::Mutex mu;
  mutable absl::flat_hash_map<std::string, bool> verified ABSL_GUARDED_BY(mu);

  const X509_NAME* issuer() const { return X509_CRL_get_issuer(crl.get()); }
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
using IndexEntry = CrlSet::ParsedCrl::IndexEntry;

// Signature results remembered per CRL (distinct signer keys).
constexpr size_t kMaxRememberedSigners = 16;

// A reader of DER TLVs over bytes owned elsewhere: low tag numbers and
// definite, minimally encoded lengths only (X.690 10.1), as DER requires.
class DerReader {
 public:
  explicit DerReader(absl::string_view bytes) : rest_(bytes) {}

  bool empty() const { return rest_.empty(); }
  // The next TLV's tag, without reading it; 0 at the end.
  uint8_t PeekTag() const { return rest_.empty() ? 0 : static_cast<uint8_t>(rest_[0]); }

  // Reads one TLV. `content` is its value, `whole` (may be null) all of it.
  bool Read(uint8_t* tag, absl::string_view* content, absl::string_view* whole = nullptr) {
    if (rest_.size() < 2) return false;
    const auto* p = reinterpret_cast<const uint8_t*>(rest_.data());
    if ((p[0] & 0x1f) == 0x1f) return false;  // High tag numbers: not in X.509.
    size_t header = 2;
    size_t length = p[1];
    if (length & 0x80) {
      const size_t octets = length & 0x7f;
      if (octets == 0 || octets > 4 || rest_.size() < 2 + octets || p[2] == 0) return false;
      length = 0;
      for (size_t i = 0; i < octets; ++i) length = (length << 8) | p[2 + i];
      if (length < 0x80) return false;  // Not minimal.
      header += octets;
    }
    if (rest_.size() - header < length) return false;
    *tag = p[0];
    *content = rest_.substr(header, length);
    if (whole != nullptr) *whole = rest_.substr(0, header + length);
    rest_.remove_prefix(header + length);
    return true;
  }

  // Reads a TLV that must have tag `want`.
  bool Expect(uint8_t want, absl::string_view* content, absl::string_view* whole = nullptr) {
    uint8_t tag = 0;
    return Read(&tag, content, whole) && tag == want;
  }

 private:
  absl::string_view rest_;
};

constexpr uint8_t kTagBoolean = 0x01;
constexpr uint8_t kTagInteger = 0x02;
constexpr uint8_t kTagOctetString = 0x04;
constexpr uint8_t kTagOid = 0x06;
constexpr uint8_t kTagEnumerated = 0x0a;
constexpr uint8_t kTagUtcTime = 0x17;
constexpr uint8_t kTagGeneralizedTime = 0x18;
constexpr uint8_t kTagSequence = 0x30;
constexpr uint8_t kTagExplicit0 = 0xa0;

// DER OIDs (contents) of the CRL entry extensions (RFC 5280 5.3).
constexpr absl::string_view kOidReasonCode("\x55\x1d\x15", 3);
constexpr absl::string_view kOidHoldInstruction("\x55\x1d\x17", 3);
constexpr absl::string_view kOidInvalidityDate("\x55\x1d\x18", 3);
constexpr absl::string_view kOidCertificateIssuer("\x55\x1d\x1d", 3);

// A minimally encoded, non-empty INTEGER content (X.690 8.3.2).
bool IsMinimalInteger(absl::string_view c) {
  if (c.empty()) return false;
  if (c.size() == 1) return true;
  const auto b0 = static_cast<uint8_t>(c[0]);
  const auto b1 = static_cast<uint8_t>(c[1]);
  return !(b0 == 0x00 && !(b1 & 0x80)) && !(b0 == 0xff && (b1 & 0x80));
}

// UTCTime "YYMMDDHHMMSSZ" or GeneralizedTime "YYYYMMDDHHMMSSZ", the only
// forms RFC 5280 5.1.2.4/5.1.2.6 allow.
bool ParseDerTime(uint8_t tag, absl::string_view c, absl::Time* out) {
  const size_t year_digits = tag == kTagUtcTime ? 2 : tag == kTagGeneralizedTime ? 4 : 0;
  if (year_digits == 0 || c.size() != year_digits + 11 || c.back() != 'Z') return false;
  int fields[6] = {0};
  size_t at = 0;
  for (int f = 0; f < 6; ++f) {
    const size_t digits = f == 0 ? year_digits : 2;
    for (size_t i = 0; i < digits; ++i, ++at) {
      if (c[at] < '0' || c[at] > '9') return false;
      fields[f] = fields[f] * 10 + (c[at] - '0');
    }
  }
  if (tag == kTagUtcTime) fields[0] += fields[0] < 50 ? 2000 : 1900;  // 4.1.2.5.1
  const absl::CivilSecond civil(fields[0], fields[1], fields[2], fields[3], fields[4],
                                fields[5]);
  if (civil.year() != fields[0] || civil.month() != fields[1] || civil.day() != fields[2] ||
      civil.hour() != fields[3] || civil.minute() != fields[4] ||
      civil.second() != fields[5]) {
    return false;  // Out of range: 13th month, 61st second, ...
  }
  *out = absl::FromCivil(civil, absl::UTCTimeZone());
  return true;
}

// The DER content of `cert`'s serialNumber (minimal two's complement).
std::string SerialContent(const Certificate& cert) {
  unsigned char* der = nullptr;
  const int len = i2d_ASN1_INTEGER(X509_get0_serialNumber(cert.x509()), &der);
  std::string out;
  if (len > 0) {
    DerReader reader(absl::string_view(reinterpret_cast<char*>(der), len));
    absl::string_view content;
    if (reader.Expect(kTagInteger, &content)) out = std::string(content);
  }
  OPENSSL_free(der);
  return out;
}

uint64_t SerialHead(absl::string_view serial) {
  uint64_t head = 0;
  for (size_t i = 0; i < 8; ++i) {
    head = (head << 8) | (i < serial.size() ? static_cast<uint8_t>(serial[i]) : 0);
  }
  return head;
}

absl::string_view SerialOf(const ParsedCrl& crl, const IndexEntry& e) {
  return absl::string_view(crl.der).substr(e.serial_offset, e.serial_length);
}

// The index order: length, head, remaining bytes; then position, so that
// equal serials keep the CRL's order.
bool EntryLess(const ParsedCrl& crl, const IndexEntry& a, const IndexEntry& b) {
  if (a.serial_length != b.serial_length) return a.serial_length < b.serial_length;
  if (a.head != b.head) return a.head < b.head;
  const int cmp = SerialOf(crl, a).compare(SerialOf(crl, b));
  if (cmp != 0) return cmp < 0;
  return a.entry_offset < b.entry_offset;
}

std::vector<std::string> UrisOf(const CRL_DIST_POINTS* dps) {
  std::vector<std::string> urls;
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
  return urls;
}

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
      case NID_freshest_crl: {
        // 5.2.6: where the delta CRLs of this complete CRL are published.
        auto points = DecodeExtension<CRL_DIST_POINTS, CRL_DIST_POINTS_free>(
            ext, d2i_CRL_DIST_POINTS);
        if (points == nullptr) return "freshestCRL does not decode (RFC 5280 5.2.6)";
        out->freshest_urls = UrisOf(points.get());
        break;
      }
      case NID_authority_key_identifier:
      case NID_issuer_alt_name:
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

// RFC 5280 5.3: one entry's extensions. Returns the first violation, or "".
std::string ParseEntryExtensions(absl::string_view extensions, absl::string_view serial,
                                 ParsedCrl* out, int* group, bool* malformed) {
  DerReader list(extensions);
  // Built only for a problem: most entries have extensions.
  auto where = [serial]() { return absl::StrCat("the entry for serial ", HexEncode(serial)); };
  absl::InlinedVector<absl::string_view, 4> seen;
  while (!list.empty()) {
    absl::string_view ext, oid, value;
    if (!list.Expect(kTagSequence, &ext)) return *malformed = true, "";
    DerReader fields(ext);
    bool critical = false;
    if (!fields.Expect(kTagOid, &oid)) return *malformed = true, "";
    if (fields.PeekTag() == kTagBoolean) {
      absl::string_view flag;
      if (!fields.Expect(kTagBoolean, &flag) || flag.size() != 1) return *malformed = true, "";
      critical = flag[0] != 0;
    }
    if (!fields.Expect(kTagOctetString, &value) || !fields.empty()) {
      return *malformed = true, "";
    }
    auto describe = [&oid]() {
      std::string tlv = absl::StrCat(std::string(1, '\x06'), std::string(1, static_cast<char>(oid.size())), oid);
      const auto* p = reinterpret_cast<const unsigned char*>(tlv.data());
      Owned<ASN1_OBJECT, ASN1_OBJECT_free> obj(
          oid.size() < 128 ? d2i_ASN1_OBJECT(nullptr, &p, static_cast<long>(tlv.size())) : nullptr);
      return obj != nullptr ? OidToDescription(obj.get()) : std::string("(unreadable OID)");
    };
    for (absl::string_view other : seen) {
      if (other == oid) {
        return absl::StrCat(where(), " repeats extension ", describe(), " (RFC 5280 5.3)");
      }
    }
    seen.push_back(oid);
    if (oid == kOidReasonCode) {
      // 5.3.1: CRLReason; 7 is not used; removeFromCRL only in deltas.
      DerReader reader(value);
      absl::string_view code;
      if (!reader.Expect(kTagEnumerated, &code) || !reader.empty() || code.size() != 1 ||
          static_cast<uint8_t>(code[0]) > kCrlReasonAaCompromise || code[0] == 7) {
        return absl::StrCat(where(), " has an invalid reasonCode (RFC 5280 5.3.1)");
      }
      if (code[0] == kCrlReasonRemoveFromCrl && !out->is_delta) {
        return absl::StrCat(where(), " has reason removeFromCRL on a complete "
                                   "CRL (RFC 5280 5.3.1: delta CRLs only)");
      }
    } else if (oid == kOidCertificateIssuer) {
      // 5.3.3: only in indirect CRLs.
      if (!out->indirect) {
        return absl::StrCat(where(), " has certificateIssuer but the CRL is "
                                   "not indirect (RFC 5280 5.3.3)");
      }
      const auto* p = reinterpret_cast<const unsigned char*>(value.data());
      Owned<GENERAL_NAMES, GENERAL_NAMES_free> names(
          d2i_GENERAL_NAMES(nullptr, &p, static_cast<long>(value.size())));
      if (names == nullptr || p != reinterpret_cast<const unsigned char*>(value.end())) {
        ERR_clear_error();
        return absl::StrCat(where(), " has an undecodable certificateIssuer");
      }
      std::vector<X509NamePtr> dir_names;
      for (int k = 0; k < sk_GENERAL_NAME_num(names.get()); ++k) {
        const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), k);
        if (name->type == GEN_DIRNAME) {
          dir_names.emplace_back(X509_NAME_dup(name->d.directoryName));
        }
      }
      out->entry_issuers.push_back(std::move(dir_names));
      *group = static_cast<int>(out->entry_issuers.size()) - 1;
    } else if (oid == kOidInvalidityDate || oid == kOidHoldInstruction) {
      // 5.3.2; holdInstructionCode is deprecated. Informational.
    } else if (critical) {
      // 5.3: a critical entry extension we cannot process makes the whole
      // CRL unusable.
      return absl::StrCat(where(), " has unhandled critical extension ", describe(),
                          " (RFC 5280 5.3)");
    }
  }
  return "";
}

// RFC 5280 5.1.2.6 and 5.3: indexes the entries of `revoked` (the content of
// revokedCertificates, inside out->der). Returns false when the DER is
// malformed (the CRL does not decode). Sets out->problem on the first
// violation of the profile; entries after it are not indexed, since a CRL
// with a problem is never used for a status.
bool IndexEntries(absl::string_view revoked, ParsedCrl* out, std::string* load_error) {
  DerReader list(revoked);
  int group = -1;  // 5.3.3: entries inherit the previous certificateIssuer.
  bool sorted = true;
  const char* base = out->der.data();
  while (!list.empty()) {
    absl::string_view entry, whole, serial, time, extensions;
    uint8_t time_tag = 0;
    if (!list.Expect(kTagSequence, &entry, &whole)) return false;
    DerReader fields(entry);
    if (!fields.Expect(kTagInteger, &serial) || !IsMinimalInteger(serial) ||
        serial.size() > 0xffff || !fields.Read(&time_tag, &time)) {
      return false;
    }
    const bool has_extensions = fields.PeekTag() == kTagSequence;
    if (has_extensions && !fields.Expect(kTagSequence, &extensions)) return false;
    if (!fields.empty()) return false;
    if (time_tag != kTagUtcTime && time_tag != kTagGeneralizedTime) return false;
    if (out->entries.size() >= kMaxCrlEntries) {
      *load_error = absl::StrCat("more than ", kMaxCrlEntries, " entries");
      return false;
    }
    if (!out->problem.empty()) continue;  // Only the structure still matters.
    absl::Time date;
    if (!ParseDerTime(time_tag, time, &date)) {
      out->problem = absl::StrCat("the entry for serial ", HexEncode(serial),
                                  " has an unparsable revocationDate");
      continue;
    }
    if (has_extensions) {
      bool malformed = false;
      std::string problem = ParseEntryExtensions(extensions, serial, out, &group, &malformed);
      if (malformed) return false;
      if (!problem.empty()) {
        out->problem = std::move(problem);
        continue;
      }
    }
    IndexEntry e;
    e.head = SerialHead(serial);
    e.serial_offset = static_cast<uint32_t>(serial.data() - base);
    e.serial_length = static_cast<uint16_t>(serial.size());
    e.entry_offset = static_cast<uint32_t>(whole.data() - base);
    e.issuer_group = group;
    if (sorted && !out->entries.empty()) sorted = EntryLess(*out, out->entries.back(), e);
    out->entries.push_back(e);
  }
  if (!out->problem.empty()) {
    out->entries.clear();
    out->entries.shrink_to_fit();
    return true;
  }
  // CAs usually list entries in serial order already; sort otherwise.
  if (!sorted) {
    std::sort(out->entries.begin(), out->entries.end(),
              [out](const IndexEntry& a, const IndexEntry& b) { return EntryLess(*out, a, b); });
  }
  out->entries.shrink_to_fit();
  return true;
}

// The CertificateList's parts (RFC 5280 5.1), in out->der.
struct CrlLayout {
  absl::string_view tbs;          // TBSCertList TLV.
  absl::string_view revoked;      // revokedCertificates content ("" if absent).
  std::string skeleton;           // The CRL without revokedCertificates.
  bool inner_matches_outer = false;  // 5.1.1.2: the two AlgorithmIdentifiers.
};

// Splits the DER so that OpenSSL decodes only the header (a CRL with the
// entries left out) and the entries are indexed here. False when malformed.
bool SplitCrl(absl::string_view der, CrlLayout* out) {
  DerReader outer(der);
  absl::string_view list;
  if (!outer.Expect(kTagSequence, &list) || !outer.empty()) return false;
  DerReader parts(list);
  absl::string_view tbs_content, alg_content, outer_alg, signature, signature_content;
  if (!parts.Expect(kTagSequence, &tbs_content, &out->tbs) ||
      !parts.Expect(kTagSequence, &alg_content, &outer_alg)) {
    return false;
  }
  uint8_t tag = 0;
  if (!parts.Read(&tag, &signature_content, &signature) || !parts.empty()) return false;
  // tbsCertList: version?, signature, issuer, thisUpdate, nextUpdate?,
  // revokedCertificates?, [0] crlExtensions?
  std::string tbs_without_entries;
  DerReader fields(tbs_content);
  int position = 0;
  bool has_revoked = false;
  while (!fields.empty()) {
    absl::string_view content, whole;
    if (!fields.Read(&tag, &content, &whole)) return false;
    if (position == 0 && tag == kTagInteger) {
      tbs_without_entries.append(whole.data(), whole.size());
      continue;  // The version does not count as a position.
    }
    if (position == 0) out->inner_matches_outer = whole == outer_alg;
    // Positions: 0 signature, 1 issuer, 2 thisUpdate, then nextUpdate (a
    // time), the revoked list (the only SEQUENCE) and [0] crlExtensions.
    if (position >= 3 && tag == kTagSequence && !has_revoked) {
      out->revoked = content;
      has_revoked = true;
    } else {
      tbs_without_entries.append(whole.data(), whole.size());
    }
    ++position;
  }
  out->skeleton = DerTlv(kTagSequence, absl::StrCat(DerTlv(kTagSequence, tbs_without_entries),
                                                    outer_alg, signature));
  return true;
}

// Everything about one CRL that does not depend on the certificate, from the
// decoded header. Returns the first violation of RFC 5280, or "".
std::string ParseHeader(const CrlLayout& layout, ParsedCrl* out) {
  X509_CRL* crl = out->crl.get();
  out->issuer_text = NameToString(X509_CRL_get_issuer(crl));
  // 5.1.2.1: v2, since cRLNumber (5.2.3) is required and needs extensions.
  if (X509_CRL_get_version(crl) != X509_CRL_VERSION_2) {
    return "not a v2 CRL; RFC 5280 5.2.3 requires the cRLNumber extension";
  }
  // 5.1.1.2: signatureAlgorithm MUST equal tbsCertList.signature.
  if (!layout.inner_matches_outer) {
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
  return ParseCrlExtensions(out);
}

// Parses one DER CRL; null with `error` set when it does not decode.
std::unique_ptr<ParsedCrl> ParseOne(std::string der, std::string* error) {
  if (der.size() > std::numeric_limits<uint32_t>::max()) {
    *error = "larger than 4 GiB";  // IndexEntry offsets are 32-bit.
    return nullptr;
  }
  auto parsed = std::make_unique<ParsedCrl>();
  parsed->der = std::move(der);
  CrlLayout layout;
  if (!SplitCrl(parsed->der, &layout)) {
    *error = "not a DER X.509 CRL (malformed or trailing data)";
    return nullptr;
  }
  const auto* p = reinterpret_cast<const unsigned char*>(layout.skeleton.data());
  parsed->crl.reset(d2i_X509_CRL(nullptr, &p, static_cast<long>(layout.skeleton.size())));
  if (parsed->crl == nullptr ||
      p != reinterpret_cast<const unsigned char*>(layout.skeleton.data()) +
               layout.skeleton.size()) {
    *error = absl::StrCat("not a DER X.509 CRL: ", DrainOpenSslErrors());
    return nullptr;
  }
  parsed->tbs = layout.tbs;
  parsed->problem = ParseHeader(layout, parsed.get());
  std::string load_error;
  if (!IndexEntries(layout.revoked, parsed.get(), &load_error)) {
    *error = load_error.empty() ? "not a DER X.509 CRL: a malformed revokedCertificates entry"
                                : load_error;
    return nullptr;
  }
  ERR_clear_error();
  return parsed;
}

// 6.3.3 (f): the CRL's signature verifies with `signer`'s public key. The
// TBSCertList is verified as the bytes received (an ASN1_ANY re-encodes a
// SEQUENCE byte for byte), with OpenSSL's handling of every algorithm.
bool VerifiesWith(const ParsedCrl& crl, const Certificate& signer) {
  {
    absl::MutexLock lock(&crl.mu);
    auto it = crl.verified.find(signer.spki_sha256());
    if (it != crl.verified.end()) return it->second;
  }
  const ASN1_BIT_STRING* signature = nullptr;
  const X509_ALGOR* algorithm = nullptr;
  X509_CRL_get0_signature(crl.crl.get(), &signature, &algorithm);
  const auto* p = reinterpret_cast<const unsigned char*>(crl.tbs.data());
  Owned<ASN1_TYPE, ASN1_TYPE_free> tbs(d2i_ASN1_TYPE(nullptr, &p, static_cast<long>(crl.tbs.size())));
  const bool ok = tbs != nullptr &&
                  ASN1_item_verify(ASN1_ITEM_rptr(ASN1_ANY), const_cast<X509_ALGOR*>(algorithm),
                                   const_cast<ASN1_BIT_STRING*>(signature), tbs.get(),
                                   signer.public_key()) == 1;
  ERR_clear_error();
  absl::MutexLock lock(&crl.mu);
  if (crl.verified.size() < kMaxRememberedSigners) crl.verified.emplace(signer.spki_sha256(), ok);
  return ok;
}

// Decodes what a lookup needs of an indexed entry (validated when indexed).
Entry DecodeEntry(const ParsedCrl& crl, const IndexEntry& e) {
  Entry out;
  out.issuer_group = e.issuer_group;
  DerReader reader(absl::string_view(crl.der).substr(e.entry_offset));
  absl::string_view entry, serial, time, extensions;
  uint8_t time_tag = 0;
  if (!reader.Expect(kTagSequence, &entry)) return out;
  DerReader fields(entry);
  fields.Expect(kTagInteger, &serial);
  fields.Read(&time_tag, &time);
  ParseDerTime(time_tag, time, &out.revocation_date);
  if (!fields.Expect(kTagSequence, &extensions)) return out;
  DerReader list(extensions);
  absl::string_view ext, oid, value, code;
  while (list.Expect(kTagSequence, &ext)) {
    DerReader ext_fields(ext);
    ext_fields.Expect(kTagOid, &oid);
    if (ext_fields.PeekTag() == kTagBoolean) ext_fields.Expect(kTagBoolean, &value);
    ext_fields.Expect(kTagOctetString, &value);
    DerReader inner(value);
    if (oid == kOidReasonCode && inner.Expect(kTagEnumerated, &code) && code.size() == 1) {
      out.reason = static_cast<uint8_t>(code[0]);
    }
  }
  return out;
}

// The index entries for `serial` (DER content), in CRL order.
std::pair<const IndexEntry*, const IndexEntry*> EntriesFor(const ParsedCrl& crl,
                                                           absl::string_view serial) {
  const uint64_t head = SerialHead(serial);
  auto less = [&crl, head, serial](const IndexEntry& e) {
    if (e.serial_length != serial.size()) return e.serial_length < serial.size();
    if (e.head != head) return e.head < head;
    return SerialOf(crl, e) < serial;
  };
  const IndexEntry* begin = crl.entries.data();
  const IndexEntry* end = begin + crl.entries.size();
  const IndexEntry* first = std::partition_point(begin, end, less);
  const IndexEntry* last = first;
  while (last != end && SerialOf(crl, *last) == serial) ++last;
  return {first, last};
}

// 5.3.3: whether an entry of `group` concerns certificates of `issuer_name`.
bool EntryNamesIssuer(const ParsedCrl& crl, int group, const X509_NAME* issuer_name) {
  if (group < 0) return X509_NAME_cmp(crl.issuer(), issuer_name) == 0;
  for (const X509NamePtr& name : crl.entry_issuers[group]) {
    if (X509_NAME_cmp(name.get(), issuer_name) == 0) return true;
  }
  return false;
}

// The first entry of `crl` for the certificate (serial and issuer), if any.
std::optional<Entry> FindEntry(const ParsedCrl& crl, absl::string_view serial,
                               const X509_NAME* issuer_name) {
  auto [begin, end] = EntriesFor(crl, serial);
  for (const IndexEntry* e = begin; e != end; ++e) {
    if (EntryNamesIssuer(crl, e->issuer_group, issuer_name)) return DecodeEntry(crl, *e);
  }
  return std::nullopt;
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

// The certificate's cRLDistributionPoints (4.2.1.13), decoded once per check.
struct CertificateDps {
  explicit CertificateDps(const Certificate& cert)
      : dps(static_cast<CRL_DIST_POINTS*>(X509_get_ext_d2i(
            cert.x509(), NID_crl_distribution_points, nullptr, nullptr))) {
    ERR_clear_error();
  }
  // 6.3.3 (b)(1): some point names `crl_issuer` in its cRLIssuer.
  bool NameCrlIssuer(const X509_NAME* crl_issuer) const {
    for (int i = 0; i < sk_DIST_POINT_num(dps.get()); ++i) {
      const DIST_POINT* dp = sk_DIST_POINT_value(dps.get(), i);
      if (dp->CRLissuer != nullptr && NamesHaveDirName(dp->CRLissuer, crl_issuer)) return true;
    }
    return false;
  }
  Owned<CRL_DIST_POINTS, CRL_DIST_POINTS_free> dps;
};

// `base` with the RDN `relative` appended (4.2.1.13 nameRelativeToCRLIssuer),
// as DIST_POINT_set_dpname computes it, without touching the decoded point.
X509NamePtr RelativeTo(const X509_NAME* base, const STACK_OF(X509_NAME_ENTRY)* relative) {
  X509NamePtr name(X509_NAME_dup(base));
  if (name == nullptr) return nullptr;
  for (int i = 0; i < sk_X509_NAME_ENTRY_num(relative); ++i) {
    if (X509_NAME_add_entry(name.get(), sk_X509_NAME_ENTRY_value(relative, i), -1,
                            i == 0 ? 1 : 0) != 1) {
      ERR_clear_error();
      return nullptr;
    }
  }
  return name;
}

// 6.3.3 (b)(2)(i): a distribution point of the certificate that this CRL
// serves names the CRL's issuingDistributionPoint. A point with cRLIssuer is
// served by an indirect CRL of that issuer, a point without by the
// certificate issuer's own CRLs (b)(1).
bool DistributionPointMatches(const ParsedCrl& crl, const CertificateDps& cert_dps,
                              bool direct) {
  const CRL_DIST_POINTS* dps = cert_dps.dps.get();
  if (dps == nullptr) return false;
  const X509_NAME* crl_issuer = crl.issuer();
  for (int i = 0; i < sk_DIST_POINT_num(dps); ++i) {
    DIST_POINT* dp = sk_DIST_POINT_value(dps, i);
    if (dp->CRLissuer != nullptr
            ? !crl.indirect || !NamesHaveDirName(dp->CRLissuer, crl_issuer)
            : !direct) {
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
    // certificate issuer or the matched cRLIssuer (4.2.1.13). The name is
    // computed on a copy: the certificate's decoded extension is not ours.
    if (X509NamePtr full = RelativeTo(crl_issuer, dp->distpoint->name.relativename)) {
      for (const X509NamePtr& dir : crl.dp_dir_names) {
        if (X509_NAME_cmp(dir.get(), full.get()) == 0) return true;
      }
    }
  }
  return false;
}

// 6.3.3 (b)(2): why the CRL's scope leaves `cert` out, or "" when it covers it.
std::string CoverageGap(const ParsedCrl& crl, const Certificate& cert,
                        const CertificateDps& dps, bool direct) {
  if (crl.only_attribute) return "onlyContainsAttributeCerts";      // (v)
  if (crl.only_user && cert.is_ca()) {                               // (iii)
    return "onlyContainsUserCerts, and the certificate is a CA";
  }
  if (crl.only_ca && !cert.is_ca()) {                                // (iv)
    return "onlyContainsCACerts, and the certificate is not a CA";
  }
  if (crl.has_dp_name && !DistributionPointMatches(crl, dps, direct)) {  // (i)
    return "its issuingDistributionPoint name is not among the "
           "certificate's cRLDistributionPoints";
  }
  return "";
}

// Same CRL issuer and same scope (5.2.4: a delta and its complete CRL).
bool SameScope(const ParsedCrl& a, const ParsedCrl& b) {
  return a.scope == b.scope && X509_NAME_cmp(a.issuer(), b.issuer()) == 0;
}

// 6.3.3 (a): thisUpdate <= time <= nextUpdate. thisUpdate is checked before a
// CRL is used at all.
bool IsFresh(const ParsedCrl& crl, absl::Time time) {
  return crl.next_update.has_value() && time <= *crl.next_update;
}

// 5.2.4: whether `delta` applies to `complete`: same issuer and scope, the
// complete CRL at least the delta's base and older than the delta.
bool DeltaAppliesTo(const ParsedCrl& delta, const ParsedCrl& complete) {
  return delta.is_delta && !complete.is_delta && SameScope(delta, complete) &&
         CompareNumbers(delta.base_number, complete.number) <= 0 &&
         CompareNumbers(complete.number, delta.number) < 0;
}

// 6.3.3 (a)(1)(i), 5.2.4: a complete CRL is current when fresh, or when a
// fresh delta CRL applies to it.
bool IsCurrent(const ParsedCrl& complete,
               const std::vector<const ParsedCrl*>& usable, absl::Time time) {
  if (IsFresh(complete, time)) return true;
  for (const ParsedCrl* delta : usable) {
    if (DeltaAppliesTo(*delta, complete) && IsFresh(*delta, time)) return true;
  }
  return false;
}

// Whether newer information of the same scope withdraws `entry` of `crl`:
// a newer delta CRL listing it as removeFromCRL (6.3.3 (j), (l)), or, for
// certificateHold, a newer complete CRL that no longer lists it (5.3.1).
// Other revocations are final (5.1.2.6). Returns the withdrawing CRL, or null.
const ParsedCrl* WithdrawnBy(const ParsedCrl& crl, const Entry& entry,
                             absl::string_view serial, const X509_NAME* issuer_name,
                             const std::vector<const ParsedCrl*>& usable) {
  for (const ParsedCrl* newer : usable) {
    if (newer == &crl || !SameScope(*newer, crl) ||
        CompareNumbers(newer->number, crl.number) <= 0) {
      continue;
    }
    std::optional<Entry> listed = FindEntry(*newer, serial, issuer_name);
    if (newer->is_delta) {
      if (listed && listed->reason == kCrlReasonRemoveFromCrl) return newer;
    } else if (entry.reason == kCrlReasonCertificateHold && !listed) {
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

std::vector<std::string> ExtensionUris(const Certificate& cert, int nid) {
  Owned<CRL_DIST_POINTS, CRL_DIST_POINTS_free> dps(
      static_cast<CRL_DIST_POINTS*>(X509_get_ext_d2i(cert.x509(), nid, nullptr, nullptr)));
  ERR_clear_error();
  if (dps == nullptr) return {};
  return UrisOf(dps.get());
}

}  // namespace

CrlSet::CrlSet() = default;
CrlSet::~CrlSet() = default;

std::shared_ptr<const CrlSet> CrlSet::Parse(std::vector<std::string> crl_ders,
                                            std::vector<std::string>* load_errors) {
  auto set = std::shared_ptr<CrlSet>(new CrlSet());
  for (size_t i = 0; i < crl_ders.size(); ++i) {
    std::string error;
    std::unique_ptr<ParsedCrl> parsed = ParseOne(std::move(crl_ders[i]), &error);
    if (parsed == nullptr) {
      if (load_errors != nullptr) load_errors->push_back(absl::StrCat("CRL ", i, ": ", error));
      continue;
    }
    parsed->index = static_cast<int>(i);
    set->crls_.push_back(std::move(parsed));
  }
  return set;
}

std::vector<std::string> CrlSet::FreshestCrlUrls() const {
  std::vector<std::string> urls;
  for (const auto& crl : crls_) {
    if (crl->is_delta) continue;
    urls.insert(urls.end(), crl->freshest_urls.begin(), crl->freshest_urls.end());
  }
  return urls;
}

std::optional<absl::Time> CrlSet::NextUpdate() const {
  std::optional<absl::Time> earliest;
  for (const auto& crl : crls_) {
    if (!crl->next_update) return std::nullopt;
    if (!earliest || *crl->next_update < *earliest) earliest = crl->next_update;
  }
  return earliest;
}

size_t CrlSet::der_bytes() const {
  size_t n = 0;
  for (const auto& crl : crls_) n += crl->der.size();
  return n;
}

size_t CrlSet::entry_count() const {
  size_t n = 0;
  for (const auto& crl : crls_) n += crl->entries.size();
  return n;
}

RevocationCheck CrlSet::Check(const Certificate& cert, const Certificate& issuer,
                              absl::Time time, CrlSignerResolver* signers) const {
  return CheckAll({this}, cert, issuer, time, signers);
}

RevocationCheck CrlSet::CheckAll(const std::vector<const CrlSet*>& sets,
                                 const Certificate& cert, const Certificate& issuer,
                                 absl::Time time, CrlSignerResolver* signers) {
  // CRL times have a one-second grain, like certificate validity.
  const absl::Time now = absl::FromUnixSeconds(absl::ToUnixSeconds(time));
  const X509_NAME* issuer_name = cert.issuer();
  const std::string serial = SerialContent(cert);
  const CertificateDps dps(cert);

  std::vector<std::string> notes;  // Why CRLs were passed over.
  std::vector<const ParsedCrl*> usable;
  const ParsedCrl* invalid = nullptr;
  std::string invalid_why;
  bool any_relevant = false;
  for (const CrlSet* set : sets) {
    for (const auto& owned : set->crls_) {
      const ParsedCrl& crl = *owned;
      // 6.3.3 (b)(1): a direct CRL is issued by the certificate's issuer; an
      // indirect one by the cRLIssuer of one of its distribution points.
      const bool direct = X509_NAME_cmp(crl.issuer(), issuer_name) == 0;
      if (!direct && !dps.NameCrlIssuer(crl.issuer())) continue;
      any_relevant = true;
      if (!direct && !crl.indirect) {
        notes.push_back(absl::StrCat(crl.Describe(),
                                     " is named as cRLIssuer but its issuingDistributionPoint "
                                     "does not assert indirectCRL (RFC 5280 5.2.5)"));
        continue;
      }
      // Scope first: it costs no signature check.
      if (crl.problem.empty()) {
        if (std::string gap = CoverageGap(crl, cert, dps, direct); !gap.empty()) {
          notes.push_back(
              absl::StrCat(crl.Describe(), " does not cover the certificate: ", gap));
          continue;
        }
      }
      // 6.3.3 (f)-(g): signed with the issuer's key, or by a CRL signer with a
      // valid path. Otherwise it is not known to come from the issuer at all,
      // and is only passed over.
      const bool by_issuer_key = direct && VerifiesWith(crl, issuer);
      if (!by_issuer_key) {
        if (signers == nullptr) {
          notes.push_back(absl::StrCat(crl.Describe(),
                                       ": signature does not verify with the issuer's key"));
          continue;
        }
        CrlSignatureQuery query;
        query.issuer = crl.issuer();
        query.verifies = [&crl](const Certificate& signer) { return VerifiesWith(crl, signer); };
        query.description = crl.Describe();
        query.id = &crl;
        CrlSignerAnswer answer = signers->Resolve(query);
        if (!answer.found) {
          notes.push_back(absl::StrCat(crl.Describe(), ": ",
                                       direct ? "signature does not verify with the issuer's "
                                                "key, and "
                                              : "",
                                       answer.diagnostic));
          continue;
        }
      }
      std::string problem = crl.problem;
      // 6.3.3 (f), 4.2.1.3: a keyUsage without cRLSign forbids signing CRLs.
      // (A CRL signer's path is validated with that requirement.)
      if (problem.empty() && by_issuer_key && issuer.key_usage().has_value() &&
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
      if (crl.this_update > now) {
        notes.push_back(absl::StrCat(crl.Describe(), " is not valid before ",
                                     TimeToString(crl.this_update)));
        continue;
      }
      usable.push_back(&crl);
    }
  }

  // 5.2.4, 6.3.3 (c): a delta CRL counts only over a complete CRL it applies to.
  bool has_complete = false;
  for (const ParsedCrl* crl : usable) has_complete |= !crl->is_delta;
  const bool only_deltas = !has_complete && !usable.empty();
  std::vector<const ParsedCrl*> applied;
  for (const ParsedCrl* crl : usable) {
    bool keep = !crl->is_delta;
    for (const ParsedCrl* complete : usable) {
      if (keep) break;
      keep = DeltaAppliesTo(*crl, *complete);
    }
    if (keep) {
      applied.push_back(crl);
    } else if (has_complete) {
      notes.push_back(absl::StrCat(crl->Describe(), " (base #", crl->base_number_text,
                                   ") applies to no complete CRL here (RFC 5280 5.2.4)"));
    }
  }
  usable = std::move(applied);

  RevocationCheck result;
  // Revoked: listed on a usable CRL, fresh or not, and not withdrawn since
  // (6.3.3 (i)-(l)). A final reason is preferred over certificateHold.
  const ParsedCrl* hit_crl = nullptr;
  std::optional<Entry> hit;
  std::vector<std::string> withdrawn;  // For the kGood diagnostic.
  for (const ParsedCrl* crl : usable) {
    auto [begin, end] = EntriesFor(*crl, serial);
    for (const IndexEntry* e = begin; e != end; ++e) {
      if (!EntryNamesIssuer(*crl, e->issuer_group, issuer_name)) continue;
      const Entry entry = DecodeEntry(*crl, *e);
      if (entry.reason == kCrlReasonRemoveFromCrl) continue;
      if (const ParsedCrl* by = WithdrawnBy(*crl, entry, serial, issuer_name, usable)) {
        withdrawn.push_back(absl::StrCat(CrlReasonName(entry.reason), " on ",
                                         crl->Describe(), " withdrawn by ",
                                         by->Describe()));
        continue;
      }
      if (!hit || (hit->reason == kCrlReasonCertificateHold &&
                   entry.reason != kCrlReasonCertificateHold)) {
        hit = entry;
        hit_crl = crl;
      }
    }
  }
  if (hit) {
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
  for (const ParsedCrl* crl : usable) {
    if (crl->is_delta) continue;
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

  if (!any_relevant) {
    notes.insert(notes.begin(), absl::StrCat("no CRL from ", NameToString(issuer_name)));
  } else if (covered != 0) {
    notes.push_back(absl::StrCat("current CRLs cover only the reasons ",
                                 ReasonsText(covered), " (onlySomeReasons)"));
  } else if (only_deltas) {
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
  return ExtensionUris(cert, NID_crl_distribution_points);
}

std::vector<std::string> FreshestCrlUrls(const Certificate& cert) {
  return ExtensionUris(cert, NID_freshest_crl);
}

}  // namespace chainverify::pki
