#include "server/pki/certificate_policies.h"

#include <openssl/asn1.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include <cstdint>
#include <deque>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/pki/openssl_util.h"

namespace chainverify::pki {
namespace {

// anyPolicy, RFC 5280 4.2.1.4.
constexpr char kAnyPolicy[] = "2.5.29.32.0";

void FreePolicyMappings(POLICY_MAPPINGS* mappings) {
  sk_POLICY_MAPPING_pop_free(mappings, POLICY_MAPPING_free);
}

using CertificatePoliciesPtr = std::unique_ptr<
    CERTIFICATEPOLICIES,
    OpenSslDeleter<CERTIFICATEPOLICIES, CERTIFICATEPOLICIES_free>>;
using PolicyMappingsPtr =
    std::unique_ptr<POLICY_MAPPINGS,
                    OpenSslDeleter<POLICY_MAPPINGS, FreePolicyMappings>>;
using PolicyConstraintsPtr = std::unique_ptr<
    POLICY_CONSTRAINTS,
    OpenSslDeleter<POLICY_CONSTRAINTS, POLICY_CONSTRAINTS_free>>;
using Asn1IntegerPtr =
    std::unique_ptr<ASN1_INTEGER,
                    OpenSslDeleter<ASN1_INTEGER, ASN1_INTEGER_free>>;

// The policy extensions of one certificate, decoded.
struct PolicyExtensions {
  // certificatePolicies (RFC 5280 4.2.1.4): the policy identifiers, anyPolicy
  // included. nullopt when the extension is absent.
  std::optional<std::set<std::string>> policies;
  // policyMappings (RFC 5280 4.2.1.5): each issuerDomainPolicy with the
  // subjectDomainPolicy values it maps to.
  std::map<std::string, std::set<std::string>> mappings;
  // policyConstraints (RFC 5280 4.2.1.11) and inhibitAnyPolicy (RFC 5280
  // 4.2.1.14), as SkipCerts values.
  std::optional<uint64_t> require_explicit_policy;
  std::optional<uint64_t> inhibit_policy_mapping;
  std::optional<uint64_t> inhibit_any_policy;
};

// Decodes extension `nid` of `x`. Returns false, with *why set, when the
// extension is repeated (RFC 5280 4.2) or does not decode; otherwise *out is
// the decoded value, owned by the caller, or nullptr when it is absent.
bool GetExtension(const X509* x, int nid, const char* name, void** out,
                  std::string* why, bool* critical = nullptr) {
  int crit = 0;
  *out = X509_get_ext_d2i(x, nid, &crit, nullptr);
  if (critical != nullptr) *critical = crit == 1;
  if (*out != nullptr || crit == -1) return true;
  *why = crit == -2 ? absl::StrCat(name, " extension repeated (RFC 5280 4.2)")
                    : absl::StrCat("malformed ", name, " extension");
  return false;
}

// A SkipCerts value (RFC 5280 4.2.1.11, 4.2.1.14): INTEGER (0..MAX). Values
// too large for 64 bits exceed any path length, so they are clamped.
bool SkipCerts(const ASN1_INTEGER* value, const char* name, uint64_t* out,
               std::string* why) {
  if (ASN1_STRING_type(value) == V_ASN1_NEG_INTEGER) {
    *why = absl::StrCat("negative ", name, " (RFC 5280 4.2.1.11, 4.2.1.14)");
    return false;
  }
  if (ASN1_INTEGER_get_uint64(out, value) != 1) {
    *out = std::numeric_limits<uint64_t>::max();
  }
  return true;
}

bool DecodePolicyExtensions(const X509* x, PolicyExtensions* ext,
                            std::string* why) {
  void* raw = nullptr;

  bool critical = false;
  if (!GetExtension(x, NID_certificate_policies, "certificatePolicies", &raw,
                    why, &critical)) {
    return false;
  }
  if (CertificatePoliciesPtr policies{static_cast<CERTIFICATEPOLICIES*>(raw)}) {
    // RFC 5280 4.2.1.4: SEQUENCE SIZE (1..MAX) OF PolicyInformation, and a
    // policy OID MUST NOT appear more than once.
    if (sk_POLICYINFO_num(policies.get()) == 0) {
      *why = "empty certificatePolicies (RFC 5280 4.2.1.4)";
      return false;
    }
    ext->policies.emplace();
    for (int i = 0; i < sk_POLICYINFO_num(policies.get()); ++i) {
      const POLICYINFO* info = sk_POLICYINFO_value(policies.get(), i);
      std::string oid = OidToString(info->policyid);
      if (oid.empty()) {
        *why = "certificatePolicies holds an unprintable OID";
        return false;
      }
      if (!ext->policies->insert(oid).second) {
        *why = absl::StrCat("certificatePolicies repeats policy ", oid,
                            " (RFC 5280 4.2.1.4)");
        return false;
      }
      // RFC 5280 4.2.1.4: a critical certificatePolicies must be fully
      // interpretable, its qualifiers included; the RFC defines only the
      // CPS pointer and the user notice.
      for (int q = 0; critical && q < sk_POLICYQUALINFO_num(info->qualifiers); ++q) {
        const POLICYQUALINFO* qualifier = sk_POLICYQUALINFO_value(info->qualifiers, q);
        const int nid = OBJ_obj2nid(qualifier->pqualid);
        if (nid != NID_id_qt_cps && nid != NID_id_qt_unotice) {
          *why = absl::StrCat("critical certificatePolicies has a qualifier of unknown type ",
                              OidToString(qualifier->pqualid), " for policy ", oid,
                              " (RFC 5280 4.2.1.4: only id-qt-cps and id-qt-unotice)");
          return false;
        }
      }
    }
  }

  if (!GetExtension(x, NID_policy_mappings, "policyMappings", &raw, why)) {
    return false;
  }
  if (PolicyMappingsPtr mappings{static_cast<POLICY_MAPPINGS*>(raw)}) {
    // RFC 5280 4.2.1.5: SEQUENCE SIZE (1..MAX).
    if (sk_POLICY_MAPPING_num(mappings.get()) == 0) {
      *why = "empty policyMappings (RFC 5280 4.2.1.5)";
      return false;
    }
    for (int i = 0; i < sk_POLICY_MAPPING_num(mappings.get()); ++i) {
      const POLICY_MAPPING* mapping =
          sk_POLICY_MAPPING_value(mappings.get(), i);
      std::string issuer = OidToString(mapping->issuerDomainPolicy);
      std::string subject = OidToString(mapping->subjectDomainPolicy);
      if (issuer.empty() || subject.empty()) {
        *why = "policyMappings holds an unprintable OID";
        return false;
      }
      ext->mappings[std::move(issuer)].insert(std::move(subject));
    }
  }

  if (!GetExtension(x, NID_policy_constraints, "policyConstraints", &raw,
                    why)) {
    return false;
  }
  if (PolicyConstraintsPtr constraints{static_cast<POLICY_CONSTRAINTS*>(raw)}) {
    // RFC 5280 4.2.1.11: "MUST NOT issue ... where policy constraints is an
    // empty sequence".
    if (constraints->requireExplicitPolicy == nullptr &&
        constraints->inhibitPolicyMapping == nullptr) {
      *why = "empty policyConstraints (RFC 5280 4.2.1.11)";
      return false;
    }
    uint64_t value = 0;
    if (constraints->requireExplicitPolicy != nullptr) {
      if (!SkipCerts(constraints->requireExplicitPolicy,
                     "requireExplicitPolicy", &value, why)) {
        return false;
      }
      ext->require_explicit_policy = value;
    }
    if (constraints->inhibitPolicyMapping != nullptr) {
      if (!SkipCerts(constraints->inhibitPolicyMapping, "inhibitPolicyMapping",
                     &value, why)) {
        return false;
      }
      ext->inhibit_policy_mapping = value;
    }
  }

  if (!GetExtension(x, NID_inhibit_any_policy, "inhibitAnyPolicy", &raw, why)) {
    return false;
  }
  if (Asn1IntegerPtr inhibit{static_cast<ASN1_INTEGER*>(raw)}) {
    uint64_t value = 0;
    if (!SkipCerts(inhibit.get(), "inhibitAnyPolicy", &value, why))
      return false;
    ext->inhibit_any_policy = value;
  }
  return true;
}

// RFC 5280 4.2.1.11, 4.2.1.14: a SkipCerts value lowers a counter, never
// raises it.
void ApplySkipCerts(const std::optional<uint64_t>& skip_certs,
                    uint64_t* counter) {
  if (skip_certs.has_value() && *skip_certs < *counter) *counter = *skip_certs;
}

// The RFC 5280 valid_policy_tree (6.1.2 (a)), as a graph.
//
// In the tree, a node's children depend only on its depth, valid_policy and
// expected_policy_set, and its expected_policy_set only on its depth and
// valid_policy (6.1.3 (d) sets it to {valid_policy}, 6.1.4 (b)(1) to the
// policies valid_policy maps to). So all the tree nodes of one depth that share
// a valid_policy have identical subtrees: the graph keeps one node for them,
// linked to all of their parents. The tree is the unfolding of this graph; the
// graph has at most one node per depth and distinct OID of the certificates,
// and a parent link per (node, expected policy) pair of the depth above, so it
// grows linearly with the extensions where the tree grows exponentially.
//
// Pruning (6.1.3 (d)(3), 6.1.4 (b)(2)) is not done as the path is processed;
// it only removes nodes without a descendant at the current depth, which no
// later step looks at. The tree is NULL exactly when the current depth is
// empty, and 6.1.5 (g) only considers nodes reachable from depth n.
class ValidPolicyGraph {
 public:
  struct Node {
    // valid_policy values of the parents, at the depth above.
    std::set<std::string> parents;
    std::set<std::string> expected_policy_set;
    // Has a descendant at the last depth; set by AuthoritiesConstrainedSet().
    bool reachable = false;
  };
  // The nodes of one depth, by valid_policy (anyPolicy included).
  using Level = std::map<std::string, Node>;

