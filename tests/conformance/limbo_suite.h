// Reading the x509-limbo suite (see ../shared/conformance/README.md for the
// format). Only I/O and JSON here; turning a test case into a VerifyChain()
// call is limbo_runner.h's job, so this part builds without the core.
#ifndef CHAINVERIFY_TESTS_CONFORMANCE_LIMBO_SUITE_H_
#define CHAINVERIFY_TESTS_CONFORMANCE_LIMBO_SUITE_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "limbo.pb.h"

namespace chainverify::conformance {

// Environment variable naming the suite file; overrides the default location.
inline constexpr char kSuiteEnvVar[] = "CHAINVERIFY_LIMBO";
// Where the suite lives relative to the workspace root. It is shared between
// checkouts and never copied into the project.
inline constexpr char kSuiteRelativePath[] =
    "../shared/conformance/limbo.json.gz";
// The only schema version this loader understands.
inline constexpr int kSuiteVersion = 1;

// Reads a whole file, gunzipping it when it is gzip data (decided by content,
// not by name, so `limbo.json` and `limbo.json.gz` both work). "-" is stdin.
absl::StatusOr<std::string> ReadMaybeGzipped(const std::string& path);

// Parses the suite JSON. Unknown keys are ignored so that a newer suite with
// extra fields still loads; a different schema version is an error because
// field meanings may have changed.
absl::StatusOr<Limbo> ParseSuite(absl::string_view json);

// ReadMaybeGzipped + ParseSuite.
absl::StatusOr<Limbo> LoadSuite(const std::string& path);

// The text before "::" in a test case id ("bettertls", "rfc5280", ...), or the
// whole id when it has none.
absl::string_view Namespace(absl::string_view id);

}  // namespace chainverify::conformance

#endif  // CHAINVERIFY_TESTS_CONFORMANCE_LIMBO_SUITE_H_
