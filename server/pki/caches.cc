#include "server/pki/caches.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "server/pki/openssl_util.h"

namespace chainverify::pki {
namespace {

// Per-certificate allowance beyond the DER: the EVP_PKEY (an RSA-2048 key
// with its provider-side copy is a few KB), the X509 structure's decoded
// names and extensions, our Certificate fields and the LRU bookkeeping, and
// the serialized CertificateDetails once a verdict shows it (another copy of
// the DER plus about 1 KB of names and fingerprints).
constexpr size_t kCertificateOverhead = 5120;

std::string EdgeKey(const Certificate& child, const Certificate& issuer) {
  // Child first: the shard follows the child's hash, which is uniform.
  return absl::StrCat(child.sha256(), issuer.spki_sha256());
}

}  // namespace

VerifierCaches::VerifierCaches(const Options& options)
    : certificates_(options.certificate_bytes),
      signatures_(options.signature_entries),
      results_(options.result_bytes) {}

size_t VerifierCaches::CertificateCost(const Certificate& cert) {
  return 3 * cert.der().size() + kCertificateOverhead;
}

CertificatePtr VerifierCaches::ParseCertificate(absl::string_view der, ParseError* error) {
  return ParseCertificate(der, Sha256(der), error);
}

CertificatePtr VerifierCaches::ParseCertificate(absl::string_view der, const std::string& sha256,
                                                ParseError* error) {
  if (std::optional<CertificatePtr> hit = certificates_.Get(sha256)) {
    // Defence in depth: the bytes, not just their hash, must be the same.
    if ((*hit)->der() == der) return *std::move(hit);
  }
  CertificatePtr cert = Certificate::Parse(der, error, &sha256);
  if (cert != nullptr) certificates_.Put(sha256, cert, CertificateCost(*cert));
  return cert;
}

std::optional<bool> VerifierCaches::LookupSignature(const Certificate& child,
                                                    const Certificate& issuer) {
  return signatures_.Get(EdgeKey(child, issuer));
}

void VerifierCaches::RecordSignature(const Certificate& child, const Certificate& issuer,
                                     bool valid) {
  signatures_.Put(EdgeKey(child, issuer), valid, 1);
}

std::shared_ptr<const CachedResult> VerifierCaches::LookupResult(absl::string_view key) {
  std::optional<std::shared_ptr<const CachedResult>> hit = results_.Get(key);
  return hit ? *std::move(hit) : nullptr;
}

void VerifierCaches::RecordResult(absl::string_view key,
                                  std::shared_ptr<const CachedResult> entry, size_t cost) {
  // Replaces: the entry there may be for another time window of the same key.
  results_.Put(key, std::move(entry), cost, /*replace=*/true);
}

void VerifierCaches::Clear() {
  certificates_.Clear();
  signatures_.Clear();
  results_.Clear();
}

VerifierCacheStats VerifierCaches::Stats() const {
  return {certificates_.Stats(), signatures_.Stats(), results_.Stats()};
}

}  // namespace chainverify::pki
