// Certificate policy processing: RFC 5280 section 6.1.2 (a)(d)(e)(f), 6.1.3
// (d)(e)(f), 6.1.4 (a)(b)(h)(i)(j) and 6.1.5 (a)(b)(g).
//
// RFC 5280 describes the state as a valid_policy_tree, which can grow
// exponentially with the path length when certificates assert many policies and
// map them onto each other (CVE-2023-0464). Like BoringSSL, this implementation
// keeps a valid policy *graph* instead: at each depth there is at most one node
// per valid_policy OID, with links to all of its parents. The tree is the
// unfolding of the graph, so every question the RFC asks of the tree has the
// same answer on the graph, and the graph's size is linear in the size of the
// policy extensions. The graph is also capped (PolicyOptions::max_nodes).
#ifndef CHAINVERIFY_SERVER_PKI_CERTIFICATE_POLICIES_H_
#define CHAINVERIFY_SERVER_PKI_CERTIFICATE_POLICIES_H_

#include <cstddef>
#include <string>
#include <vector>

#include "server/pki/cert_errors.h"
#include "server/pki/certificate.h"

namespace chainverify::pki {

// The policy inputs of path validation, RFC 5280 6.1.1 (c)(e)(f)(g).
struct PolicyOptions {
  // user-initial-policy-set, as dotted OIDs. Empty means any-policy, and so
  // does a set that contains anyPolicy (2.5.29.32.0).
  std::vector<std::string> initial_policy_set;
  // initial-policy-mapping-inhibit.
  bool initial_policy_mapping_inhibit = false;
  // initial-explicit-policy.
  bool initial_explicit_policy = false;
  // initial-any-policy-inhibit.
  bool initial_any_policy_inhibit = false;
  // Bound on the size of the valid policy graph (nodes plus parent links plus
  // expected_policy_set entries, over all depths), so that crafted policies
  // cannot use unbounded time or memory. Going over it fails with kPolicyLimit.
  size_t max_nodes = 10000;
};

// The policy outputs of path validation, RFC 5280 6.1.5 (g) and 6.1.6.
struct PolicyResult {
  // The user-constrained-policy-set (which is the
  // authorities-constrained-policy-set when the user-initial-policy-set is
  // any-policy), as sorted dotted OIDs, anyPolicy excluded. These OIDs are in
  // the trust anchor's policy domain (before any policy mapping), which is the
  // domain the user-initial-policy-set is expressed in.
  std::vector<std::string> valid_policies;
  // True when the set also contains anyPolicy: the user-initial-policy-set is
  // any-policy and every certificate of the path asserted anyPolicy (or was
  // allowed to inherit it). Then the path is valid for any policy.
  bool any_policy = false;
};

// Runs certificate policy processing over `path`, which is ordered leaf first
// and trust anchor LAST. The anchor is an input to validation, not certificate
// 1 (RFC 5280 6.1), so its own extensions are not processed: certificates 1..n
// in RFC numbering are path[size-2] down to path[0].
//
// Returns true when policy processing succeeds, i.e. explicit_policy > 0 or the
// valid_policy_tree is not NULL after 6.1.5, and fills *result (valid_policies
// is empty when no policy survived but none was required). Otherwise adds an
// error to *errors (chain_index = index in `path`, -1 for the end of the path)
// and returns false:
//   kPolicyInvalid: a malformed or forbidden policy extension (RFC 5280
//     4.2.1.4, 4.2.1.5, 4.2.1.11, 4.2.1.14, 6.1.4 (a)), or an invalid OID in
//     options.initial_policy_set.
//   kPolicyRequiredButNone: an explicit policy is required and none remains
//     (RFC 5280 6.1.3 (f), 6.1.5 (g)).
//   kPolicyLimit: the valid policy graph outgrew options.max_nodes.
bool ProcessCertificatePolicies(const std::vector<const Certificate*>& path,
                                const PolicyOptions& options,
                                CertErrors* errors, PolicyResult* result);

}  // namespace chainverify::pki

#endif  // CHAINVERIFY_SERVER_PKI_CERTIFICATE_POLICIES_H_
