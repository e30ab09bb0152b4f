// `chainverify audit verify|query`: checking and searching audit log files
// offline (no server needed).
//
//   chainverify audit verify [--allow_missing_start] FILE...
//   chainverify audit query FILE... [--since RFC3339] [--until RFC3339]
//       [--verdict TRUSTED|REJECTED] [--status NAME] [--peer_name NAME]
//       [--fingerprint HEX_OR_BASE64] [--lineage ID] [--instance NAME] [--count]
//
// Files may be given in any order (e.g. `audit.log*`, or the directory that
// holds them: a directory stands for its regular files), and may hold the
// records of many lineages (a log pipeline's export of many servers' stdout,
// plain or with the Kubernetes container-log prefix); see audit_chain.h.
#ifndef CHAINVERIFY_CLIENT_AUDIT_TOOL_H_
#define CHAINVERIFY_CLIENT_AUDIT_TOOL_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "chainverify/v1/audit.pb.h"

namespace chainverify::client {

// Exit codes of `audit verify`; `audit query` exits 0 or kAuditUsageError.
inline constexpr int kAuditIntact = 0;
inline constexpr int kAuditBroken = 1;
inline constexpr int kAuditUsageError = 2;

// `audit verify FILE...`: prints a report per lineage on stdout; 0 when every
// lineage is intact, 1 when one is broken (naming its first broken record) or
// does not start at sequence 1 (unless --allow_missing_start), 2 on usage
// errors or unreadable files. A torn last line of a lineage's newest file (a
// crash in the middle of a write; such a record was never acknowledged) is
// noted, not counted; the server cuts it off on restart.
int RunAuditVerify(const std::vector<std::string>& args);

// `audit query FILE...`: prints the matching records as they are stored (one
// JSON line each), or with --count only their number.
int RunAuditQuery(const std::vector<std::string>& args);

// `audit` without verify or query: usage, exit 2.
int RunAuditUsage(const std::vector<std::string>& args);

// What `audit query` selects; unset fields match everything.
struct AuditFilter {
  std::optional<absl::Time> since;  // time >= since
  std::optional<absl::Time> until;  // time < until
  std::optional<v1::Verdict> verdict;
  std::optional<v1::Status> status;
  std::optional<std::string> peer_name;  // Exact, ASCII case-insensitive.
  std::optional<std::string> lineage;    // Exact.
  std::optional<std::string> instance;   // Exact.
  // A SHA-256 (32 bytes) matched against uploaded_certificate_sha256,
  // chain_sha256, fetched_certificate_sha256 and chain_spki_sha256.
  std::optional<std::string> fingerprint;
  // Only decisions that fetched an issuer (issuer_fetches not empty).
  bool fetched_issuer = false;
};

// The filter the query flags describe. Errors: a value that does not parse.
absl::StatusOr<AuditFilter> AuditFilterFromFlags();

// A SHA-256 fingerprint as given by a person, to its 32 bytes: 64 hex digits
// (colons allowed, any case: openssl's form) or base64 (standard or URL-safe;
// "sha256/" or "pin-sha256=" prefixes allowed: the pin form).
absl::StatusOr<std::string> ParseFingerprint(absl::string_view text);

bool Matches(const AuditFilter& filter, const v1::AuditRecord& record);

// The usage text of the audit subcommands.
std::string AuditUsageText();

}  // namespace chainverify::client

#endif  // CHAINVERIFY_CLIENT_AUDIT_TOOL_H_
