// The core's IssuerFetcher over the safe HTTP fetcher: GETs of caIssuers URLs
// (RFC 5280 4.2.2.1), through the fetcher's allow-list, address checks,
// timeouts and size cap, cached (bodies and failures) and coalesced per URL.
#ifndef CHAINVERIFY_SERVER_REVOCATION_AIA_FETCHER_H_
#define CHAINVERIFY_SERVER_REVOCATION_AIA_FETCHER_H_

#include <string>
#include <utility>
#include <vector>

#include "server/pki/aia.h"
#include "server/revocation/fetcher.h"

namespace chainverify::revocation {

class HttpIssuerFetcher : public pki::IssuerFetcher {
 public:
  explicit HttpIssuerFetcher(FetchPolicy policy) : fetcher_(std::move(policy)) {}

  absl::StatusOr<Response> Fetch(const std::string& url, absl::Time deadline) override;
  std::vector<std::pair<std::string, uint64_t>> Counters() const override;

 private:
  Fetcher fetcher_;
};

// Defaults for caIssuers fetching, tighter than for revocation data: a fetch
// sits on the path of a TLS handshake. Chromium caps a caIssuers response at
// 64 KiB; a certificate rarely passes 2 KiB.
FetchPolicy DefaultIssuerFetchPolicy();

}  // namespace chainverify::revocation

#endif  // CHAINVERIFY_SERVER_REVOCATION_AIA_FETCHER_H_
