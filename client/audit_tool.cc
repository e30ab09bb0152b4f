#include "client/audit_tool.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <iostream>
#include <utility>

#include "absl/flags/flag.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "server/audit/audit_chain.h"

ABSL_FLAG(bool, allow_missing_start, false,
          "audit verify: a lineage whose first records are missing (older files "
          "deleted, or an export that starts after the lineage did) is reported "
          "but intact. Without it, every lineage must start at sequence 1.");
ABSL_FLAG(bool, require_genesis, true,
          "audit verify: every lineage must start at sequence 1. The default; "
          "--allow_missing_start (or --require_genesis=false) turns it off.");
ABSL_FLAG(std::string, lineage, "", "audit query: records of this lineage (its id).");
ABSL_FLAG(std::string, instance, "",
          "audit query: records written by this instance (e.g. a pod name).");
ABSL_FLAG(std::string, since, "",
          "audit query: records decided at or after this RFC 3339 instant.");
ABSL_FLAG(std::string, until, "", "audit query: records decided before this RFC 3339 instant.");
ABSL_FLAG(std::string, verdict, "", "audit query: TRUSTED or REJECTED.");
ABSL_FLAG(std::string, status, "",
          "audit query: verdict status name, e.g. OK, EXPIRED, NAME_MISMATCH.");
ABSL_FLAG(std::string, peer_name, "",
          "audit query: the peer name of the request (exact, case-insensitive).");
ABSL_FLAG(std::string, fingerprint, "",
          "audit query: a certificate SHA-256 (hex, colons allowed) or SPKI "
          "SHA-256 (base64, the pin-sha256 form), matched against the uploaded "
          "certificates and the decided chain.");
ABSL_FLAG(bool, fetched, false,
          "audit query: only decisions that fetched an issuer (AIA caIssuers), i.e. "
          "peers that sent an incomplete chain.");
ABSL_FLAG(bool, count, false, "audit query: print only the number of matching records.");

namespace chainverify::client {
namespace {

int UsageError(absl::string_view message) {
  std::cerr << "chainverify: " << absl::StrReplaceAll(message, {{"\n", " "}}) << "\n";
  return kAuditUsageError;
}

absl::StatusOr<std::optional<absl::Time>> ParseTimeFlag(absl::string_view name,
                                                        const std::string& value) {
  if (value.empty()) return std::optional<absl::Time>();
  absl::Time t;
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, value, &t, &error)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--", name, " '", value, "' is not RFC 3339 (e.g. 2024-05-01T12:00:00Z): ", error));
  }
  return std::optional<absl::Time>(t);
}

bool IsHex(absl::string_view text) {
  for (char c : text) {
    if (!absl::ascii_isxdigit(c)) return false;
  }
  return true;
}

absl::Time RecordTime(const v1::AuditRecord& record) {
  return absl::FromUnixSeconds(record.time().seconds()) + absl::Nanoseconds(record.time().nanos());
}

// The files to read: each argument, or every regular file in an argument
// that is a directory (sorted; not recursive), so that a log directory can
// be named where no shell expands a glob (a distroless container).
absl::StatusOr<std::vector<std::string>> ExpandDirectories(const std::vector<std::string>& args) {
  std::vector<std::string> files;
  for (const std::string& arg : args) {
    struct stat st;
    if (stat(arg.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      files.push_back(arg);  // Missing files are reported by the reader.
      continue;
    }
    DIR* dir = opendir(arg.c_str());
    if (dir == nullptr) {
      return absl::NotFoundError(absl::StrCat("cannot read directory ", arg, ": ",
                                              std::strerror(errno)));
    }
    std::vector<std::string> in_dir;
    while (dirent* entry = readdir(dir)) {
      const std::string path = absl::StrCat(absl::StripSuffix(arg, "/"), "/", entry->d_name);
      if (stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode)) in_dir.push_back(path);
    }
    closedir(dir);
    std::sort(in_dir.begin(), in_dir.end());
    files.insert(files.end(), in_dir.begin(), in_dir.end());
  }
  return files;
}

}  // namespace

absl::StatusOr<std::string> ParseFingerprint(absl::string_view text) {
  absl::string_view value = absl::StripAsciiWhitespace(text);
  absl::ConsumePrefix(&value, "pin-sha256=");
  absl::ConsumePrefix(&value, "sha256/");
  value = absl::StripPrefix(absl::StripSuffix(value, "\""), "\"");
  const std::string hex = absl::StrReplaceAll(value, {{":", ""}});
  if (hex.size() == 64 && IsHex(hex)) return absl::HexStringToBytes(hex);
  std::string bytes;
  if ((absl::Base64Unescape(value, &bytes) || absl::WebSafeBase64Unescape(value, &bytes)) &&
      bytes.size() == 32) {
    return bytes;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("--fingerprint '", text,
                   "' is neither a hex SHA-256 (64 digits) nor a base64 SHA-256 (44 characters)"));
}

