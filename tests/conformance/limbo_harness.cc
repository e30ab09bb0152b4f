// An x509-limbo harness for chainverify: reads the suite, runs every case
// through chainverify::pki::VerifyChain(), writes x509-limbo's results JSON to
// stdout and a score summary to stderr.
//
//   bazel run -c opt //tests/conformance:limbo_harness --
//       --input=$PWD/../shared/conformance/limbo.json.gz > /tmp/results.json
// (one command line).
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"
#include "tests/conformance/limbo_runner.h"
#include "tests/conformance/limbo_suite.h"

ABSL_FLAG(std::string, input, "-",
          "Suite file (.json or .json.gz); \"-\" reads stdin. A relative path "
          "is taken from the directory `bazel run` was started in.");
ABSL_FLAG(std::string, profile, "webpki",
          "webpki or rfc5280: the profile every case is verified under; the "
          "other profile's side of a conflicts_with pair is SKIPPED.");
ABSL_FLAG(std::string, anchor_checks, "strict",
          "strict (x509-limbo's expectation) or reliance (the service's default "
          "policy): whether trust anchors are judged by how they were issued "
          "too, or only by what the path relies on.");
ABSL_FLAG(std::string, revocation, "soft_fail",
          "soft_fail (x509-limbo's expectation: a certificate no CRL speaks for is "
          "accepted) or hard_fail (a status that cannot be established rejects; for "
          "suites that supply a CRL for every certificate). Applies to cases with CRLs.");
ABSL_FLAG(bool, mismatches, false,
          "List every mismatched case with its context on stderr.");
ABSL_FLAG(std::string, only, "",
          "Run only the cases whose id starts with this prefix.");
ABSL_FLAG(int, jobs, 1,
          "Worker threads. More is faster but makes the core's wall-clock "
          "search deadline less predictable on a loaded machine.");

namespace chainverify::conformance {
namespace {

// `bazel run` starts the binary in its runfiles tree; the user's relative
// paths mean the directory they typed the command in.
std::string ResolveInput(const std::string& path) {
  if (path == "-" || absl::StartsWith(path, "/")) return path;
  const char* cwd = std::getenv("BUILD_WORKING_DIRECTORY");
  return cwd == nullptr ? path : absl::StrCat(cwd, "/", path);
}

int Main() {
  HarnessOptions options;
  const std::string profile = absl::GetFlag(FLAGS_profile);
  if (profile == "webpki") {
    options.profile = pki::Profile::kWebPki;
  } else if (profile == "rfc5280") {
    options.profile = pki::Profile::kRfc5280;
  } else {
    std::cerr << "--profile must be webpki or rfc5280, not " << profile << "\n";
    return 2;
  }

  const std::string anchor_checks = absl::GetFlag(FLAGS_anchor_checks);
  if (anchor_checks != "strict" && anchor_checks != "reliance") {
    std::cerr << "--anchor_checks must be strict or reliance, not " << anchor_checks << "\n";
    return 2;
  }
  options.strict_anchor_checks = anchor_checks == "strict";

  const std::string revocation = absl::GetFlag(FLAGS_revocation);
  if (revocation != "soft_fail" && revocation != "hard_fail") {
    std::cerr << "--revocation must be soft_fail or hard_fail, not " << revocation << "\n";
    return 2;
  }
  options.revocation_hard_fail = revocation == "hard_fail";

  const std::string input = ResolveInput(absl::GetFlag(FLAGS_input));
  if (input == "-" && isatty(STDIN_FILENO)) {
    // Waiting on a terminal for 40 MB of JSON is never what was meant.
    std::cerr << "reading the suite from stdin, which is a terminal; pass "
                 "--input=PATH (the suite is normally "
              << kSuiteRelativePath << " from the workspace root)\n";
    return 2;
  }
  absl::StatusOr<Limbo> suite = LoadSuite(input);
  if (!suite.ok()) {
    std::cerr << "cannot load the x509-limbo suite: " << suite.status() << "\n";
    return 1;
  }
  const std::string only = absl::GetFlag(FLAGS_only);
  if (!only.empty()) {
    Limbo filtered;
    filtered.set_version(suite->version());
    for (Testcase& testcase : *suite->mutable_testcases()) {
      if (absl::StartsWith(testcase.id(), only)) {
        *filtered.add_testcases() = std::move(testcase);
      }
    }
    *suite = std::move(filtered);
  }

  const absl::Time start = absl::Now();
  LimboResults results =
      RunSuite(*suite, options, std::max(1, absl::GetFlag(FLAGS_jobs)));
  const absl::Duration elapsed = absl::Now() - start;

  std::string json;
  google::protobuf::util::JsonPrintOptions print;
  print.preserve_proto_field_names = true;
  // x509-limbo's reader expects every key, including empty contexts.
  print.always_print_primitive_fields = true;
  auto printed =
      google::protobuf::util::MessageToJsonString(results, &json, print);
  if (!printed.ok()) {
    std::cerr << "cannot print results: " << printed.ToString() << "\n";
    return 1;
  }
  std::cout << json << "\n";

  Scoreboard score;
  for (int i = 0; i < suite->testcases_size(); ++i) {
    score.Add(suite->testcases(i), results.results(i));
  }
  std::cerr << kHarnessName << ", profile " << profile << ", "
            << suite->testcases_size() << " cases in "
            << absl::FormatDuration(absl::Trunc(elapsed, absl::Milliseconds(1)))
            << "\n"
            << score.Summary(absl::GetFlag(FLAGS_mismatches));
  return std::cout.good() ? 0 : 1;
}

}  // namespace
}  // namespace chainverify::conformance

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Runs the x509-limbo suite through chainverify's VerifyChain(); results "
      "JSON on stdout, score on stderr.");
  absl::ParseCommandLine(argc, argv);
  return chainverify::conformance::Main();
}
