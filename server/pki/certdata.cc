#include "server/pki/certdata.h"

#include <sys/stat.h>

#include <algorithm>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/civil_time.h"
#include "server/pki/file_util.h"
#include "server/pki/openssl_util.h"

namespace chainverify::pki {
namespace {

using Level = PurposeTrust::Level;

struct Attribute {
  std::string type;
  std::string value;  // Decoded: octal bytes, or the text after the type.
  int line = 0;
};

struct Object {
  int line = 0;
  std::map<std::string, Attribute> attributes;

  const Attribute* Find(const std::string& name) const {
    auto it = attributes.find(name);
    return it == attributes.end() ? nullptr : &it->second;
  }
};

// The CK_TRUST values of NSS's pkcs11n.h, and what each means here.
std::optional<Level> TrustLevel(absl::string_view value) {
  if (value == "CKT_NSS_TRUSTED_DELEGATOR") return Level::kTrusted;
  if (value == "CKT_NSS_NOT_TRUSTED") return Level::kDistrusted;
  if (value == "CKT_NSS_MUST_VERIFY_TRUST" || value == "CKT_NSS_TRUST_UNKNOWN" ||
      value == "CKT_NSS_VALID_DELEGATOR" || value == "CKT_NSS_TRUSTED") {
    return Level::kNotTrusted;
  }
  return std::nullopt;
}

std::string Digest(const EVP_MD* md, absl::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (md == nullptr || EVP_Digest(data.data(), data.size(), out, &len, md, nullptr) != 1) {
    return "";
  }
  return std::string(reinterpret_cast<char*>(out), len);
}

// RFC 5280 4.1.2.5.1 UTCTime, as NSS stores distrust-after: "YYMMDDHHMMSSZ".
std::optional<absl::Time> ParseUtcTime(absl::string_view s) {
  if (s.size() != 13 || s[12] != 'Z') return std::nullopt;
  int f[6];
  for (int i = 0; i < 6; ++i) {
    if (!absl::ascii_isdigit(s[2 * i]) || !absl::ascii_isdigit(s[2 * i + 1])) return std::nullopt;
    f[i] = (s[2 * i] - '0') * 10 + (s[2 * i + 1] - '0');
  }
  const int year = f[0] >= 50 ? 1900 + f[0] : 2000 + f[0];
  const absl::CivilSecond civil(year, f[1], f[2], f[3], f[4], f[5]);
  // CivilSecond normalizes (month 13, February 30): refuse what it changed.
  if (civil.month() != f[1] || civil.day() != f[2] || civil.hour() != f[3] ||
      civil.minute() != f[4] || civil.second() != f[5]) {
    return std::nullopt;
  }
  return absl::FromCivil(civil, absl::UTCTimeZone());
}

class Parser {
 public:
  explicit Parser(const CertdataOptions& options) : options_(options) {}

  absl::StatusOr<LoadedTrustSource> Parse(absl::string_view text) {
    if (text.size() > kCertdataMaxBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat(options_.path, ": ", text.size(), " bytes, over the limit of ",
                       kCertdataMaxBytes, " for a certdata.txt file"));
    }
    absl::Status status = Tokenize(text);
    if (!status.ok()) return status;
    return Build();
  }

 private:
  absl::Status Error(int line, absl::string_view message) const {
    return absl::InvalidArgumentError(absl::StrCat(options_.path, ":", line, ": ", message));
  }

