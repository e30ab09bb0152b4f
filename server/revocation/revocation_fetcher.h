// The core's RevocationFetcher over the safe HTTP fetcher: OCSP POSTs to the
// certificate's responder (RFC 6960 A.1) and CRL GETs from its distribution
// points (RFC 5280 4.2.1.13), cached until the data's nextUpdate.
//
// CRLs: the certificate's cRLDistributionPoints and freshestCRL URLs, then
// the freshestCRL URLs of the complete CRLs fetched (5.2.6, one level: a
// delta's own freshestCRL is not followed), each URL once, at most
// kMaxCrlUrlsPerCertificate in all. Each CRL body is parsed once and the
// parsed set is shared across requests until the CRL's nextUpdate (at most
// CrlCacheOptions::max_ttl); the parsed cache holds at most
// max_cached_bytes of CRL DER (least recently used out first). A body larger
// than max_crl_bytes is refused by the transfer itself.
#ifndef CHAINVERIFY_SERVER_REVOCATION_REVOCATION_FETCHER_H_
#define CHAINVERIFY_SERVER_REVOCATION_REVOCATION_FETCHER_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "server/pki/crl.h"
#include "server/pki/policy_rules.h"
#include "server/revocation/fetcher.h"

namespace chainverify::revocation {

inline constexpr size_t kMaxCrlUrlsPerCertificate = 8;

struct CrlCacheOptions {
  // Largest CRL body accepted (FetchSettings.max_crl_bytes).
  size_t max_crl_bytes = 64 << 20;
  // CRL DER bytes kept parsed across requests.
  size_t max_cached_bytes = 256 << 20;
  // A parsed CRL is reused until its nextUpdate, and at most this long.
  absl::Duration max_ttl = absl::Hours(24);
};

class HttpRevocationFetcher : public pki::RevocationFetcher {
 public:
  explicit HttpRevocationFetcher(FetchPolicy policy, CrlCacheOptions crl_options = {});

  absl::StatusOr<std::string> FetchOcsp(const pki::Certificate& cert,
                                        const pki::Certificate& issuer,
                                        absl::Time deadline) override;
  FetchedCrls FetchCrls(const pki::Certificate& cert, absl::Time deadline) override;

  std::vector<std::pair<std::string, uint64_t>> Counters() const override;

 private:
  struct ParsedEntry {
    std::shared_ptr<const pki::CrlSet> set;
    absl::Time expires;
    uint64_t last_used = 0;
  };
  // The parsed CRL at `url`, from the cache or fetched; or why not.
  absl::StatusOr<std::shared_ptr<const pki::CrlSet>> FetchCrl(const std::string& url,
                                                              absl::Time deadline);

  Fetcher fetcher_;      // OCSP.
  Fetcher crl_fetcher_;  // CRLs: max_response_bytes = max_crl_bytes.
  const CrlCacheOptions crl_options_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, ParsedEntry> parsed_ ABSL_GUARDED_BY(mu_);
  size_t parsed_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t clock_ ABSL_GUARDED_BY(mu_) = 0;
};

// nextUpdate of a DER CRL / of the first SingleResponse of a DER OCSP
// response, for cache expiry; nullopt when absent or unparsable.
std::optional<absl::Time> CrlNextUpdate(const std::string& der);
std::optional<absl::Time> OcspNextUpdate(const std::string& der);

}  // namespace chainverify::revocation

#endif  // CHAINVERIFY_SERVER_REVOCATION_REVOCATION_FETCHER_H_
