#include "server/revocation/revocation_fetcher.h"

#include <openssl/ocsp.h>
#include <openssl/x509.h>

#include "server/pki/crl.h"
#include "server/pki/ocsp.h"

namespace chainverify::revocation {

std::optional<absl::Time> CrlNextUpdate(const std::string& der) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  X509_CRL* crl = d2i_X509_CRL(nullptr, &p, static_cast<long>(der.size()));
  if (crl == nullptr) return std::nullopt;
  absl::Time next;
  const bool ok = pki::Asn1TimeToAbsl(X509_CRL_get0_nextUpdate(crl), &next);
  X509_CRL_free(crl);
  return ok ? std::optional<absl::Time>(next) : std::nullopt;
}

std::optional<absl::Time> OcspNextUpdate(const std::string& der) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  OCSP_RESPONSE* response = d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(der.size()));
  if (response == nullptr) return std::nullopt;
  std::optional<absl::Time> out;
  if (OCSP_BASICRESP* basic = OCSP_response_get1_basic(response)) {
    if (OCSP_resp_count(basic) > 0) {
      ASN1_GENERALIZEDTIME* next_update = nullptr;
      OCSP_single_get0_status(OCSP_resp_get0(basic, 0), nullptr, nullptr, nullptr,
                              &next_update);
      absl::Time next;
      if (next_update != nullptr && pki::Asn1TimeToAbsl(next_update, &next)) out = next;
    }
    OCSP_BASICRESP_free(basic);
  }
  OCSP_RESPONSE_free(response);
  return out;
}

namespace {

// The fetcher's expiry callbacks speak absl::optional.
Fetcher::ExpiryFn ExpiryFrom(std::optional<absl::Time> (*next_update)(const std::string&)) {
  return [next_update](const std::string& body) -> absl::optional<absl::Time> {
    std::optional<absl::Time> t = next_update(body);
    if (!t) return absl::nullopt;
    return *t;
  };
}

}  // namespace

absl::StatusOr<std::string> HttpRevocationFetcher::FetchOcsp(const pki::Certificate& cert,
                                                             const pki::Certificate& issuer) {
  absl::StatusOr<std::string> request = pki::BuildOcspRequest(cert, issuer);
  if (!request.ok()) return request.status();
  absl::Status last = absl::NotFoundError("the certificate names no OCSP responder");
  for (const std::string& url : pki::OcspResponderUrls(cert)) {
    absl::StatusOr<FetchResult> fetched =
        fetcher_.CachedPost(url, *request, "application/ocsp-request",
                            ExpiryFrom(OcspNextUpdate));
    if (fetched.ok()) return fetched->body;
    last = fetched.status();
  }
  return last;
}

std::vector<std::pair<std::string, uint64_t>> HttpRevocationFetcher::Counters() const {
  return fetcher_.stats().ByOutcome();
}

std::vector<std::string> HttpRevocationFetcher::FetchCrls(const pki::Certificate& cert) {
  std::vector<std::string> crls;
  for (const std::string& url : pki::CrlDistributionPointUrls(cert)) {
    absl::StatusOr<FetchResult> fetched = fetcher_.CachedGet(url, ExpiryFrom(CrlNextUpdate));
    if (fetched.ok()) crls.push_back(fetched->body);
  }
  return crls;
}

}  // namespace chainverify::revocation
