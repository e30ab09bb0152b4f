// CPU time per request for the worst inputs we can build, plus x509-limbo's
// pathological::* cases when the suite is available. Each case runs without
// caches (the attacker sends certificates nobody has seen, so the caches only
// add their bookkeeping) and with fresh caches; the worst run counts.
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "server/pki/caches.h"
#include "server/pki/hostname_match.h"
#include "server/pki/trust_store.h"
#include "server/pki/verifier.h"
#include "tests/conformance/limbo_runner.h"
#include "tests/conformance/limbo_suite.h"
#include "tests/testutil/test_pki.h"

namespace chainverify {
namespace {

using testing::CertSpec;
using testing::KeyType;
using testing::MustIssue;
using testing::TestCert;
using testing::TestKey;

constexpr char kHost[] = "www.bench.example";
const absl::Time kVerifyTime = absl::FromUnixSeconds(1800000000);
constexpr int kRuns = 5;

double ThreadCpuMs() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

// P-256 throughout: its signature checks are the slowest of the common keys
// in OpenSSL 3.0, and fresh keys are cheap to make.
TestKey Fresh() { return TestKey::Generate(KeyType::kEcP256, /*fresh=*/true); }

struct Case {
  std::string name;
  std::vector<std::string> upload;
  std::shared_ptr<pki::TrustStore> store;
  bool expect_trusted;
};

std::shared_ptr<pki::TrustStore> StoreOf(const TestCert& root) {
  auto store = std::make_shared<pki::TrustStore>();
  pki::ParseError error;
  store->Add(pki::Certificate::Parse(root.der, &error), "bench");
  return store;
}

std::vector<Case> BuildCases() {
  std::vector<Case> cases;
  const TestCert root = MustIssue(testing::RootSpec("Adversarial Root"), nullptr, Fresh());
  auto store = StoreOf(root);

  {  // 31 intermediates named like the leaf's issuer, none holding its key.
    const TestCert real = MustIssue(testing::IntermediateSpec("Same Subject CA"), &root, Fresh());
    Case c{"31 same-subject intermediates, wrong keys", {}, store, false};
    c.upload.push_back(MustIssue(testing::LeafSpec("leaf", {kHost}), &real).der);
    for (int i = 0; i < 31; ++i) {
      c.upload.push_back(MustIssue(testing::IntermediateSpec("Same Subject CA"), &root, Fresh()).der);
    }
    cases.push_back(std::move(c));
  }
  {  // 6 CAs, each cross-signed by each other one (30 certificates), no way out.
    std::vector<TestKey> keys;
    std::vector<TestCert> self;
    for (int i = 0; i < 6; ++i) {
      keys.push_back(Fresh());
      self.push_back(MustIssue(testing::RootSpec(absl::StrCat("Loop CA ", i)), nullptr, keys[i]));
    }
    Case c{"cross-sign mesh of 6 CAs (30 certs)", {}, store, false};
    c.upload.push_back(MustIssue(testing::LeafSpec("leaf", {kHost}), &self[0]).der);
    for (int i = 0; i < 6; ++i) {
      for (int j = 0; j < 6; ++j) {
        if (i == j) continue;
        c.upload.push_back(
            MustIssue(testing::IntermediateSpec(absl::StrCat("Loop CA ", i)), &self[j], keys[i]).der);
      }
    }
    cases.push_back(std::move(c));
  }
  {  // The longest chain the default policy allows: 10 certificates.
    std::vector<TestCert> ints;
    const TestCert* issuer = &root;
    for (int i = 0; i < 8; ++i) {
      ints.push_back(MustIssue(testing::IntermediateSpec(absl::StrCat("Long CA ", i)), issuer, Fresh()));
      issuer = &ints.back();
    }
    Case c{"longest allowed chain (10 certs)", {}, store, true};
    c.upload.push_back(MustIssue(testing::LeafSpec("leaf", {kHost}), issuer).der);
    for (auto it = ints.rbegin(); it != ints.rend(); ++it) c.upload.push_back(it->der);
    cases.push_back(std::move(c));
  }
  {  // 1,000 SANs under 500 name constraints (all pass, so all are checked).
    CertSpec ca = testing::IntermediateSpec("Constrained CA");
    for (int i = 0; i < 250; ++i) {
      ca.permitted_dns.push_back(absl::StrCat("p", i, ".bench.example"));
      ca.excluded_dns.push_back(absl::StrCat("x", i, ".bench.example"));
    }
    ca.permitted_dns.push_back("www.bench.example");
    const TestCert constrained = MustIssue(ca, &root, Fresh());
    std::vector<std::string> sans = {kHost};
    for (int i = 0; sans.size() < 1000; ++i) {
      sans.push_back(absl::StrCat("h", i, ".p", i % 250, ".bench.example"));
    }
    Case c{"1,000 SANs under 501 name constraints", {}, store, true};
    c.upload.push_back(MustIssue(testing::LeafSpec("leaf", sans), &constrained).der);
    c.upload.push_back(constrained.der);
    cases.push_back(std::move(c));
  }
  return cases;
}

// Worst CPU time of `runs` runs of `verify`, half without caches.
double WorstCpuMs(const std::function<void(pki::VerifierCaches*)>& verify) {
  double worst = 0;
  for (int r = 0; r < kRuns; ++r) {
    pki::VerifierCaches caches({});
    pki::VerifierCaches* use = r % 2 == 0 ? nullptr : &caches;
    const double start = ThreadCpuMs();
    verify(use);
    worst = std::max(worst, ThreadCpuMs() - start);
  }
  return worst;
}

std::string SuitePath() {
  if (const char* env = std::getenv("CHAINVERIFY_LIMBO"); env != nullptr && *env) return env;
  // `bazel run` sets this to the workspace root.
  if (const char* ws = std::getenv("BUILD_WORKSPACE_DIRECTORY"); ws != nullptr && *ws) {
    return absl::StrCat(ws, "/../shared/conformance/limbo.json.gz");
  }
  return "../shared/conformance/limbo.json.gz";
}

void Run() {
  std::printf("Generating certificates...\n");
  std::fflush(stdout);
  double max_ms = 0;
  std::printf("\n%-48s %-9s %-28s %10s\n", "case", "verdict", "status", "max cpu ms");
  for (const Case& c : BuildCases()) {
    pki::VerifyPolicy policy;
    policy.trust_store = c.store;
    pki::VerifyInput input;
    input.certificates = c.upload;
    input.peer_name = *pki::ParsePeerName(kHost);
    input.time = kVerifyTime;
    pki::VerifyResult result;
    const double ms = WorstCpuMs([&](pki::VerifierCaches* caches) {
      policy.caches = caches;
      result = pki::VerifyChain(input, policy);
    });
    if (result.trusted != c.expect_trusted) {
      std::fprintf(stderr, "%s: unexpected verdict\n", c.name.c_str());
      std::exit(1);
    }
    std::printf("%-48s %-9s %-28s %10.2f\n", c.name.c_str(),
                result.trusted ? "TRUSTED" : "REJECTED",
                v1::Status_Name(result.status).c_str(), ms);
    max_ms = std::max(max_ms, ms);
  }

  const std::string path = SuitePath();
  absl::StatusOr<conformance::Limbo> suite = conformance::LoadSuite(path);
  if (!suite.ok()) {
    std::printf("\nx509-limbo suite not available (%s): pathological::* not run\n",
                std::string(suite.status().message()).c_str());
  } else {
    conformance::HarnessOptions options;
    int count = 0;
    for (const conformance::Testcase& testcase : suite->testcases()) {
      if (!absl::StartsWith(testcase.id(), "pathological::")) continue;
      absl::StatusOr<conformance::CaseInput> in = conformance::ToVerifyInput(testcase, options);
      if (!in.ok()) continue;
      for (pki::VerifyInput& input : in->inputs) {
        pki::VerifyResult result;
        const double ms = WorstCpuMs([&](pki::VerifierCaches* caches) {
          in->policy.caches = caches;
          result = pki::VerifyChain(input, in->policy);
        });
        std::printf("%-48s %-9s %-28s %10.2f\n", testcase.id().c_str(),
                    result.trusted ? "TRUSTED" : "REJECTED",
                    v1::Status_Name(result.status).c_str(), ms);
        max_ms = std::max(max_ms, ms);
        ++count;
      }
    }
    std::printf("(%d pathological::* inputs from %s)\n", count, path.c_str());
  }
  std::printf("\nworst of %d runs per case, half without caches, half with fresh caches\n",
              kRuns);
  std::printf("max_cpu_ms adversarial = %.2f (target <= 10)\n", max_ms);
}

}  // namespace
}  // namespace chainverify

int main() {
  chainverify::Run();
  return 0;
}