  // 6.1.2 (a): a single node of depth 0 whose valid_policy and
  // expected_policy_set are anyPolicy.
  explicit ValidPolicyGraph(size_t max_size) : max_size_(max_size) {
    levels_.emplace_back();
    AddExpected(AddNode(kAnyPolicy), kAnyPolicy);
  }

  // Nodes plus parent links plus expected_policy_set entries went over the
  // bound. Processing stops as soon as it does.
  bool over_limit() const { return size_ > max_size_; }
  size_t size() const { return size_; }

  // 6.1.3 (d), (e): whether the valid_policy_tree is NULL.
  bool IsNull() const { return levels_.back().empty(); }
  bool CurrentHasAnyPolicy() const {
    return levels_.back().count(kAnyPolicy) > 0;
  }

  // 6.1.3 (d) and (e) for the next certificate: adds the next depth.
  // `policies` is its certificatePolicies (nullopt when absent);
  // `any_policy_allowed` is the condition of (d)(2).
  void AddDepth(const std::optional<std::set<std::string>>& policies,
                bool any_policy_allowed) {
    levels_.emplace_back();
    const Level& parent_level = levels_[levels_.size() - 2];
    // (e): no certificatePolicies, the tree becomes NULL. A NULL tree stays
    // NULL: (d) only applies when it is not.
    if (!policies.has_value() || parent_level.empty()) return;

    // The nodes of depth i-1 by expected policy, for (d)(1)(i).
    std::map<absl::string_view, std::vector<absl::string_view>> by_expected;
    for (const auto& [valid_policy, node] : parent_level) {
      for (const std::string& expected : node.expected_policy_set) {
        by_expected[expected].push_back(valid_policy);
      }
    }
    const bool parent_has_any_policy = parent_level.count(kAnyPolicy) > 0;

    // (d)(1): each policy P-OID of the certificate other than anyPolicy.
    for (const std::string& policy : *policies) {
      if (over_limit()) return;
      if (policy == kAnyPolicy) continue;
      auto it = by_expected.find(policy);
      if (it != by_expected.end()) {
        // (i): a child of every node of depth i-1 expecting P-OID.
        Node& node = AddNode(policy);
        AddExpected(node, policy);
        for (absl::string_view parent : it->second) AddParent(node, parent);
      } else if (parent_has_any_policy) {
        // (ii): no match, so a child of the anyPolicy node of depth i-1.
        Node& node = AddNode(policy);
        AddExpected(node, policy);
        AddParent(node, kAnyPolicy);
      }
    }

    // (d)(2): the certificate asserts anyPolicy and may: each node of depth i-1
    // gets a child for each of its expected policies (anyPolicy included) it
    // has no child for yet. A link that (d)(1) made already is a no-op here.
    if (any_policy_allowed && policies->count(kAnyPolicy) > 0) {
      for (const auto& [valid_policy, parent] : parent_level) {
        for (const std::string& expected : parent.expected_policy_set) {
          if (over_limit()) return;
          Node& node = AddNode(expected);
          AddExpected(node, expected);
          AddParent(node, valid_policy);
        }
      }
    }
    // (d)(3) pruning is implicit; see the class comment.
  }

