// The trust policy's rules that go beyond RFC 5280 validation, applied to
// every candidate path by ChainValidator: revocation, pins, the denylist.
// Anchor constraints travel with the anchors (trust_store.h).
#ifndef CHAINVERIFY_SERVER_PKI_POLICY_RULES_H_
#define CHAINVERIFY_SERVER_PKI_POLICY_RULES_H_

#include <memory>
#include <vector>

#include "server/pki/crl.h"
#include "server/pki/denylist.h"
#include "server/pki/pinning.h"

namespace chainverify::pki {

struct PolicyRules {
  // CRLs pushed by the fleet (RFC 5280 6.3). Null or empty: no CRL checking.
  std::shared_ptr<const CrlSet> crls;
  // When a certificate's revocation status cannot be established: reject
  // (REVOCATION_UNKNOWN) or accept with a warning.
  bool revocation_hard_fail = false;
  std::shared_ptr<const Denylist> denylist;
  std::vector<PinSet> pins;
};

}  // namespace chainverify::pki

#endif  // CHAINVERIFY_SERVER_PKI_POLICY_RULES_H_