absl::StatusOr<AuditFilter> AuditFilterFromFlags() {
  AuditFilter filter;
  absl::StatusOr<std::optional<absl::Time>> since =
      ParseTimeFlag("since", absl::GetFlag(FLAGS_since));
  if (!since.ok()) return since.status();
  filter.since = *since;
  absl::StatusOr<std::optional<absl::Time>> until =
      ParseTimeFlag("until", absl::GetFlag(FLAGS_until));
  if (!until.ok()) return until.status();
  filter.until = *until;
  if (const std::string verdict = absl::GetFlag(FLAGS_verdict); !verdict.empty()) {
    v1::Verdict value;
    if (!v1::Verdict_Parse(absl::AsciiStrToUpper(verdict), &value) ||
        value == v1::VERDICT_UNSPECIFIED) {
      return absl::InvalidArgumentError(
          absl::StrCat("--verdict must be TRUSTED or REJECTED, not '", verdict, "'"));
    }
    filter.verdict = value;
  }
  if (const std::string status = absl::GetFlag(FLAGS_status); !status.empty()) {
    v1::Status value;
    if (!v1::Status_Parse(absl::AsciiStrToUpper(status), &value)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--status '", status, "' is not a status name (e.g. OK, EXPIRED, NAME_MISMATCH)"));
    }
    filter.status = value;
  }
  if (const std::string peer = absl::GetFlag(FLAGS_peer_name); !peer.empty()) {
    filter.peer_name = peer;
  }
  if (const std::string lineage = absl::GetFlag(FLAGS_lineage); !lineage.empty()) {
    filter.lineage = lineage;
  }
  if (const std::string instance = absl::GetFlag(FLAGS_instance); !instance.empty()) {
    filter.instance = instance;
  }
  if (const std::string fingerprint = absl::GetFlag(FLAGS_fingerprint); !fingerprint.empty()) {
    absl::StatusOr<std::string> bytes = ParseFingerprint(fingerprint);
    if (!bytes.ok()) return bytes.status();
    filter.fingerprint = *std::move(bytes);
  }
  filter.fetched_issuer = absl::GetFlag(FLAGS_fetched);
  return filter;
}

bool Matches(const AuditFilter& filter, const v1::AuditRecord& record) {
  if (filter.since.has_value() && RecordTime(record) < *filter.since) return false;
  if (filter.until.has_value() && RecordTime(record) >= *filter.until) return false;
  if (filter.verdict.has_value() && record.verdict() != *filter.verdict) return false;
  if (filter.status.has_value() && record.status() != *filter.status) return false;
  if (filter.peer_name.has_value() &&
      !absl::EqualsIgnoreCase(record.peer_name(), *filter.peer_name)) {
    return false;
  }
  if (filter.lineage.has_value() && record.lineage() != *filter.lineage) return false;
  if (filter.instance.has_value() && record.instance() != *filter.instance) return false;
  if (filter.fetched_issuer && record.issuer_fetches().empty()) return false;
  if (filter.fingerprint.has_value()) {
    const std::string hex = absl::BytesToHexString(*filter.fingerprint);
    const std::string base64 = absl::Base64Escape(*filter.fingerprint);
    bool found = false;
    for (const std::string& sha : record.uploaded_certificate_sha256()) {
      found = found || absl::EqualsIgnoreCase(sha, hex);
    }
    for (const std::string& sha : record.chain_sha256()) {
      found = found || absl::EqualsIgnoreCase(sha, hex);
    }
    for (const std::string& sha : record.fetched_certificate_sha256()) {
      found = found || absl::EqualsIgnoreCase(sha, hex);
    }
    for (const std::string& spki : record.chain_spki_sha256()) found = found || spki == base64;
    if (!found) return false;
  }
  return true;
}

