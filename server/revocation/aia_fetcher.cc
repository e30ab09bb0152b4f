#include "server/revocation/aia_fetcher.h"

namespace chainverify::revocation {

FetchPolicy DefaultIssuerFetchPolicy() {
  FetchPolicy policy;
  policy.connect_timeout = absl::Seconds(1);
  policy.total_timeout = absl::Milliseconds(1500);
  policy.max_response_bytes = 64 << 10;
  // A CA's certificate does not change at its URL; an hour bounds how long a
  // replaced one is served. Failures are kept 30 s so a dead host is not
  // asked again for every handshake.
  policy.default_ttl = absl::Hours(1);
  policy.negative_ttl = absl::Seconds(30);
  return policy;
}

absl::StatusOr<pki::IssuerFetcher::Response> HttpIssuerFetcher::Fetch(const std::string& url,
                                                                    absl::Time deadline) {
  // No expiry in the body (a certificate's notAfter is years away): default_ttl.
  absl::StatusOr<FetchResult> fetched = fetcher_.CachedGet(url, nullptr, deadline);
  if (!fetched.ok()) return fetched.status();
  return Response{std::move(fetched->body), fetched->from_cache};
}

std::vector<std::pair<std::string, uint64_t>> HttpIssuerFetcher::Counters() const {
  return fetcher_.stats().ByOutcome();
}

}  // namespace chainverify::revocation