  // Lines to objects of attributes.
  absl::Status Tokenize(absl::string_view text) {
    bool begun = false;
    std::optional<Object> current;
    // A MULTILINE_OCTAL value being read: its attribute's name.
    std::optional<std::string> multiline;
    int line_no = 0;
    // A final newline ends the last line; it does not start another.
    absl::ConsumeSuffix(&text, "\n");
    for (absl::string_view line : absl::StrSplit(text, '\n')) {
      ++line_no;
      if (line.size() > kCertdataMaxLineBytes) {
        return Error(line_no, absl::StrCat("line longer than ", kCertdataMaxLineBytes, " bytes"));
      }
      absl::ConsumeSuffix(&line, "\r");
      const absl::string_view trimmed = absl::StripAsciiWhitespace(line);
      if (multiline) {
        Attribute& attribute = current->attributes[*multiline];
        if (trimmed == "END") {
          multiline.reset();
          continue;
        }
        absl::Status status = DecodeOctal(trimmed, line_no, &attribute.value);
        if (!status.ok()) return status;
        continue;
      }
      if (!begun) {
        begun = trimmed == "BEGINDATA";
        continue;
      }
      if (absl::StartsWith(trimmed, "#")) continue;
      if (trimmed.empty()) {
        if (current) objects_.push_back(*std::move(current));
        current.reset();
        continue;
      }
      // "NAME TYPE VALUE": words separated by blanks; the value is the rest.
      std::vector<absl::string_view> parts;
      absl::string_view rest = trimmed;
      while (parts.size() < 2 && !rest.empty()) {
        const size_t blank = std::min(rest.find_first_of(" \t"), rest.size());
        parts.push_back(rest.substr(0, blank));
        rest = absl::StripLeadingAsciiWhitespace(rest.substr(blank));
      }
      parts.push_back(rest);
      const std::string name(parts[0]);
      if (!absl::StartsWith(name, "CKA_")) {
        return Error(line_no, absl::StrCat("expected an attribute line \"CKA_... TYPE VALUE\", got \"",
                                           absl::CHexEscape(trimmed.substr(0, 80)), "\""));
      }
      if (parts.size() < 3) return Error(line_no, absl::StrCat(name, " has no type"));
      if (!current) {
        if (name != "CKA_CLASS") {
          return Error(line_no, absl::StrCat("an object must start with CKA_CLASS, not ", name));
        }
        if (objects_.size() >= kCertdataMaxObjects) {
          return Error(line_no, absl::StrCat("more than ", kCertdataMaxObjects, " objects"));
        }
        current.emplace();
        current->line = line_no;
      }
      if (current->attributes.count(name)) {
        return Error(line_no, absl::StrCat("duplicate attribute ", name, " in the object of line ",
                                           current->line));
      }
      Attribute attribute;
      attribute.type = std::string(parts[1]);
      if (absl::StartsWith(name, "CKA_TRUST_") && name != "CKA_TRUST_STEP_UP_APPROVED" &&
          attribute.type != "CK_TRUST") {
        return Error(line_no, absl::StrCat(name, " must be of type CK_TRUST, not ", attribute.type));
      }
      attribute.line = line_no;
      const absl::string_view value = parts[2];
      if (attribute.type == "MULTILINE_OCTAL") {
        if (!value.empty()) return Error(line_no, absl::StrCat(name, ": text after MULTILINE_OCTAL"));
        multiline = name;
        multiline_line_ = line_no;
      } else {
        if (value.empty()) return Error(line_no, absl::StrCat(name, " has no value"));
        absl::Status status = CheckValue(name, attribute.type, value, line_no, &attribute.value);
        if (!status.ok()) return status;
      }
      current->attributes.emplace(name, std::move(attribute));
    }
    if (multiline) {
      return Error(multiline_line_,
                   absl::StrCat("the MULTILINE_OCTAL value of ", *multiline,
                                " has no END line: the file is truncated"));
    }
    if (!begun) return Error(line_no, "no BEGINDATA line: not a certdata.txt file");
    if (current) objects_.push_back(*std::move(current));
    return absl::OkStatus();
  }

