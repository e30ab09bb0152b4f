// The trust policy's rules that go beyond RFC 5280 validation, applied to
// every candidate path by ChainValidator: revocation, pins, the denylist.
// Anchor constraints travel with the anchors (trust_store.h).
#ifndef CHAINVERIFY_SERVER_PKI_POLICY_RULES_H_
#define CHAINVERIFY_SERVER_PKI_POLICY_RULES_H_

#include <memory>
#include <optional>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include <string>
#include <utility>
#include <vector>

#include "server/pki/crl.h"
#include "server/pki/denylist.h"
#include "server/pki/pinning.h"

namespace chainverify::pki {

// Fetches revocation data over the network for the core. Implemented by
// server/revocation (libcurl, allow-listed, cached); a delegate so the core
// stays free of I/O policy and tests can substitute it.
class RevocationFetcher {
 public:
  virtual ~RevocationFetcher() = default;
  // A DER OCSP response about `cert` from its responder, or why not. Waits
  // no later than `deadline`; a transfer still running then goes on and
  // serves later requests.
  virtual absl::StatusOr<std::string> FetchOcsp(const Certificate& cert,
                                                const Certificate& issuer,
                                                absl::Time deadline) = 0;
  // The CRLs published for `cert`: those at its cRLDistributionPoints and
  // the delta CRLs their freshestCRL (or the certificate's) points to, each
  // parsed once and shared across requests while it is current. Waits no
  // later than `deadline`, as FetchOcsp.
  struct FetchedCrls {
    std::vector<std::shared_ptr<const CrlSet>> sets;
    // Why a URL gave nothing usable ("http://...: response larger than ...").
    std::vector<std::string> errors;
  };
  virtual FetchedCrls FetchCrls(const Certificate& cert, absl::Time deadline) = 0;
  // Running totals by outcome ("hit", "miss", ...), for metrics.
  virtual std::vector<std::pair<std::string, uint64_t>> Counters() const { return {}; }
};

struct PolicyRules {
  // CRLs pushed by the fleet (RFC 5280 6.3). Null or empty: none.
  std::shared_ptr<const CrlSet> crls;
  // Certificates pushed next to those CRLs (PEM CERTIFICATE blocks in
  // crl_files): candidate CRL signers and the links of their paths
  // (crl_signer.h), never trust anchors.
  std::shared_ptr<const std::vector<CertificatePtr>> crl_certificates;
  // Check the stapled OCSP response of the leaf when the request has one.
  bool use_stapled_ocsp = true;
  // Fetch OCSP / CRLs for certificates the sources above do not answer for.
  // Needs `fetcher`.
  bool fetch_ocsp = false;
  bool fetch_crls = false;
  std::shared_ptr<RevocationFetcher> fetcher;
  // Check only the leaf (intermediates are then not checked at all).
  bool revocation_leaf_only = false;
  // When a certificate's revocation status cannot be established: reject
  // (REVOCATION_UNKNOWN) or accept with a warning.
  bool revocation_hard_fail = false;

  // Whether revocation is checked at all: always under hard-fail (with no
  // source every status is unknown, which is what hard-fail asks to reject);
  // under soft-fail only when some source could answer, so a policy without
  // revocation sources reports nothing.
  bool ChecksRevocation(bool has_stapled_ocsp) const {
    return revocation_hard_fail || (crls != nullptr && !crls->empty()) ||
           (use_stapled_ocsp && has_stapled_ocsp) ||
           ((fetch_ocsp || fetch_crls) && fetcher != nullptr);
  }
  std::shared_ptr<const Denylist> denylist;
  std::vector<PinSet> pins;
};

}  // namespace chainverify::pki

#endif  // CHAINVERIFY_SERVER_PKI_POLICY_RULES_H_
