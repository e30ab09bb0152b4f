// Trust policy as data: loads a PolicyBundle (proto/chainverify/v1/policy.proto)
// and compiles each named policy into what the verification core needs.
#ifndef CHAINVERIFY_SERVER_POLICY_POLICY_STORE_H_
#define CHAINVERIFY_SERVER_POLICY_POLICY_STORE_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "chainverify/v1/policy.pb.h"
#include "server/pki/verifier.h"
#include "server/service/authorization.h"

namespace chainverify::policy {

// One named policy, ready to use. Immutable; shared by concurrent requests.
struct CompiledPolicy {
  std::string name;
  std::string version;  // the bundle's version
  pki::VerifyPolicy verify;
  bool allow_request_verification_time = false;
  v1::ValidationProfile profile = v1::PROFILE_AUTO;
  // The policy trusts public roots: the `system` store or a root program's
  // `mozilla_certdata` (PROFILE_AUTO picks WEB_PKI for SERVER_AUTH).
  bool trusts_system_store = false;

  // The profile for one request (resolves PROFILE_AUTO).
  pki::Profile ProfileFor(pki::KeyPurpose purpose) const;
};

// All policies of one bundle. Immutable once loaded.
class PolicySet {
 public:
  // Parses text format, or JSON when `format_hint` ends in ".json".
  static absl::StatusOr<std::shared_ptr<const PolicySet>> FromText(
      absl::string_view text, absl::string_view format_hint,
      const std::string& base_dir, const pki::SearchLimits& limits);
  static absl::StatusOr<std::shared_ptr<const PolicySet>> FromFile(
      const std::string& path, const pki::SearchLimits& limits);
  // The default policy chainverifyd embeds (deploy/policy/default.textproto).
  static absl::StatusOr<std::shared_ptr<const PolicySet>> Embedded(
      const pki::SearchLimits& limits);

  // `name` empty selects the default policy. Null when unknown.
  const CompiledPolicy* Find(absl::string_view name) const;
  const std::string& version() const { return version_; }
  // Problems that did not stop loading (e.g. a constraint for an anchor the
  // store does not hold), for the operator's log.
  const std::vector<std::string>& warnings() const { return warnings_; }
  const std::string& default_policy() const { return default_policy_; }
  const std::map<std::string, CompiledPolicy>& policies() const { return policies_; }
  // The bundle's `authorization` section; null when it has none (every caller
  // may use every policy).
  const service::Authorization* authorization() const {
    return authorization_ ? &*authorization_ : nullptr;
  }

 private:
  std::string version_;
  std::vector<std::string> warnings_;
  std::string default_policy_;
  std::map<std::string, CompiledPolicy> policies_;
  std::optional<service::Authorization> authorization_;
};

// Text of deploy/policy/default.textproto, compiled in.
extern const char kEmbeddedDefaultPolicy[];

}  // namespace chainverify::policy

#endif  // CHAINVERIFY_SERVER_POLICY_POLICY_STORE_H_