  // One line of \ooo escapes (NSS's format: three octal digits each).
  absl::Status DecodeOctal(absl::string_view line, int line_no, std::string* out) {
    for (size_t i = 0; i < line.size(); i += 4) {
      const absl::string_view escape = line.substr(i, 4);
      if (escape.size() != 4 || escape[0] != '\\' || escape[1] < '0' || escape[1] > '3' ||
          escape[2] < '0' || escape[2] > '7' || escape[3] < '0' || escape[3] > '7') {
        return Error(line_no, absl::StrCat("bad octal escape \"", absl::CHexEscape(escape),
                                           "\" in a MULTILINE_OCTAL value (want \\ooo, at most \\377)"));
      }
      out->push_back(static_cast<char>((escape[1] - '0') * 64 + (escape[2] - '0') * 8 +
                                       (escape[3] - '0')));
    }
    if (out->size() > kCertdataMaxValueBytes) {
      return Error(line_no, absl::StrCat("a MULTILINE_OCTAL value longer than ",
                                         kCertdataMaxValueBytes, " bytes"));
    }
    return absl::OkStatus();
  }

  // Single-line values: the types whose values are fixed sets are checked
  // here, wherever they appear; unknown types are kept unchecked.
  absl::Status CheckValue(const std::string& name, const std::string& type,
                          absl::string_view value, int line_no, std::string* out) {
    if (type == "UTF8") {
      if (value.size() < 2 || value.front() != '"' || value.back() != '"') {
        return Error(line_no, absl::StrCat(name, ": a UTF8 value must be quoted"));
      }
      value = value.substr(1, value.size() - 2);
      if (!IsValidUtf8(value)) return Error(line_no, absl::StrCat(name, " is not valid UTF-8"));
    } else if (type == "CK_TRUST") {
      if (!TrustLevel(value)) {
        return Error(line_no, absl::StrCat(name, ": unknown trust value \"",
                                           absl::CHexEscape(value.substr(0, 80)), "\""));
      }
    } else if (type == "CK_BBOOL") {
      if (value != "CK_TRUE" && value != "CK_FALSE") {
        return Error(line_no, absl::StrCat(name, ": CK_BBOOL must be CK_TRUE or CK_FALSE, not \"",
                                           absl::CHexEscape(value.substr(0, 80)), "\""));
      }
    } else if (type == "CK_OBJECT_CLASS") {
      if (!absl::StartsWith(value, "CKO_")) {
        return Error(line_no, absl::StrCat(name, ": not an object class: \"",
                                           absl::CHexEscape(value.substr(0, 80)), "\""));
      }
    }
    *out = std::string(value);
    return absl::OkStatus();
  }

  // A MULTILINE_OCTAL attribute that must be there.
  absl::StatusOr<const Attribute*> Required(const Object& object, const std::string& name) const {
    const Attribute* a = object.Find(name);
    if (a == nullptr) {
      return Error(object.line, absl::StrCat("object has no ", name));
    }
    if (a->type != "MULTILINE_OCTAL") {
      return Error(a->line, absl::StrCat(name, " must be MULTILINE_OCTAL, not ", a->type));
    }
    return a;
  }

  // A distrust-after attribute: CK_BBOOL CK_FALSE (none) or a UTCTime. The
  // earlier of `*current` and this one is kept.
  absl::Status DistrustAfter(const Object& object, const std::string& name,
                             std::optional<absl::Time>* current) const {
    const Attribute* a = object.Find(name);
    if (a == nullptr) return absl::OkStatus();
    if (a->type == "CK_BBOOL") {
      if (a->value == "CK_FALSE") return absl::OkStatus();
      return Error(a->line, absl::StrCat(name, " CK_TRUE names no date"));
    }
    if (a->type != "MULTILINE_OCTAL") {
      return Error(a->line, absl::StrCat(name, " must be CK_BBOOL CK_FALSE or a MULTILINE_OCTAL "
                                               "UTCTime, not ", a->type));
    }
    std::optional<absl::Time> t = ParseUtcTime(a->value);
    if (!t) {
      return Error(a->line, absl::StrCat(name, " is not a UTCTime YYMMDDHHMMSSZ: \"",
                                         absl::CHexEscape(a->value.substr(0, 40)), "\""));
    }
    if (!*current || *t < **current) *current = t;
    return absl::OkStatus();
  }

