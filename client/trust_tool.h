// `chainverify trust diff OLD NEW`: how two sets of trust sources differ for
// the usages the service verifies, offline (no server needed). Each side is
// one source or several joined with '+', named as in the policy's TrustStore:
//
//   system                     the OS store (SSL_CERT_FILE / SSL_CERT_DIR honoured)
//   pem_file:PATH              a PEM bundle
//   pem_directory:PATH         every *.pem and *.crt file of a directory
//   mozilla_certdata:PATH      a root program's certdata.txt
//
//   chainverify trust diff system mozilla_certdata:certdata.txt [--json]
//       [--expiring_within=90d] [--at=RFC3339]
//
// Lists anchors only in OLD, only in NEW, anchors of both whose per-usage
// trust differs (usages, distrust-after dates, explicit distrust), and anchors
// of either side expiring within --expiring_within of --at (default now).
// Exit status (like diff(1)): 0 no difference in the first three lists, 1
// differences, 2 error.
#ifndef CHAINVERIFY_CLIENT_TRUST_TOOL_H_
#define CHAINVERIFY_CLIENT_TRUST_TOOL_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "chainverify/v1/admin.pb.h"
#include "chainverify/v1/policy.pb.h"

namespace chainverify::client {

inline constexpr int kTrustSame = 0;
inline constexpr int kTrustDifferent = 1;
inline constexpr int kTrustError = 2;

// `trust diff OLD NEW`; `json` prints v1::TrustDiff as JSON instead of text.
int RunTrustDiff(const std::vector<std::string>& args, bool json);

// `trust` without diff: usage, exit 2.
int RunTrustUsage(const std::vector<std::string>& args);

// One side: "system", "pem_file:PATH", ... joined with '+'.
absl::StatusOr<std::vector<v1::TrustStore>> ParseTrustSources(const std::string& spec);

// Loads both sides and compares them.
absl::StatusOr<v1::TrustDiff> DiffTrustSources(const std::vector<v1::TrustStore>& old_side,
                                               const std::vector<v1::TrustStore>& new_side,
                                               absl::Time expiring_before);

// The human rendering of a diff.
std::string FormatTrustDiff(const v1::TrustDiff& diff);

std::string TrustUsageText();

}  // namespace chainverify::client

#endif  // CHAINVERIFY_CLIENT_TRUST_TOOL_H_
