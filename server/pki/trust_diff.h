// How two trust stores differ for the usages the service verifies
// (SERVER_AUTH, CLIENT_AUTH): e.g. a host's OS bundle against the root
// program's certdata.txt it was derived from. `chainverify trust diff` prints
// it; certificates are matched by their DER (SHA-256).
#ifndef CHAINVERIFY_SERVER_PKI_TRUST_DIFF_H_
#define CHAINVERIFY_SERVER_PKI_TRUST_DIFF_H_

#include <vector>

#include "absl/time/time.h"
#include "server/pki/trust_store.h"

namespace chainverify::pki {

// One certificate and what each side holds for it (null: absent there).
struct TrustDiffEntry {
  const TrustAnchor* old_entry = nullptr;
  const TrustAnchor* new_entry = nullptr;
  const TrustAnchor& any() const { return old_entry != nullptr ? *old_entry : *new_entry; }
};

struct TrustDiffResult {
  // Entries that are an anchor (for either usage) on each side, and on both.
  size_t old_anchors = 0;
  size_t new_anchors = 0;
  size_t common_anchors = 0;
  // Anchors of one side that are no anchor on the other (absent, or held there
  // but not trusted or distrusted for both usages).
  std::vector<TrustDiffEntry> only_in_old;
  std::vector<TrustDiffEntry> only_in_new;
  // Anchors of both sides whose per-usage trust differs (a usage, a
  // distrust-after date, an explicit distrust).
  std::vector<TrustDiffEntry> constraints_differ;
  // Anchors of either side whose notAfter is before `expiring_before`
  // (already expired included).
  std::vector<TrustDiffEntry> expiring;
};

// Each list is sorted by subject (RFC 2253 text), then SHA-256.
TrustDiffResult DiffTrustStores(const TrustStore& old_store, const TrustStore& new_store,
                                absl::Time expiring_before);

}  // namespace chainverify::pki

#endif  // CHAINVERIFY_SERVER_PKI_TRUST_DIFF_H_
