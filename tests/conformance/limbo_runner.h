// Runs x509-limbo test cases through chainverify::pki::VerifyChain() and
// scores the results. Shared by the limbo_harness binary and limbo_test.
//
// How a test case maps onto the core's API (README.md has the reasoning):
//   trusted_certs            -> a fresh TrustStore per case (AddPem each)
//   peer_certificate + untrusted_intermediates -> VerifyInput::certificates
//   validation_time          -> VerifyInput::time (null: now)
//   validation_kind / extended_key_usage -> VerifyInput::purpose
//   expected_peer_name(s)    -> VerifyInput::peer_name (one call per name)
//   max_chain_depth          -> ValidationOptions::max_chain_length = depth + 2
//   key_usage                -> checked by the harness on the verified leaf
//   crls                     -> PolicyRules::crls, soft-fail by default
//                               (HarnessOptions::revocation_hard_fail)
//   signature_algorithms     -> SKIPPED (not supported yet)
#ifndef CHAINVERIFY_TESTS_CONFORMANCE_LIMBO_RUNNER_H_
#define CHAINVERIFY_TESTS_CONFORMANCE_LIMBO_RUNNER_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "limbo.pb.h"
#include "server/pki/verifier.h"

namespace chainverify::conformance {

// The `harness` field of the results JSON.
inline constexpr char kHarnessName[] = "chainverify-0.1";

struct HarnessOptions {
  // The one profile every case runs under. The suite has three pairs of cases
  // (conflicts_with) where RFC 5280 and the Web PKI expect opposite results;
  // the side that belongs to the other profile is SKIPPED, as x509-limbo asks.
  pki::Profile profile = pki::Profile::kWebPki;
  // x509-limbo judges trust anchors by how they were issued too
  // (webpki::aki::root-with-aki-*, rfc5280::root-non-critical-basic-constraints,
  // rfc5280::ski::root-missing-ski, ...), so the harness turns on the policy
  // option for strict anchor checks that the service leaves off by default
  // (ValidationOptions::strict_anchor_checks, ARCHITECTURE.md "Trust anchors").
  bool strict_anchor_checks = true;
  // Revocation mode for the cases that carry CRLs. x509-limbo expects
  // soft-fail: it supplies CRLs only for the certificates it means to test,
  // so a certificate no CRL speaks for is accepted. Hard-fail (a status that
  // cannot be established rejects) suits suites that supply a CRL for every
  // certificate of the path. Cases without CRLs check no revocation.
  bool revocation_hard_fail = false;
  // The instant used for cases whose validation_time is null.
  absl::Time now = absl::Now();
};

// One case, ready for VerifyChain(). A case with several expected names (client
// validation) is one VerifyInput per name; the case succeeds only if all do.
struct CaseInput {
  std::vector<pki::VerifyInput> inputs;
  pki::VerifyPolicy policy;
  // keyUsage bits (certificate.h kKeyUsage*) the verified leaf must allow.
  uint32_t required_key_usage = 0;
};

// Converts a test case. Errors carry the outcome:
//   kUnimplemented   -> the case needs a feature this harness or the core does
//                       not support; report SKIPPED with the message.
//   kInvalidArgument -> an input the verifier refuses before path building (an
//                       anchor that does not parse, an invalid peer name);
//                       report FAILURE with the message.
absl::StatusOr<CaseInput> ToVerifyInput(const Testcase& testcase,
                                        const HarnessOptions& options);

// ToVerifyInput + VerifyChain + the harness-side checks.
TestcaseResult RunCase(const Testcase& testcase, const HarnessOptions& options);

// x509-limbo's scoring, per namespace (the id up to "::"; bettertls split
// into bettertls::nameconstraints and bettertls::pathbuilding).
struct Tally {
  int matched = 0;
  int unexpected_success = 0;  // Expected FAILURE, got SUCCESS: the bad kind.
  int unexpected_failure = 0;  // Expected SUCCESS, got FAILURE.
  int skipped = 0;
  int total() const {
    return matched + unexpected_success + unexpected_failure + skipped;
  }
};

class Scoreboard {
 public:
  void Add(const Testcase& testcase, const TestcaseResult& result);

  const Tally& total() const { return total_; }
  const std::map<std::string, Tally>& by_namespace() const {
    return by_namespace_;
  }
  // "<id>: expected X, got Y: <context>", in suite order.
  const std::vector<std::string>& mismatches() const { return mismatches_; }

  // A table of the tallies; with `list_mismatches`, followed by mismatches().
  std::string Summary(bool list_mismatches) const;

 private:
  Tally total_;
  std::map<std::string, Tally> by_namespace_;
  std::vector<std::string> mismatches_;
};

// Runs every case (on `threads` threads; results stay in suite order).
LimboResults RunSuite(const Limbo& suite, const HarnessOptions& options,
                      int threads);

}  // namespace chainverify::conformance

#endif  // CHAINVERIFY_TESTS_CONFORMANCE_LIMBO_RUNNER_H_
