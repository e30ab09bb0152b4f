#include "tests/testutil/certdata_writer.h"

#include <cstdio>
#include <memory>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "absl/strings/str_cat.h"

namespace chainverify::testing {
namespace {

std::string Digest(const EVP_MD* md, absl::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, md, nullptr);
  return std::string(reinterpret_cast<char*>(out), len);
}

template <typename T, int (*I2d)(const T*, unsigned char**)>
std::string ToDer(const T* value) {
  unsigned char* der = nullptr;
  const int len = I2d(value, &der);
  std::string out(reinterpret_cast<char*>(der), len > 0 ? len : 0);
  OPENSSL_free(der);
  return out;
}

std::string Octal(const char* attribute, absl::string_view bytes) {
  return absl::StrCat(attribute, " MULTILINE_OCTAL\n", CertdataOctal(bytes));
}

std::string DistrustAfter(const char* attribute, const std::optional<std::string>& time) {
  if (!time) return absl::StrCat(attribute, " CK_BBOOL CK_FALSE\n");
  return Octal(attribute, *time);
}

std::string Trust(const char* attribute, const std::string& value) {
  return value.empty() ? "" : absl::StrCat(attribute, " CK_TRUST ", value, "\n");
}

}  // namespace

std::string CertdataOctal(absl::string_view bytes) {
  std::string out;
  for (size_t i = 0; i < bytes.size(); ++i) {
    char escape[5];
    std::snprintf(escape, sizeof(escape), "\\%03o", static_cast<unsigned char>(bytes[i]));
    out += escape;
    if (i % 16 == 15 || i + 1 == bytes.size()) out += "\n";
  }
  return out + "END\n";
}

std::string CertdataFile(const std::vector<CertdataEntry>& entries) {
  std::string out =
      "#\n# certdata.txt written by tests/testutil/certdata_writer.cc\n#\n"
      "BEGINDATA\n"
      "CKA_CLASS CK_OBJECT_CLASS CKO_NSS_BUILTIN_ROOT_LIST\n"
      "CKA_TOKEN CK_BBOOL CK_TRUE\n"
      "CKA_LABEL UTF8 \"Test Builtin Roots\"\n";
  for (const CertdataEntry& e : entries) {
    const unsigned char* p = reinterpret_cast<const unsigned char*>(e.der.data());
    std::unique_ptr<X509, void (*)(X509*)> x(d2i_X509(nullptr, &p, static_cast<long>(e.der.size())),
                                            X509_free);
    if (x == nullptr) return "";  // The caller's certificate is broken.
    const std::string issuer = ToDer<X509_NAME, i2d_X509_NAME>(X509_get_issuer_name(x.get()));
    const std::string subject = ToDer<X509_NAME, i2d_X509_NAME>(X509_get_subject_name(x.get()));
    const std::string serial =
        ToDer<ASN1_INTEGER, i2d_ASN1_INTEGER>(X509_get0_serialNumber(x.get()));
    if (e.include_certificate) {
      absl::StrAppend(&out, "\n# Certificate \"", e.label, "\"\n",
                      "CKA_CLASS CK_OBJECT_CLASS CKO_CERTIFICATE\n",
                      "CKA_TOKEN CK_BBOOL CK_TRUE\n",
                      "CKA_LABEL UTF8 \"", e.label, "\"\n",
                      "CKA_CERTIFICATE_TYPE CK_CERTIFICATE_TYPE CKC_X_509\n",
                      Octal("CKA_SUBJECT", subject), "CKA_ID UTF8 \"0\"\n",
                      Octal("CKA_ISSUER", issuer), Octal("CKA_SERIAL_NUMBER", serial),
                      Octal("CKA_VALUE", e.der), "CKA_NSS_MOZILLA_CA_POLICY CK_BBOOL CK_TRUE\n",
                      DistrustAfter("CKA_NSS_SERVER_DISTRUST_AFTER", e.server_distrust_after),
                      DistrustAfter("CKA_NSS_EMAIL_DISTRUST_AFTER", e.email_distrust_after));
    }
    absl::StrAppend(&out, "\n# Trust for \"", e.label, "\"\n",
                    "CKA_CLASS CK_OBJECT_CLASS CKO_NSS_TRUST\n", "CKA_TOKEN CK_BBOOL CK_TRUE\n",
                    "CKA_LABEL UTF8 \"", e.label, "\"\n",
                    Octal("CKA_CERT_SHA1_HASH", Digest(EVP_sha1(), e.der)),
                    Octal("CKA_CERT_MD5_HASH", Digest(EVP_md5(), e.der)),
                    Octal("CKA_ISSUER", issuer), Octal("CKA_SERIAL_NUMBER", serial),
                    Trust("CKA_TRUST_SERVER_AUTH", e.server_auth),
                    Trust("CKA_TRUST_CLIENT_AUTH", e.client_auth),
                    Trust("CKA_TRUST_EMAIL_PROTECTION", e.email_protection),
                    "CKA_TRUST_CODE_SIGNING CK_TRUST CKT_NSS_MUST_VERIFY_TRUST\n",
                    "CKA_TRUST_STEP_UP_APPROVED CK_BBOOL CK_FALSE\n");
  }
  return out;
}

}  // namespace chainverify::testing