  PurposeTrust TrustFrom(const Object& trust, const char* attribute,
                         std::optional<absl::Time> distrust_after) const {
    const Attribute* a = trust.Find(attribute);
    PurposeTrust out;
    out.level = Level::kNotTrusted;
    if (a != nullptr) out.level = *TrustLevel(a->value);  // Checked by CheckValue.
    out.distrust_after = distrust_after;
    return out;
  }

  struct CertEntry {
    const Object* object;
    CertificatePtr certificate;
    std::string label;
    std::optional<absl::Time> server_distrust_after, email_distrust_after;
    bool has_trust = false;
  };

  // Objects to certificates and trust.
  absl::StatusOr<LoadedTrustSource> Build() {
    std::vector<CertEntry> certs;
    std::map<std::string, size_t> cert_by_key;  // CKA_ISSUER + CKA_SERIAL_NUMBER
    std::vector<const Object*> trusts;
    for (const Object& object : objects_) {
      const Attribute* klass = object.Find("CKA_CLASS");
      if (klass->type != "CK_OBJECT_CLASS") {
        return Error(klass->line, "CKA_CLASS must be of type CK_OBJECT_CLASS");
      }
      if (klass->value == "CKO_NSS_TRUST") {
        trusts.push_back(&object);
        continue;
      }
      if (klass->value != "CKO_CERTIFICATE") continue;  // Documented: skipped.
      absl::StatusOr<CertEntry> entry = ReadCertificate(object);
      if (!entry.ok()) return entry.status();
      const std::string key =
          object.Find("CKA_ISSUER")->value + object.Find("CKA_SERIAL_NUMBER")->value;
      if (!cert_by_key.emplace(key, certs.size()).second) {
        return Error(object.line,
                     absl::StrCat("certificate \"", entry->label, "\" has the issuer and serial "
                                  "number of the certificate of line ",
                                  certs[cert_by_key[key]].object->line));
      }
      certs.push_back(*std::move(entry));
    }

    LoadedTrustSource out;
    out.source = {TrustSource::Kind::kMozillaCertdata, options_.path};
    std::vector<std::optional<SourceCertificate>> matched(certs.size());
    for (const Object* trust : trusts) {
      absl::StatusOr<const Attribute*> issuer = Required(*trust, "CKA_ISSUER");
      if (!issuer.ok()) return issuer.status();
      absl::StatusOr<const Attribute*> serial = Required(*trust, "CKA_SERIAL_NUMBER");
      if (!serial.ok()) return serial.status();
      if (CanonicalSerial((*serial)->value).empty()) {
        return Error((*serial)->line, "CKA_SERIAL_NUMBER is not a DER INTEGER");
      }
      const Attribute* label_attr = trust->Find("CKA_LABEL");
      const std::string label = label_attr != nullptr ? label_attr->value : "";
      std::optional<absl::Time> server_after, email_after;
      absl::Status status = DistrustAfter(*trust, "CKA_NSS_SERVER_DISTRUST_AFTER", &server_after);
      if (status.ok()) status = DistrustAfter(*trust, "CKA_NSS_EMAIL_DISTRUST_AFTER", &email_after);
      if (!status.ok()) return status;

      auto it = cert_by_key.find((*issuer)->value + (*serial)->value);
      CertEntry* cert = it == cert_by_key.end() ? nullptr : &certs[it->second];
      if (cert != nullptr) {
        if (cert->has_trust) {
          return Error(trust->line, absl::StrCat("a second trust object for the certificate of line ",
                                                 cert->object->line));
        }
        cert->has_trust = true;
        status = CheckHash(*trust, "CKA_CERT_SHA1_HASH", EVP_sha1(), *cert);
        if (status.ok()) status = CheckHash(*trust, "CKA_CERT_MD5_HASH", EVP_md5(), *cert);
        if (!status.ok()) return status;
        if (cert->server_distrust_after && (!server_after || *cert->server_distrust_after < *server_after)) {
          server_after = cert->server_distrust_after;
        }
        if (cert->email_distrust_after && (!email_after || *cert->email_distrust_after < *email_after)) {
          email_after = cert->email_distrust_after;
        }
      }
      SourceCertificate entry;
      entry.label = cert != nullptr ? cert->label : label;
      entry.server_auth = TrustFrom(*trust, "CKA_TRUST_SERVER_AUTH", server_after);
      entry.email_protection = TrustFrom(*trust, "CKA_TRUST_EMAIL_PROTECTION", email_after);
      switch (options_.client_auth) {
        case CertdataClientAuth::kAsServerAuth:
          entry.client_auth = entry.server_auth;
          break;
        case CertdataClientAuth::kClientAuthAttribute:
          entry.client_auth = TrustFrom(*trust, "CKA_TRUST_CLIENT_AUTH", std::nullopt);
          break;
        case CertdataClientAuth::kNone:
          entry.client_auth.level = Level::kNotTrusted;
          break;
      }
      const bool distrusts = entry.server_auth.level == Level::kDistrusted ||
                             entry.client_auth.level == Level::kDistrusted;
      if (distrusts) {
        DistrustRecord record;
        record.issuer_der = (*issuer)->value;
        record.serial_der = CanonicalSerial((*serial)->value);
        record.server_auth = entry.server_auth.level == Level::kDistrusted;
        record.client_auth = entry.client_auth.level == Level::kDistrusted;
        record.label = entry.label;
        record.origin = absl::StrCat(out.source.Describe(), " line ", trust->line);
        out.distrust.push_back(std::move(record));
      }
      if (cert == nullptr) {
        // NSS keeps distrust of certificates it does not ship this way; trust
        // needs the certificate's key.
        if (entry.server_auth.level == Level::kTrusted ||
            entry.client_auth.level == Level::kTrusted ||
            entry.email_protection.level == Level::kTrusted) {
          return Error(trust->line,
                       absl::StrCat("trust object \"", label, "\" trusts a certificate the file "
                                    "does not contain (no CKO_CERTIFICATE with its CKA_ISSUER and "
                                    "CKA_SERIAL_NUMBER)"));
        }
        continue;
      }
      entry.certificate = cert->certificate;
      matched[it->second] = std::move(entry);
    }
    for (size_t i = 0; i < certs.size(); ++i) {
      if (!matched[i]) {
        return Error(certs[i].object->line,
                     absl::StrCat("certificate \"", certs[i].label,
                                  "\" has no CKO_NSS_TRUST object (matched by CKA_ISSUER and "
                                  "CKA_SERIAL_NUMBER)"));
      }
      out.certificates.push_back(*std::move(matched[i]));
    }
    return out;
  }