  // 6.1.4 (b) at the current depth i: `mappings` is each issuerDomainPolicy
  // with its subjectDomainPolicy values (none of them anyPolicy, per (a)).
  void ApplyMappings(
      const std::map<std::string, std::set<std::string>>& mappings,
      bool mapping_allowed) {
    Level& level = levels_.back();
    const bool has_any_policy = CurrentHasAnyPolicy();
    for (const auto& [issuer_policy, subject_policies] : mappings) {
      if (over_limit()) return;
      if (!mapping_allowed) {
        // (b)(2): policy_mapping is 0; delete the node of ID-P (its ancestors
        // left without children are pruned implicitly).
        auto it = level.find(issuer_policy);
        if (it != level.end()) {
          size_ -= 1 + it->second.parents.size() +
                   it->second.expected_policy_set.size();
          level.erase(it);
        }
        continue;
      }
      // (b)(1): the node of ID-P now expects the policies ID-P maps to. With
      // no such node but an anyPolicy node at depth i, ID-P gets a node under
      // the anyPolicy node of depth i-1.
      auto it = level.find(issuer_policy);
      Node* node = nullptr;
      if (it != level.end()) {
        node = &it->second;
        size_ -= node->expected_policy_set.size();
        node->expected_policy_set.clear();
      } else if (has_any_policy) {
        node = &AddNode(issuer_policy);
        AddParent(*node, kAnyPolicy);
      } else {
        continue;
      }
      for (const std::string& subject : subject_policies) {
        AddExpected(*node, subject);
      }
    }
  }

