// Owning pointers for OpenSSL objects, in the style of BoringSSL's bssl::UniquePtr.
#ifndef CHAINVERIFY_SERVER_PKI_OPENSSL_UTIL_H_
#define CHAINVERIFY_SERVER_PKI_OPENSSL_UTIL_H_

#include <memory>
#include <string>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace chainverify::pki {

template <typename T, void (*Free)(T*)>
struct OpenSslDeleter {
  void operator()(T* p) const { Free(p); }
};

using X509Ptr = std::unique_ptr<X509, OpenSslDeleter<X509, X509_free>>;
using EvpPkeyPtr =
    std::unique_ptr<EVP_PKEY, OpenSslDeleter<EVP_PKEY, EVP_PKEY_free>>;
using X509NamePtr =
    std::unique_ptr<X509_NAME, OpenSslDeleter<X509_NAME, X509_NAME_free>>;
using X509CrlPtr =
    std::unique_ptr<X509_CRL, OpenSslDeleter<X509_CRL, X509_CRL_free>>;

// Lowercase hex of `bytes`.
std::string HexEncode(absl::string_view bytes);

// SHA-256 of `data`, raw 32 bytes.
std::string Sha256(absl::string_view data);

// The text of OpenSSL's error queue (and clears it), for diagnostics.
std::string DrainOpenSslErrors();

// RFC 2253 text of a name (UTF-8 kept as is), for diagnostics and details.
std::string NameToString(const X509_NAME* name);

// "2026-11-27T02:30:00Z".
std::string TimeToString(absl::Time t);

// Dotted text of an OID ("2.5.29.20"); "" when it has none.
std::string OidToString(const ASN1_OBJECT* obj);
// Dotted text plus OpenSSL's long name when known: "2.5.29.20 (X509v3 CRL Number)".
std::string OidToDescription(const ASN1_OBJECT* obj);

}  // namespace chainverify::pki

#endif  // CHAINVERIFY_SERVER_PKI_OPENSSL_UTIL_H_
