// Holds chainverify's x509-limbo score to floors: the whole suite runs through
// VerifyChain() under the Web PKI profile, and the test fails when matches drop
// or unexpected successes (the security-relevant mismatches) rise.
//
// The suite is not part of the project. It is read from $CHAINVERIFY_LIMBO,
// else from ../shared/conformance/limbo.json.gz next to the real workspace
// root (found by following README.md's runfiles symlink back to the source
// tree). When neither exists the test SKIPS loudly; CI treats that skip as a
// failure.
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include <openssl/sha.h>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "gtest/gtest.h"
#include "tests/conformance/limbo_runner.h"
#include "tests/conformance/limbo_suite.h"

namespace chainverify::conformance {
namespace {

// The floors below were measured on this exact file (the suite README's
// sha256 of the uncompressed JSON); another suite gets its score reported
// but not held to them.
constexpr char kCalibratedSha256[] =
    "b2e8f44f865dab2254bf4b730610cab40cdd04202cbad298bb9e87343903db8a";
// Matched cases, out of 9,780.
constexpr int kMinMatched = 9777;
// Expected FAILURE but verified: a chain the core should have rejected.
constexpr int kMaxUnexpectedSuccesses = 0;
// Cases SKIPPED: only the RFC 5280 side of the three declared conflicting pairs.
constexpr int kMaxSkipped = 3;

// Cases whose outcome is pinned, with why each one matters. A rejection is
// pinned with the error id it must cite (cert_errors.h ids are stable), so a
// core that rejects for the wrong reason does not pass by accident.
struct Pinned {
  const char* id;
  Result actual;
  const char* error_id = nullptr;
};
constexpr Pinned kPinnedCases[] = {
    // A real-world chain: the basic path must verify.
    {"webpki::cryptographydotio-chain", SUCCESS},
    {"webpki::cryptographydotio-chain-missing-intermediate", FAILURE,
     "path.no_issuer"},
    // max_chain_depth mapping (depth counts intermediates only).
    {"pathlen::max-chain-depth-0", SUCCESS},
    {"pathlen::max-chain-depth-0-exhausted", FAILURE, "path.too_long"},
    {"pathlen::max-chain-depth-1", SUCCESS},
    {"pathlen::max-chain-depth-1-exhausted", FAILURE, "path.too_long"},
    // The profile choice: Web PKI's side of a conflicting pair runs, the RFC
    // 5280 side is skipped.
    {"webpki::ca-as-leaf", FAILURE, "usage.leaf_is_ca"},
    {"rfc5280::ca-as-leaf", SKIPPED},
    // Name constraints on wildcard SANs (Go's CVE-2025-61727).
    {"cve::cve-2025-61727", FAILURE, "name.constraint_violation"},
    {"cve::cve-2025-61727-nc-permits-variant", FAILURE,
     "name.constraint_violation"},
    // BetterTLS: an excluded-subtree violation; a 6-certificate path.
    {"bettertls::nameconstraints::tc253", FAILURE, "name.constraint_violation"},
    {"bettertls::pathbuilding::tc62", SUCCESS},
    // CRLs (RFC 5280 6.3).
    {"crl::revoked-certificate-with-crl", FAILURE, "revocation.revoked"},
    {"crl::crlnumber-missing", FAILURE, "revocation.crl_invalid"},
    {"crl::certificate-not-on-crl", SUCCESS},
};

// Declared reasons for SKIPPED (prefixes of the context).
constexpr const char* kSkipReasons[] = {
    "conflicts with ",
};

std::string Sha256Hex(const std::string& data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(),
         digest);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
}

// The suite's path, or "" with `why` explaining where it looked.
std::string LocateSuite(std::string* why) {
  if (const char* env = std::getenv(kSuiteEnvVar); env != nullptr && *env) {
    return env;
  }
  // README.md is a data dependency, so the runfiles tree holds a symlink to
  // the source file; its target's directory tells where the workspace is.
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  if (srcdir == nullptr || workspace == nullptr) {
    *why = "not running under bazel test (no TEST_SRCDIR) and $" +
           std::string(kSuiteEnvVar) + " is unset";
    return "";
  }
  constexpr char kMarker[] = "/tests/conformance/README.md";
  const std::string link = absl::StrCat(srcdir, "/", workspace, kMarker);
  char real[PATH_MAX];
  if (realpath(link.c_str(), real) == nullptr ||
      !absl::EndsWith(real, kMarker)) {
    *why = absl::StrCat("cannot resolve ", link, " to the source tree");
    return "";
  }
  const std::string path =
      absl::StrCat(absl::StripSuffix(real, kMarker), "/", kSuiteRelativePath);
  if (access(path.c_str(), R_OK) != 0) {
    *why = absl::StrCat(path, " does not exist or is unreadable");
    return "";
  }
  return path;
}

class LimboTest : public ::testing::Test {
 protected:
  // The suite runs once for all the checks below.
  static void SetUpTestSuite() {
    state_ = new State;
    std::string why;
    state_->path = LocateSuite(&why);
    if (state_->path.empty()) {
      constexpr char kRule[] =
          "*************************************************************\n";
      state_->absent = absl::StrCat(
          "\n", kRule, "* x509-limbo suite ABSENT: conformance NOT tested.\n",
          "* ", why, "\n", "* Set --test_env=", kSuiteEnvVar,
          "=/path/to/limbo.json.gz\n", kRule);
      std::fputs(state_->absent.c_str(), stderr);
      return;
    }
    absl::StatusOr<std::string> json = ReadMaybeGzipped(state_->path);
    if (!json.ok()) {
      state_->load_error = json.status().ToString();
      return;
    }
    state_->calibrated = Sha256Hex(*json) == kCalibratedSha256;
    absl::StatusOr<Limbo> suite = ParseSuite(*json);
    if (!suite.ok()) {
      state_->load_error = suite.status().ToString();
      return;
    }
    state_->suite = *std::move(suite);
    HarnessOptions options;  // Web PKI, see README.md.
    state_->results = RunSuite(state_->suite, options, /*threads=*/1);
    for (int i = 0; i < state_->suite.testcases_size(); ++i) {
      state_->score.Add(state_->suite.testcases(i), state_->results.results(i));
      state_->by_id[state_->suite.testcases(i).id()] = i;
    }
    std::fprintf(stderr, "x509-limbo: %s (%s)\n%s", state_->path.c_str(),
                 state_->calibrated ? "the calibrated suite"
                                    : "NOT the calibrated suite: floors off",
                 state_->score.Summary(/*list_mismatches=*/true).c_str());
  }