  // 6.1.5 (g)(iii)(1): the valid_policy values of the valid_policy_node_set
  // (nodes whose parent is anyPolicy) once the tree is pruned to the nodes with
  // a descendant at depth n, anyPolicy left out. This is the
  // authorities-constrained-policy-set, in the trust anchor's domain.
  std::set<std::string> AuthoritiesConstrainedSet() {
    std::set<std::string> policies;
    for (auto& [valid_policy, node] : levels_.back()) node.reachable = true;
    for (size_t depth = levels_.size() - 1; depth >= 1; --depth) {
      Level& parent_level = levels_[depth - 1];
      for (const auto& [valid_policy, node] : levels_[depth]) {
        if (!node.reachable) continue;
        for (const std::string& parent : node.parents) {
          if (parent == kAnyPolicy && valid_policy != kAnyPolicy) {
            policies.insert(valid_policy);
          }
          auto it = parent_level.find(parent);
          if (it != parent_level.end()) it->second.reachable = true;
        }
      }
    }
    return policies;
  }

 private:
  // The node of `valid_policy` at the current depth, created if needed.
  Node& AddNode(absl::string_view valid_policy) {
    Level& level = levels_.back();
    auto [it, inserted] = level.try_emplace(std::string(valid_policy));
    if (inserted) ++size_;
    return it->second;
  }
  void AddParent(Node& node, absl::string_view parent) {
    if (node.parents.emplace(parent).second) ++size_;
  }
  void AddExpected(Node& node, absl::string_view policy) {
    if (node.expected_policy_set.emplace(policy).second) ++size_;
  }

