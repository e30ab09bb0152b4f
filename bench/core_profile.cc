// A driver for profilers (valgrind --tool=callgrind, perf): one regime of the
// core benchmark, RSA-2048 or P-256, 3 certificates, no extras, a fixed number
// of verifications inside Measured(), so callgrind can collect only that
// function (--toggle-collect='*Measured*') and skip key generation.
//
//   bazel build -c opt //bench:core_profile
//   valgrind --tool=callgrind --toggle-collect='*Measured*' \
//     bazel-bin/bench/core_profile cold rsa 20
// Regimes: cold (caches cleared before each verification), fleet (new leaf
// under a known intermediate), warm (the same upload), naive (d2i_X509 +
// X509_verify_cert with a fresh store context).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <openssl/x509.h>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "bench/naive_baseline.h"
#include "server/pki/caches.h"
#include "server/pki/hostname_match.h"
#include "server/pki/trust_store.h"
#include "server/pki/verifier.h"
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

__attribute__((noinline)) int Measured(const std::string& regime,
                                       const std::vector<std::vector<std::string>>& uploads,
                                       const pki::VerifyPolicy& policy,
                                       bench::NaiveBaseline& naive) {
  int trusted = 0;
  for (const std::vector<std::string>& u : uploads) {
    if (regime == "naive") {
      trusted += naive.Verify(u);
      continue;
    }
    if (regime == "cold") policy.caches->Clear();
    pki::VerifyInput input;
    input.certificates = u;
    input.peer_name = *pki::ParsePeerName(kHost);
    input.time = kVerifyTime;
    trusted += pki::VerifyChain(input, policy).trusted;
  }
  return trusted;
}

int Main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: core_profile cold|fleet|warm|naive rsa|p256 COUNT\n");
    return 2;
  }
  const std::string regime = argv[1];
  const KeyType type = std::strcmp(argv[2], "rsa") == 0 ? KeyType::kRsa2048 : KeyType::kEcP256;
  const int count = std::atoi(argv[3]);

  TestKey root_key = TestKey::Generate(type), ca_key = TestKey::Generate(type, true),
          leaf_key = TestKey::Generate(type, true);
  CertSpec root_spec = testing::RootSpec("Profile Root");
  root_spec.key_type = type;
  const TestCert root = MustIssue(root_spec, nullptr, root_key);
  auto trust = std::make_shared<pki::TrustStore>();
  pki::ParseError error;
  trust->Add(pki::Certificate::Parse(root.der, &error), "profile");
  bench::NaiveBaseline naive(root.x509(), kHost, kVerifyTime);

  std::vector<std::vector<std::string>> uploads;
  TestCert shared_ca;
  for (int i = 0; i < count; ++i) {
    if (i == 0 || regime == "cold" || regime == "naive") {
      CertSpec spec = testing::IntermediateSpec(absl::StrCat("Profile CA ", i));
      spec.key_type = type;
      shared_ca = MustIssue(spec, &root, ca_key);
    }
    if (i > 0 && regime == "warm") {
      uploads.push_back(uploads.back());
      continue;
    }
    CertSpec leaf = testing::LeafSpec(absl::StrCat("leaf ", i), {kHost});
    leaf.key_type = type;
    uploads.push_back({MustIssue(leaf, &shared_ca, leaf_key).der, shared_ca.der, root.der});
  }

  pki::VerifierCaches caches({});
  pki::VerifyPolicy policy;
  policy.trust_store = trust;
  policy.caches = &caches;
  if (regime == "fleet" || regime == "warm") {
    // One earlier request with the same intermediate (a different leaf).
    CertSpec leaf = testing::LeafSpec("warming leaf", {kHost});
    leaf.key_type = type;
    pki::VerifyInput input;
    input.certificates = {MustIssue(leaf, &shared_ca, leaf_key).der, shared_ca.der, root.der};
    input.peer_name = *pki::ParsePeerName(kHost);
    input.time = kVerifyTime;
    pki::VerifyChain(input, policy);
    if (regime == "warm") {
      input.certificates = uploads[0];
      pki::VerifyChain(input, policy);
    }
  }
  const int trusted = Measured(regime, uploads, policy, naive);
  std::printf("%s: %d of %d trusted\n", regime.c_str(), trusted, count);
  return trusted == count ? 0 : 1;
}

}  // namespace
}  // namespace chainverify

int main(int argc, char** argv) { return chainverify::Main(argc, argv); }