  static void TearDownTestSuite() {
    delete state_;
    state_ = nullptr;
  }

  void SetUp() override {
    if (!state_->absent.empty()) GTEST_SKIP() << state_->absent;
    ASSERT_TRUE(state_->load_error.empty())
        << "cannot load " << state_->path << ": " << state_->load_error;
  }

  struct State {
    std::string path;
    std::string absent;
    std::string load_error;
    bool calibrated = false;
    Limbo suite;
    LimboResults results;
    Scoreboard score;
    std::map<std::string, int> by_id;
  };
  static State* state_;
};

LimboTest::State* LimboTest::state_ = nullptr;

TEST_F(LimboTest, EveryCaseHasAResult) {
  ASSERT_EQ(state_->results.results_size(), state_->suite.testcases_size());
  EXPECT_EQ(state_->score.total().total(), state_->suite.testcases_size());
}

TEST_F(LimboTest, MatchesAtLeastTheFloor) {
  if (!state_->calibrated)
    GTEST_SKIP() << "floors apply to the calibrated suite";
  EXPECT_GE(state_->score.total().matched, kMinMatched)
      << state_->score.Summary(/*list_mismatches=*/false);
}

TEST_F(LimboTest, UnexpectedSuccessesAtMostTheCeiling) {
  if (!state_->calibrated)
    GTEST_SKIP() << "floors apply to the calibrated suite";
  EXPECT_LE(state_->score.total().unexpected_success, kMaxUnexpectedSuccesses)
      << state_->score.Summary(/*list_mismatches=*/false);
}

// Every case matches (skips are checked below).
TEST_F(LimboTest, NoMismatches) {
  for (const TestcaseResult& result : state_->results.results()) {
    const Result expected =
        state_->suite.testcases(state_->by_id.at(result.id())).expected_result();
    if (result.actual_result() == SKIPPED || result.actual_result() == expected) continue;
    ADD_FAILURE() << result.id() << ": expected " << Result_Name(expected) << ", got "
                  << Result_Name(result.actual_result()) << ": " << result.context();
  }
}

TEST_F(LimboTest, SkipsOnlyForDeclaredReasons) {
  for (const TestcaseResult& result : state_->results.results()) {
    if (result.actual_result() != SKIPPED) continue;
    bool declared = false;
    for (const char* reason : kSkipReasons) {
      declared = declared || absl::StartsWith(result.context(), reason);
    }
    EXPECT_TRUE(declared) << result.id() << " skipped: " << result.context();
  }
  if (state_->calibrated) {
    EXPECT_LE(state_->score.total().skipped, kMaxSkipped);
  }
}

TEST_F(LimboTest, PinnedCases) {
  for (const Pinned& pinned : kPinnedCases) {
    auto it = state_->by_id.find(pinned.id);
    if (it == state_->by_id.end()) {
      ADD_FAILURE() << pinned.id << " is not in the suite";
      continue;
    }
    const TestcaseResult& result = state_->results.results(it->second);
    EXPECT_EQ(result.actual_result(), pinned.actual)
        << pinned.id << ": got " << Result_Name(result.actual_result()) << ": "
        << result.context();
    if (pinned.error_id != nullptr) {
      // The context reads "<STATUS> <error id> [chain i]: ...".
      EXPECT_TRUE(absl::StrContains(result.context(),
                                    absl::StrCat(" ", pinned.error_id, " ")) ||
                  absl::StrContains(result.context(),
                                    absl::StrCat(" ", pinned.error_id, ":")))
          << pinned.id << " should cite " << pinned.error_id << ": "
          << result.context();
    }
  }
}

}  // namespace
}  // namespace chainverify::conformance
