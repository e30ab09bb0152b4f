// Loading one policy TrustStore source (policy.proto) into certificates and
// what the source says about them: the OS store, PEM files, directories and
// inline PEM, a root program's certdata.txt. Shared by the policy compiler,
// `chainverify trust diff`, and any store that reads the same sources.
#ifndef CHAINVERIFY_SERVER_POLICY_TRUST_SOURCES_H_
#define CHAINVERIFY_SERVER_POLICY_TRUST_SOURCES_H_

#include <string>

#include "absl/status/statusor.h"
#include "chainverify/v1/policy.pb.h"
#include "server/pki/trust_source.h"

namespace chainverify::policy {

// `path` relative to `base_dir` unless absolute or `base_dir` is empty.
std::string ResolvePolicyPath(const std::string& base_dir, const std::string& path);

// Loads `source`; relative paths resolve against `base_dir` (the policy
// file's directory; empty: the working directory). Errors name the file, and
// for certdata.txt the line.
absl::StatusOr<pki::LoadedTrustSource> LoadTrustSource(const v1::TrustStore& source,
                                                       const std::string& base_dir);

}  // namespace chainverify::policy

#endif  // CHAINVERIFY_SERVER_POLICY_TRUST_SOURCES_H_
