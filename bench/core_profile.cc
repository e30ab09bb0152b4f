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

#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
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

bool Naive(X509_STORE* store, const std::vector<std::string>& ders) {
  std::vector<X509*> parsed;
  for (const std::string& der : ders) {
    const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
    parsed.push_back(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  }
  STACK_OF(X509)* untrusted = sk_X509_new_null();
  for (size_t i = 1; i < parsed.size(); ++i) sk_X509_push(untrusted, parsed[i]);
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  X509_STORE_CTX_init(ctx, store, parsed[0], untrusted);
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx);
  X509_VERIFY_PARAM_set_time(param, absl::ToTimeT(kVerifyTime));
  X509_VERIFY_PARAM_set1_host(param, kHost, 0);
  X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER);
  const bool ok = X509_verify_cert(ctx) == 1;
  X509_STORE_CTX_free(ctx);
  sk_X509_free(untrusted);
  for (X509* x : parsed) X509_free(x);
  ERR_clear_error();
  return ok;
}

__attribute__((noinline)) int Measured(const std::string& regime,
                                       const std::vector<std::vector<std::string>>& uploads,
                                       const pki::VerifyPolicy& policy, X509_STORE* store) {
  int trusted = 0;
  for (const std::vector<std::string>& u : uploads) {
    if (regime == "naive") {
      trusted += Naive(store, u);
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
  X509_STORE* store = X509_STORE_new();
  X509_STORE_add_cert(store, root.x509());

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
  const int trusted = Measured(regime, uploads, policy, store);
  X509_STORE_free(store);
  std::printf("%s: %d of %d trusted\n", regime.c_str(), trusted, count);
  return trusted == count ? 0 : 1;
}

}  // namespace
}  // namespace chainverify

int main(int argc, char** argv) { return chainverify::Main(argc, argv); }
