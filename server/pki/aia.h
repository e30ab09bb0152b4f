// Authority Information Access (RFC 5280 4.2.2.1): the URLs a certificate
// names for its issuer's certificates (caIssuers) and its OCSP responder, the
// formats CAs serve at a caIssuers URL, and the delegate through which the
// path builder fetches a missing issuer. No network access in here: fetching
// is the delegate's (server/revocation, the one safe HTTP fetcher).
#ifndef CHAINVERIFY_SERVER_PKI_AIA_H_
#define CHAINVERIFY_SERVER_PKI_AIA_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/pki/certificate.h"

namespace chainverify::pki {

// The http and https URLs of `cert`'s authorityInfoAccess entries with access
// method `method_nid` (NID_ad_ca_issuers, NID_ad_OCSP), in order. A URI that is
// not printable ASCII is skipped: IA5String is 7-bit (RFC 5280 7.2), and a URL
// is ASCII (RFC 3986 2).
std::vector<std::string> AuthorityInfoAccessUrls(const Certificate& cert, int method_nid);
std::vector<std::string> CaIssuersUrls(const Certificate& cert);

// The certificates (DER) in a caIssuers response, in any form CAs serve
// (RFC 5280 4.2.2.1 names the first two; the third is common): one DER
// certificate, a DER PKCS#7 "certs-only" SignedData (.p7c), or PEM holding
// CERTIFICATE or PKCS7 blocks. More than `max_certificates` certificates is an
// error, as is anything else; the certificates themselves are parsed later
// (Certificate::Parse), so a malformed one inside a valid container is still
// returned.
absl::StatusOr<std::vector<std::string>> ParseIssuerResponse(absl::string_view body,
                                                             size_t max_certificates);

// Fetches caIssuers URLs for the path builder. Implemented by
// server/revocation/aia_fetcher.h over the safe fetcher (allow-list, private
// addresses refused, timeouts, size cap, a cache that coalesces concurrent
// fetches of one URL). A delegate so the core stays free of network policy and
// tests can substitute a server on loopback.
class IssuerFetcher {
 public:
  struct Response {
    std::string body;
    // Answered from the fetch cache, without a transfer.
    bool from_cache = false;
  };

  virtual ~IssuerFetcher() = default;
  // The body served at `url`. Waits no later than `deadline` (the request's);
  // a transfer cut short by it is DEADLINE_EXCEEDED and not cached.
  virtual absl::StatusOr<Response> Fetch(const std::string& url, absl::Time deadline) = 0;
  // Running totals by outcome ("hit", "miss", "failure", ...), for metrics.
  virtual std::vector<std::pair<std::string, uint64_t>> Counters() const { return {}; }
};

}  // namespace chainverify::pki

#endif  // CHAINVERIFY_SERVER_PKI_AIA_H_
