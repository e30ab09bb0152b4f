#include "server/pki/aia.h"

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/x509v3.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/pki/crl.h"

namespace chainverify::pki {
namespace {

using Pkcs7Ptr = std::unique_ptr<PKCS7, OpenSslDeleter<PKCS7, PKCS7_free>>;
using BioPtr = std::unique_ptr<BIO, OpenSslDeleter<BIO, BIO_free_all>>;

absl::Status TooMany(size_t max_certificates) {
  return absl::InvalidArgumentError(
      absl::StrCat("more than ", max_certificates, " certificates in the response"));
}

// The certificates of a DER PKCS#7 SignedData (RFC 2315 9.1; "certs-only":
// no content, no signers, RFC 5280 4.2.2.1).
absl::Status AppendPkcs7Certificates(absl::string_view der, size_t max_certificates,
                                     std::vector<std::string>* out) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  Pkcs7Ptr p7(d2i_PKCS7(nullptr, &p, static_cast<long>(der.size())));
  if (p7 == nullptr) {
    ERR_clear_error();
    return absl::InvalidArgumentError("PKCS#7 does not parse");
  }
  if (OBJ_obj2nid(p7->type) != NID_pkcs7_signed || p7->d.sign == nullptr) {
    return absl::InvalidArgumentError("PKCS#7 is not SignedData");
  }
  STACK_OF(X509)* certs = p7->d.sign->cert;
  const int n = certs == nullptr ? 0 : sk_X509_num(certs);
  if (out->size() + n > max_certificates) return TooMany(max_certificates);
  for (int i = 0; i < n; ++i) {
    unsigned char* cert_der = nullptr;
    const int len = i2d_X509(sk_X509_value(certs, i), &cert_der);
    if (len <= 0) return absl::InvalidArgumentError("PKCS#7 certificate does not re-encode");
    out->emplace_back(reinterpret_cast<char*>(cert_der), len);
    OPENSSL_free(cert_der);
  }
  return absl::OkStatus();
}

absl::Status AppendPemBlocks(absl::string_view pem, size_t max_certificates,
                             std::vector<std::string>* out) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  for (;;) {
    char* name = nullptr;
    char* header = nullptr;
    unsigned char* data = nullptr;
    long len = 0;  // NOLINT(runtime/int): OpenSSL's type.
    if (PEM_read_bio(bio.get(), &name, &header, &data, &len) != 1) {
      ERR_clear_error();  // End of input.
      return absl::OkStatus();
    }
    const std::string label = name;
    std::string der(reinterpret_cast<char*>(data), len);
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(data);
    if (label == PEM_STRING_PKCS7) {
      absl::Status status = AppendPkcs7Certificates(der, max_certificates, out);
      if (!status.ok()) return status;
    } else if (label == PEM_STRING_X509 || label == PEM_STRING_X509_OLD) {
      if (out->size() >= max_certificates) return TooMany(max_certificates);
      out->push_back(std::move(der));
    }
  }
}

// DER starting with a SEQUENCE whose first element is an OBJECT IDENTIFIER: a
// ContentInfo (PKCS#7). A certificate's first element is the TBSCertificate
// SEQUENCE.
bool LooksLikeContentInfo(absl::string_view der) {
  if (der.size() < 4 || static_cast<uint8_t>(der[0]) != 0x30) return false;
  size_t i = 1;
  const uint8_t first_length = static_cast<uint8_t>(der[i++]);
  if (first_length & 0x80) i += first_length & 0x7f;  // Long form length octets.
  return i < der.size() && static_cast<uint8_t>(der[i]) == 0x06;
}

}  // namespace

std::vector<std::string> AuthorityInfoAccessUrls(const Certificate& cert, int method_nid) {
  std::vector<std::string> urls;
  auto* aia = static_cast<AUTHORITY_INFO_ACCESS*>(
      X509_get_ext_d2i(cert.x509(), NID_info_access, nullptr, nullptr));
  ERR_clear_error();
  if (aia == nullptr) return urls;
  for (int i = 0; i < sk_ACCESS_DESCRIPTION_num(aia); ++i) {
    const ACCESS_DESCRIPTION* ad = sk_ACCESS_DESCRIPTION_value(aia, i);
    if (OBJ_obj2nid(ad->method) != method_nid || ad->location == nullptr ||
        ad->location->type != GEN_URI) {
      continue;
    }
    const ASN1_IA5STRING* uri = ad->location->d.uniformResourceIdentifier;
    std::string url(reinterpret_cast<const char*>(ASN1_STRING_get0_data(uri)),
                    ASN1_STRING_length(uri));
    if (!IsPrintableAscii(url)) continue;
    if (!absl::StartsWithIgnoreCase(url, "http://") &&
        !absl::StartsWithIgnoreCase(url, "https://")) {
      continue;
    }
    urls.push_back(std::move(url));
  }
  AUTHORITY_INFO_ACCESS_free(aia);
  return urls;
}

std::vector<std::string> CaIssuersUrls(const Certificate& cert) {
  return AuthorityInfoAccessUrls(cert, NID_ad_ca_issuers);
}

absl::StatusOr<std::vector<std::string>> ParseIssuerResponse(absl::string_view body,
                                                             size_t max_certificates) {
  std::vector<std::string> out;
  if (body.empty()) return absl::InvalidArgumentError("empty response");
  if (absl::StrContains(body, "-----BEGIN ")) {
    absl::Status status = AppendPemBlocks(body, max_certificates, &out);
    if (!status.ok()) return status;
    if (out.empty()) return absl::InvalidArgumentError("PEM response holds no certificate");
    return out;
  }
  if (LooksLikeContentInfo(body)) {
    absl::Status status = AppendPkcs7Certificates(body, max_certificates, &out);
    if (!status.ok()) return status;
    if (out.empty()) return absl::InvalidArgumentError("PKCS#7 response holds no certificate");
    return out;
  }
  if (static_cast<uint8_t>(body[0]) != 0x30) {
    return absl::InvalidArgumentError("neither a DER certificate, PKCS#7 nor PEM");
  }
  out.emplace_back(body);  // One DER certificate; Certificate::Parse judges it.
  return out;
}

}  // namespace chainverify::pki