  absl::StatusOr<CertEntry> ReadCertificate(const Object& object) const {
    CertEntry entry;
    entry.object = &object;
    if (const Attribute* label = object.Find("CKA_LABEL")) entry.label = label->value;
    if (const Attribute* type = object.Find("CKA_CERTIFICATE_TYPE");
        type != nullptr && type->value != "CKC_X_509") {
      return Error(type->line, absl::StrCat("certificate type ", type->value, " is not CKC_X_509"));
    }
    absl::StatusOr<const Attribute*> value = Required(object, "CKA_VALUE");
    if (!value.ok()) return value.status();
    absl::StatusOr<const Attribute*> issuer = Required(object, "CKA_ISSUER");
    if (!issuer.ok()) return issuer.status();
    absl::StatusOr<const Attribute*> serial = Required(object, "CKA_SERIAL_NUMBER");
    if (!serial.ok()) return serial.status();
    ParseError error;
    entry.certificate = Certificate::Parse((*value)->value, &error);
    if (entry.certificate == nullptr) {
      return Error((*value)->line, absl::StrCat("certificate \"", entry.label, "\" does not parse: ",
                                                error.id->name, ": ", error.diagnostic));
    }
    const Certificate& cert = *entry.certificate;
    auto name_der = [](X509_NAME* name) {
      unsigned char* der = nullptr;
      const int len = i2d_X509_NAME(name, &der);
      std::string out = len > 0 ? std::string(reinterpret_cast<char*>(der), len) : "";
      OPENSSL_free(der);
      return out;
    };
    if (name_der(cert.issuer()) != (*issuer)->value) {
      return Error((*issuer)->line, absl::StrCat("CKA_ISSUER of \"", entry.label,
                                                 "\" differs from the certificate's issuer"));
    }
    if (const Attribute* subject = object.Find("CKA_SUBJECT");
        subject != nullptr && name_der(cert.subject()) != subject->value) {
      return Error(subject->line, absl::StrCat("CKA_SUBJECT of \"", entry.label,
                                               "\" differs from the certificate's subject"));
    }
    if (CanonicalSerial((*serial)->value) != CanonicalSerial(SerialDer(cert))) {
      return Error((*serial)->line, absl::StrCat("CKA_SERIAL_NUMBER of \"", entry.label,
                                                 "\" differs from the certificate's serial number"));
    }
    absl::Status status =
        DistrustAfter(object, "CKA_NSS_SERVER_DISTRUST_AFTER", &entry.server_distrust_after);
    if (status.ok()) {
      status = DistrustAfter(object, "CKA_NSS_EMAIL_DISTRUST_AFTER", &entry.email_distrust_after);
    }
    if (!status.ok()) return status;
    return entry;
  }