std::string AuditUsageText() {
  return "audit verify [--allow_missing_start] FILE|DIR...\n"
         "  Checks the hash chains of audit records in the files (a directory\n"
         "  stands for the regular files in it): one server's\n"
         "  audit.log and its rotated files, or a log pipeline's export of many\n"
         "  servers' stdout (JSON lines, or Kubernetes container-log lines\n"
         "  '<time> stdout F <record>'), in any order. Records are grouped by\n"
         "  their lineage and each lineage is checked on its own: records,\n"
         "  first and last sequence, who wrote them, and the first broken record\n"
         "  (file, line, sequence, what is wrong). Lines that are not records are\n"
         "  counted and skipped. Exit 0 every lineage intact, 1 one is broken,\n"
         "  2 usage error or unreadable file. A lineage that does not start at\n"
         "  sequence 1 is broken unless --allow_missing_start. An incomplete last\n"
         "  line (a write cut short by a crash, never acknowledged) of the file\n"
         "  holding a lineage's newest record is a note; elsewhere it is a break.\n"
         "audit query FILE|DIR... [--since RFC3339] [--until RFC3339]\n"
         "       [--verdict TRUSTED|REJECTED] [--status NAME] [--peer_name NAME]\n"
         "       [--fingerprint HEX_OR_BASE64] [--lineage ID] [--instance NAME]\n"
         "       [--fetched] [--count]\n"
         "  Prints the matching records (JSON lines as written, without any\n"
         "  container-log prefix), or their number. --fingerprint matches an\n"
         "  uploaded, chain or fetched certificate's SHA-256 (hex) or a chain\n"
         "  certificate's SPKI SHA-256 (base64): --verdict TRUSTED\n"
         "  --fingerprint <CA> lists who trusted chains through that CA.\n"
         "  --fetched: only decisions that fetched an issuer (AIA caIssuers).\n";
}

int RunAuditUsage(const std::vector<std::string>& args) {
  if (args.empty()) {
    std::cerr << "chainverify: audit needs a subcommand: verify or query\n";
  } else {
    std::cerr << "chainverify: unknown audit subcommand '" << args[0] << "'\n";
  }
  std::cerr << "usage:\n" << AuditUsageText();
  return kAuditUsageError;
}

int RunAuditVerify(const std::vector<std::string>& args) {
  if (args.empty()) return UsageError("audit verify: no files (give the audit log files)");
  audit::ChainCheckOptions options;
  options.require_genesis =
      absl::GetFlag(FLAGS_require_genesis) && !absl::GetFlag(FLAGS_allow_missing_start);
  absl::StatusOr<std::vector<std::string>> files = ExpandDirectories(args);
  if (!files.ok()) return UsageError(files.status().message());
  absl::StatusOr<audit::AuditReport> report = audit::VerifyAuditLog(*files, options);
  if (!report.ok()) return UsageError(report.status().message());
  std::cout << report->ToString();
  for (const audit::ChainReport& chain : report->chains) {
    if (chain.missing_start && !chain.intact() && options.require_genesis) {
      std::cout << "(--allow_missing_start accepts lineages whose first records were removed "
                   "on purpose or lie before the export)\n";
      break;
    }
  }
  std::cout.flush();
  return report->intact() ? kAuditIntact : kAuditBroken;
}

int RunAuditQuery(const std::vector<std::string>& args) {
  if (args.empty()) return UsageError("audit query: no files (give the audit log files)");
  absl::StatusOr<AuditFilter> filter = AuditFilterFromFlags();
  if (!filter.ok()) return UsageError(filter.status().message());
  absl::StatusOr<std::vector<std::string>> expanded = ExpandDirectories(args);
  if (!expanded.ok()) return UsageError(expanded.status().message());
  absl::StatusOr<std::vector<std::string>> files = audit::OrderAuditFiles(*expanded);
  if (!files.ok()) return UsageError(files.status().message());
  const bool count_only = absl::GetFlag(FLAGS_count);
  uint64_t matched = 0;
  uint64_t other = 0;
  for (const std::string& file : *files) {
    absl::StatusOr<audit::AuditLineReader> reader = audit::AuditLineReader::Open(file);
    if (!reader.ok()) return UsageError(reader.status().message());
    audit::AuditLine line;
    while (reader->Next(&line)) {
      if (line.kind == audit::AuditLine::Kind::kOther) {
        ++other;
        continue;
      }
      if (line.kind == audit::AuditLine::Kind::kDamaged) {
        // Not fatal for a search; `audit verify` says what it breaks.
        std::cerr << "chainverify: " << file << ":" << line.line_number
                  << ": skipped: " << line.problem << "\n";
        continue;
      }
      if (!Matches(*filter, line.record)) continue;
      ++matched;
      if (!count_only) std::cout << line.text << "\n";
    }
    if (reader->failed()) return UsageError(absl::StrCat("cannot read ", file));
  }
  if (count_only) std::cout << matched << "\n";
  std::cout.flush();
  if (other > 0) {
    std::cerr << "chainverify: " << other << " line(s) that are not audit records skipped\n";
  }
  if (!std::cout) return UsageError("cannot write to stdout");
  return 0;
}

}  // namespace chainverify::client