  const size_t max_size_;
  size_t size_ = 0;
  // Depth 0 (the trust anchor's) to the current depth. A deque, so that
  // references to a level stay valid while the next one is added.
  std::deque<Level> levels_;
};

}  // namespace

bool ProcessCertificatePolicies(const std::vector<const Certificate*>& path,
                                const PolicyOptions& options,
                                CertErrors* errors, PolicyResult* result) {
  *result = PolicyResult();
  if (path.empty()) {
    errors->Add(kPolicyInvalid, -1, "empty certification path");
    return false;
  }

  // 6.1.1 (c): user-initial-policy-set, normalized; any-policy when it is
  // empty or holds anyPolicy.
  std::set<std::string> user_policies;
  bool user_any_policy = options.initial_policy_set.empty();
  for (const std::string& text : options.initial_policy_set) {
    ASN1_OBJECT* obj = OBJ_txt2obj(text.c_str(), /*no_name=*/1);
    std::string oid = obj != nullptr ? OidToString(obj) : "";
    ASN1_OBJECT_free(obj);
    if (oid.empty()) {
      errors->Add(kPolicyInvalid, -1,
                  absl::StrCat("initial policy set: \"", text,
                               "\" is not a dotted OID"));
      return false;
    }
    if (oid == kAnyPolicy) user_any_policy = true;
    user_policies.insert(std::move(oid));
  }

  // 6.1.2: certificates 1..n are path[n-1]..path[0]; the anchor, path[n], is
  // not one of them.
  const size_t n = path.size() - 1;
  // 6.1.2 (d), (e), (f).
  uint64_t explicit_policy = options.initial_explicit_policy ? 0 : n + 1;
  uint64_t inhibit_any_policy = options.initial_any_policy_inhibit ? 0 : n + 1;
  uint64_t policy_mapping = options.initial_policy_mapping_inhibit ? 0 : n + 1;
  // 6.1.2 (a).
  ValidPolicyGraph graph(options.max_nodes);
  auto over_limit = [&](int chain_index) {
    if (!graph.over_limit()) return false;
    errors->Add(kPolicyLimit, chain_index,
                absl::StrCat("valid policy graph exceeds ", options.max_nodes,
                             " nodes and links"));
    return true;
  };
  if (over_limit(-1)) return false;

  for (size_t i = 1; i <= n; ++i) {
    const int chain_index = static_cast<int>(n - i);
    const Certificate& cert = *path[n - i];
    const bool is_leaf = i == n;
    const bool self_issued = cert.IsSelfIssued();

    PolicyExtensions ext;
    std::string why;
    if (!DecodePolicyExtensions(cert.x509(), &ext, &why)) {
      errors->Add(kPolicyInvalid, chain_index, std::move(why));
      return false;
    }
    // 6.1.4 (a), checked before anything else so that a forbidden mapping is
    // reported as such. A leaf's mappings are not processed (6.1.5).
    if (!is_leaf) {
      for (const auto& [issuer_policy, subject_policies] : ext.mappings) {
        if (issuer_policy == kAnyPolicy || subject_policies.count(kAnyPolicy)) {
          errors->Add(kPolicyInvalid, chain_index,
                      "policyMappings maps to or from anyPolicy "
                      "(RFC 5280 4.2.1.5, 6.1.4 (a))");
          return false;
        }
      }
    }

    // 6.1.3 (d), (e). (d)(2): anyPolicy counts if inhibit_anyPolicy > 0, or
    // for a self-issued certificate other than the leaf.
    graph.AddDepth(ext.policies,
                   inhibit_any_policy > 0 || (!is_leaf && self_issued));
    if (over_limit(chain_index)) return false;

    // 6.1.3 (f).
    if (explicit_policy == 0 && graph.IsNull()) {
      errors->Add(kPolicyRequiredButNone, chain_index,
                  "an explicit policy is required and no valid policy "
                  "remains (RFC 5280 6.1.3 (f))");
      return false;
    }

    if (is_leaf) {
      // 6.1.5 (a), (b).
      if (explicit_policy > 0) --explicit_policy;
      if (ext.require_explicit_policy == uint64_t{0}) explicit_policy = 0;
      break;
    }

    // 6.1.4 (b).
    graph.ApplyMappings(ext.mappings, policy_mapping > 0);
    if (over_limit(chain_index)) return false;
    // 6.1.4 (h).
    if (!self_issued) {
      if (explicit_policy > 0) --explicit_policy;
      if (policy_mapping > 0) --policy_mapping;
      if (inhibit_any_policy > 0) --inhibit_any_policy;
    }
    // 6.1.4 (i), (j).
    ApplySkipCerts(ext.require_explicit_policy, &explicit_policy);
    ApplySkipCerts(ext.inhibit_policy_mapping, &policy_mapping);
    ApplySkipCerts(ext.inhibit_any_policy, &inhibit_any_policy);
  }

  // 6.1.5 (g): the intersection of the valid_policy_tree with the
  // user-initial-policy-set.
  std::set<std::string> valid_policies;
  bool any_policy = false;
  if (!graph.IsNull()) {  // (i): a NULL tree stays NULL.
    std::set<std::string> authorities = graph.AuthoritiesConstrainedSet();
    const bool depth_n_any_policy = graph.CurrentHasAnyPolicy();
    if (user_any_policy) {
      // (ii): the whole tree.
      valid_policies = std::move(authorities);
      any_policy = depth_n_any_policy;
    } else if (depth_n_any_policy) {
      // (iii)(2), (3): the user's policies in the valid_policy_node_set are
      // kept, and an anyPolicy node at depth n stands in for all the others.
      valid_policies = std::move(user_policies);
    } else {
      // (iii)(2): only the user's policies survive.
      for (const std::string& policy : authorities) {
        if (user_policies.count(policy) > 0) valid_policies.insert(policy);
      }
    }
  }

  // 6.1.5: success needs explicit_policy > 0 or a non-NULL tree.
  if (explicit_policy == 0 && valid_policies.empty() && !any_policy) {
    errors->Add(kPolicyRequiredButNone, -1,
                "an explicit policy is required and the path is valid for "
                "none of the acceptable policies (RFC 5280 6.1.5 (g))");
    return false;
  }
  result->valid_policies.assign(valid_policies.begin(), valid_policies.end());
  result->any_policy = any_policy;
  return true;
}

}  // namespace chainverify::pki