  absl::Status CheckHash(const Object& trust, const std::string& name, const EVP_MD* md,
                         const CertEntry& cert) const {
    const Attribute* a = trust.Find(name);
    if (a == nullptr) return absl::OkStatus();
    if (a->type != "MULTILINE_OCTAL" || a->value != Digest(md, cert.certificate->der())) {
      return Error(a->line, absl::StrCat(name, " does not match the certificate \"", cert.label,
                                         "\" of line ", cert.object->line));
    }
    return absl::OkStatus();
  }

  static std::string SerialDer(const Certificate& cert) {
    unsigned char* der = nullptr;
    const int len = i2d_ASN1_INTEGER(X509_get0_serialNumber(cert.x509()), &der);
    std::string out = len > 0 ? std::string(reinterpret_cast<char*>(der), len) : "";
    OPENSSL_free(der);
    return out;
  }

  // A DER INTEGER as OpenSSL re-encodes it, so that a record matches the
  // certificates TrustStore::FindDistrust keys the same way; "" when it is
  // not an INTEGER.
  static std::string CanonicalSerial(const std::string& der) {
    const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
    ASN1_INTEGER* integer = d2i_ASN1_INTEGER(nullptr, &p, static_cast<long>(der.size()));
    if (integer == nullptr) return "";
    unsigned char* out = nullptr;
    const int len = i2d_ASN1_INTEGER(integer, &out);
    ASN1_INTEGER_free(integer);
    std::string result = len > 0 ? std::string(reinterpret_cast<char*>(out), len) : "";
    OPENSSL_free(out);
    return result;
  }

  const CertdataOptions& options_;
  std::vector<Object> objects_;
  int multiline_line_ = 0;
};

}  // namespace

absl::StatusOr<LoadedTrustSource> ParseCertdata(absl::string_view text,
                                                const CertdataOptions& options) {
  return Parser(options).Parse(text);
}

absl::StatusOr<LoadedTrustSource> LoadCertdataFile(const CertdataOptions& options) {
  struct stat st;
  if (stat(options.path.c_str(), &st) != 0) {
    return absl::NotFoundError(absl::StrCat("cannot open ", options.path));
  }
  if (!S_ISREG(st.st_mode)) {
    return absl::InvalidArgumentError(absl::StrCat(options.path, " is not a regular file"));
  }
  if (static_cast<uint64_t>(st.st_size) > kCertdataMaxBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(options.path, ": ", st.st_size, " bytes, over the limit of ",
                     kCertdataMaxBytes, " for a certdata.txt file"));
  }
  absl::StatusOr<std::string> text = ReadFileToString(options.path);
  if (!text.ok()) return text.status();
  return ParseCertdata(*text, options);
}

}  // namespace chainverify::pki
