#include "server/revocation/revocation_fetcher.h"

#include <openssl/ocsp.h>
#include <openssl/x509.h>

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
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
                                                             const pki::Certificate& issuer,
                                                             absl::Time deadline) {
  absl::StatusOr<std::string> request = pki::BuildOcspRequest(cert, issuer);
  if (!request.ok()) return request.status();
  absl::Status last = absl::NotFoundError("the certificate names no OCSP responder");
  for (const std::string& url : pki::OcspResponderUrls(cert)) {
    absl::StatusOr<FetchResult> fetched =
        fetcher_.CachedPost(url, *request, "application/ocsp-request",
                            ExpiryFrom(OcspNextUpdate), deadline);
    if (fetched.ok()) return fetched->body;
    last = fetched.status();
  }
  return last;
}

namespace {

FetchPolicy WithMaxBytes(FetchPolicy policy, size_t max_bytes) {
  policy.max_response_bytes = max_bytes;
  return policy;
}

}  // namespace

HttpRevocationFetcher::HttpRevocationFetcher(FetchPolicy policy, CrlCacheOptions crl_options)
    : fetcher_(policy),
      crl_fetcher_(WithMaxBytes(policy, crl_options.max_crl_bytes)),
      crl_options_(crl_options) {}

std::vector<std::pair<std::string, uint64_t>> HttpRevocationFetcher::Counters() const {
  std::vector<std::pair<std::string, uint64_t>> counters = fetcher_.stats().ByOutcome();
  const std::vector<std::pair<std::string, uint64_t>> crl = crl_fetcher_.stats().ByOutcome();
  for (size_t i = 0; i < counters.size() && i < crl.size(); ++i) {
    counters[i].second += crl[i].second;
  }
  return counters;
}

absl::StatusOr<std::shared_ptr<const pki::CrlSet>> HttpRevocationFetcher::FetchCrl(
    const std::string& url, absl::Time deadline) {
  const absl::Time now = absl::Now();
  {
    absl::MutexLock lock(&mu_);
    auto it = parsed_.find(url);
    if (it != parsed_.end() && now < it->second.expires) {
      it->second.last_used = ++clock_;
      return it->second.set;
    }
  }
  // The body cache coalesces concurrent fetches of one URL; two requests that
  // miss here together may both parse it, and the second result is kept.
  absl::StatusOr<FetchResult> fetched =
      crl_fetcher_.CachedGet(url, ExpiryFrom(CrlNextUpdate), deadline);
  if (!fetched.ok()) {
    return absl::Status(fetched.status().code(),
                        absl::StrCat(url, ": ", fetched.status().message()));
  }
  std::vector<std::string> errors;
  std::vector<std::string> bodies;
  bodies.push_back(std::move(fetched->body));
  std::shared_ptr<const pki::CrlSet> set = pki::CrlSet::Parse(std::move(bodies), &errors);
  if (set->empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(url, ": ", errors.empty() ? "not a CRL" : errors[0]));
  }
  const std::optional<absl::Time> next = set->NextUpdate();
  const absl::Time expires =
      std::min(next.value_or(now), now + crl_options_.max_ttl);
  absl::MutexLock lock(&mu_);
  if (auto it = parsed_.find(url); it != parsed_.end()) {
    parsed_bytes_ -= it->second.set->der_bytes();
    parsed_.erase(it);
  }
  const size_t bytes = set->der_bytes();
  if (expires > now && bytes <= crl_options_.max_cached_bytes) {
    // Least recently used out until it fits.
    while (parsed_bytes_ + bytes > crl_options_.max_cached_bytes && !parsed_.empty()) {
      auto oldest = parsed_.begin();
      for (auto it = parsed_.begin(); it != parsed_.end(); ++it) {
        if (it->second.last_used < oldest->second.last_used) oldest = it;
      }
      parsed_bytes_ -= oldest->second.set->der_bytes();
      parsed_.erase(oldest);
    }
    parsed_[url] = ParsedEntry{set, expires, ++clock_};
    parsed_bytes_ += bytes;
  }
  return set;
}

pki::RevocationFetcher::FetchedCrls HttpRevocationFetcher::FetchCrls(
    const pki::Certificate& cert, absl::Time deadline) {
  FetchedCrls out;
  std::vector<std::string> urls = pki::CrlDistributionPointUrls(cert);
  for (std::string& url : pki::FreshestCrlUrls(cert)) urls.push_back(std::move(url));
  std::set<std::string> done;
  // Complete CRLs' freshestCRL URLs are appended as they are fetched (5.2.6),
  // one level deep: what a delta names is not followed.
  for (size_t i = 0; i < urls.size(); ++i) {
    if (!done.insert(urls[i]).second) continue;
    if (done.size() > kMaxCrlUrlsPerCertificate) {
      out.errors.push_back(absl::StrCat("more than ", kMaxCrlUrlsPerCertificate,
                                        " CRL URLs for one certificate; the rest not fetched"));
      break;
    }
    absl::StatusOr<std::shared_ptr<const pki::CrlSet>> set = FetchCrl(urls[i], deadline);
    if (!set.ok()) {
      out.errors.push_back(absl::StrCat("CRL fetch failed: ", set.status().message()));
      continue;
    }
    for (std::string& delta_url : (*set)->FreshestCrlUrls()) urls.push_back(std::move(delta_url));
    out.sets.push_back(*std::move(set));
  }
  return out;
}

}  // namespace chainverify::revocation
