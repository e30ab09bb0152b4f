// The core's RevocationFetcher over the safe HTTP fetcher: OCSP POSTs to the
// certificate's responder (RFC 6960 A.1) and CRL GETs from its distribution
// points (RFC 5280 4.2.1.13), cached until the data's nextUpdate.
#ifndef CHAINVERIFY_SERVER_REVOCATION_REVOCATION_FETCHER_H_
#define CHAINVERIFY_SERVER_REVOCATION_REVOCATION_FETCHER_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "server/pki/policy_rules.h"
#include "server/revocation/fetcher.h"

namespace chainverify::revocation {

class HttpRevocationFetcher : public pki::RevocationFetcher {
 public:
  explicit HttpRevocationFetcher(FetchPolicy policy) : fetcher_(std::move(policy)) {}

  absl::StatusOr<std::string> FetchOcsp(const pki::Certificate& cert,
                                        const pki::Certificate& issuer) override;
  std::vector<std::string> FetchCrls(const pki::Certificate& cert) override;

  std::vector<std::pair<std::string, uint64_t>> Counters() const override;

 private:
  Fetcher fetcher_;
};

// nextUpdate of a DER CRL / of the first SingleResponse of a DER OCSP
// response, for cache expiry; nullopt when absent or unparsable.
std::optional<absl::Time> CrlNextUpdate(const std::string& der);
std::optional<absl::Time> OcspNextUpdate(const std::string& der);

}  // namespace chainverify::revocation

#endif  // CHAINVERIFY_SERVER_REVOCATION_REVOCATION_FETCHER_H_
