#include "server/pki/trust_diff.h"

#include <algorithm>
#include <map>
#include <string>
#include <utility>

#include "server/pki/openssl_util.h"

namespace chainverify::pki {

TrustDiffResult DiffTrustStores(const TrustStore& old_store, const TrustStore& new_store,
                                absl::Time expiring_before) {
  // By certificate SHA-256; the subject text goes first in the key for order.
  std::map<std::pair<std::string, std::string>, TrustDiffEntry> all;
  for (const auto& a : old_store.anchors()) {
    all[{NameToString(a->certificate->subject()), a->certificate->sha256()}].old_entry = a.get();
  }
  for (const auto& a : new_store.anchors()) {
    all[{NameToString(a->certificate->subject()), a->certificate->sha256()}].new_entry = a.get();
  }
  TrustDiffResult out;
  for (const auto& [key, entry] : all) {
    const bool in_old = entry.old_entry != nullptr && entry.old_entry->IsAnchor();
    const bool in_new = entry.new_entry != nullptr && entry.new_entry->IsAnchor();
    out.old_anchors += in_old;
    out.new_anchors += in_new;
    if (in_old && in_new) {
      ++out.common_anchors;
      if (entry.old_entry->server_auth != entry.new_entry->server_auth ||
          entry.old_entry->client_auth != entry.new_entry->client_auth) {
        out.constraints_differ.push_back(entry);
      }
    } else if (in_old) {
      out.only_in_old.push_back(entry);
    } else if (in_new) {
      out.only_in_new.push_back(entry);
    }
    if ((in_old || in_new) && entry.any().certificate->not_after() < expiring_before) {
      out.expiring.push_back(entry);
    }
  }
  return out;
}

}  // namespace chainverify::pki
