#include "server/pki/openssl_util.h"

#include <openssl/err.h>
#include <openssl/bio.h>
#include <openssl/objects.h>
#include <openssl/sha.h>

#include "absl/strings/str_cat.h"

namespace chainverify::pki {

std::string HexEncode(absl::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 0xf]);
  }
  return out;
}

std::string Sha256(absl::string_view data) {
  // Fetched once: SHA256() fetches the implementation on every call (OpenSSL
  // 3.0), which costs more than hashing a certificate.
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  if (md == nullptr ||
      EVP_Digest(data.data(), data.size(), digest, nullptr, md, nullptr) != 1) {
    SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  }
  return std::string(reinterpret_cast<char*>(digest), sizeof(digest));
}

std::string DrainOpenSslErrors() {
  std::string out;
  unsigned long code;
  while ((code = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof(buf));
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out;
}

std::string NameToString(const X509_NAME* name) {
  std::unique_ptr<BIO, OpenSslDeleter<BIO, BIO_free_all>> bio(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, len);
}

std::string TimeToString(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

std::string OidToString(const ASN1_OBJECT* obj) {
  const int len = OBJ_obj2txt(nullptr, 0, obj, /*no_name=*/1);
  if (len <= 0) return "";
  std::string text(static_cast<size_t>(len) + 1, '\0');
  OBJ_obj2txt(&text[0], len + 1, obj, /*no_name=*/1);
  text.resize(static_cast<size_t>(len));
  return text;
}

std::string OidToDescription(const ASN1_OBJECT* obj) {
  const int nid = OBJ_obj2nid(obj);
  if (nid == NID_undef) return OidToString(obj);
  return absl::StrCat(OidToString(obj), " (", OBJ_nid2ln(nid), ")");
}

}  // namespace chainverify::pki
