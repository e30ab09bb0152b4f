// Verifications per second of the core (VerifyChain with the shared caches)
// next to a naive OpenSSL baseline, in the same process and interleaved
// request by request, so machine noise hits both alike.
//
// Baseline, per verification: d2i_X509 every upload, a fresh X509_STORE_CTX
// over an X509_STORE holding the root (built once), X509_verify_cert with the
// host name checked. That is what a service without caches does.
//
// Regimes (the root is the trust anchor; the upload is the whole chain, leaf
// to root, then the unrelated intermediates):
//   cold:  every chain is distinct and used once, and the caches are cleared
//          before every verification (inside the timed region);
//   fleet: distinct leaves under one intermediate path, whose certificates
//          and edges were seen once before (one warming verification);
//   warm:  the same upload repeated (answered by the whole-result cache).
// Then the incomplete-chain regimes (RunIncompleteChains) against the fleet
// regime's complete upload.
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
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
#include "server/revocation/aia_fetcher.h"
#include "tests/integration/server_process.h"
#include "tests/testutil/test_pki.h"

namespace chainverify {
namespace {

using testing::CertSpec;
using testing::KeyType;
using testing::MustIssue;
using testing::TestCert;
using testing::TestKey;

constexpr char kHost[] = "www.bench.example";
const absl::Time kVerifyTime = absl::FromUnixSeconds(1800000000);  // 2027-01
constexpr double kCellSeconds = 0.4;  // Per side and cell, at most.

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// One PKI: a root, and the keys to issue chains under it.
struct Pki {
  KeyType type;
  std::string name;
  TestKey root_key, intermediate_key, leaf_key;
  TestCert root;
  std::vector<std::string> extras;  // Unrelated intermediates (200).
  std::shared_ptr<pki::TrustStore> store;
};

Pki MakePki(KeyType type, std::string name) {
  Pki p;
  p.type = type;
  p.name = name;
  p.root_key = TestKey::Generate(type, /*fresh=*/true);
  p.intermediate_key = TestKey::Generate(type, /*fresh=*/true);
  p.leaf_key = TestKey::Generate(type, /*fresh=*/true);
  CertSpec root_spec = testing::RootSpec(absl::StrCat("Bench Root ", name));
  root_spec.key_type = type;
  p.root = MustIssue(root_spec, nullptr, p.root_key);
  // Unrelated intermediates: names nothing in the chain has, issued by an
  // unrelated P-256 CA (cheap to make; they are parsed and never chosen).
  TestKey ec = TestKey::Generate(KeyType::kEcP256);
  TestCert other_root = MustIssue(testing::RootSpec("Unrelated Root"), nullptr, ec);
  for (int i = 0; i < 200; ++i) {
    CertSpec spec = testing::IntermediateSpec(absl::StrCat("Unrelated CA ", i));
    spec.key_type = type;
    p.extras.push_back(MustIssue(spec, &other_root, p.intermediate_key).der);
  }
  p.store = std::make_shared<pki::TrustStore>();
  pki::ParseError error;
  p.store->Add(pki::Certificate::Parse(p.root.der, &error), "bench");
  return p;
}

// Intermediates below the root (`count` of them, top first), distinct per
// call (fresh serial numbers and names).
std::vector<TestCert> MakeIntermediates(const Pki& p, int count, int serial) {
  std::vector<TestCert> out;
  const TestCert* issuer = &p.root;
  for (int i = 0; i < count; ++i) {
    CertSpec spec = testing::IntermediateSpec(absl::StrCat("Bench CA ", serial, ".", i));
    spec.key_type = p.type;
    out.push_back(MustIssue(spec, issuer, p.intermediate_key));
    issuer = &out.back();
  }
  return out;
}

std::string MakeLeaf(const Pki& p, const TestCert& issuer, int serial) {
  CertSpec spec = testing::LeafSpec(absl::StrCat("leaf ", serial), {kHost});
  spec.key_type = p.type;
  return MustIssue(spec, &issuer, p.leaf_key).der;
}

// Leaf, intermediates (bottom first), root, then `extras` unrelated ones.
std::vector<std::string> Upload(const Pki& p, const std::string& leaf,
                                const std::vector<TestCert>& intermediates, int extras) {
  std::vector<std::string> out = {leaf};
  for (auto it = intermediates.rbegin(); it != intermediates.rend(); ++it) {
    out.push_back(it->der);
  }
  out.push_back(p.root.der);
  out.insert(out.end(), p.extras.begin(), p.extras.begin() + extras);
  return out;
}

struct Side {
  double seconds = 0;
  int count = 0;
  double rate() const { return count / seconds; }
};

class Ours {
 public:
  Ours(const Pki& p, pki::VerifierCaches* caches,
       pki::IssuerSources issuers = pki::IssuerSources()) {
    policy_.trust_store = p.store;
    policy_.issuers = std::move(issuers);
    policy_.caches = caches;
    // The policy never changes, so whole results may be cached (as the
    // server does per compiled policy); only the warm regime repeats one.
    policy_.result_cache_scope = std::make_shared<int>(0);
    peer_ = *pki::ParsePeerName(kHost);
  }
  bool Verify(const std::vector<std::string>& ders) {
    pki::VerifyInput input;
    input.certificates = ders;
    input.peer_name = peer_;
    input.time = kVerifyTime;
    return pki::VerifyChain(input, policy_).trusted;
  }

 private:
  pki::VerifyPolicy policy_;
  pki::PeerName peer_;
};

using VerifyFn = std::function<bool(const std::vector<std::string>&)>;

// Times `a` on `a_uploads` and `b` on `b_uploads`, alternating which goes
// first, the i-th upload of each once per side (cycling when `repeat`), for
// at most kCellSeconds per side.
void RunPair(const std::vector<std::vector<std::string>>& a_uploads, const VerifyFn& a,
             const std::vector<std::vector<std::string>>& b_uploads, const VerifyFn& b,
             bool repeat, Side* sa, Side* sb) {
  for (size_t i = 0; repeat || i < a_uploads.size(); ++i) {
    for (int k = 0; k < 2; ++k) {
      const bool a_turn = (k == 0) == (i % 2 == 0);
      const double start = Now();
      const bool ok = a_turn ? a(a_uploads[i % a_uploads.size()])
                             : b(b_uploads[i % b_uploads.size()]);
      const double elapsed = Now() - start;
      if (!ok) {
        std::fprintf(stderr, "%s rejected a valid chain\n", a_turn ? "first side" : "second side");
        std::exit(1);
      }
      Side* side = a_turn ? sa : sb;
      side->seconds += elapsed;
      ++side->count;
    }
    if (sa->seconds > kCellSeconds && sb->seconds > kCellSeconds) break;
  }
}

// Ours against the naive baseline on the same uploads. `before_ours` runs
// inside our timed region.
template <typename F>
void RunCell(const std::vector<std::vector<std::string>>& uploads, bool repeat, Ours& ours,
             bench::NaiveBaseline& naive, F before_ours, Side* o, Side* n) {
  RunPair(
      uploads,
      [&](const std::vector<std::string>& u) {
        before_ours();
        return ours.Verify(u);
      },
      uploads, [&](const std::vector<std::string>& u) { return naive.Verify(u); }, repeat, o,
      n);
}

struct Ratio {
  double cold = 0, fleet = 0, warm = 0;
};

void Row(const char* regime, const Pki& p, int length, int extras, const Side& o,
         const Side& n) {
  std::printf("%-6s %-9s %5d %6d %12.0f %12.0f %8.2fx %6d\n", regime, p.name.c_str(), length,
              extras, o.rate(), n.rate(), o.rate() / n.rate(), o.count);
  std::fflush(stdout);
}

// Incomplete chains (README "Incomplete chains"): leaf-only uploads completed
// from an intermediate store of kStoreSize certificates, and from the AIA
// fetch cache (a real fetch from python3's http.server on loopback, then
// cache hits), each interleaved with the complete upload (leaf,
// intermediate, root) of the fleet regime: distinct leaves under one
// intermediate whose certificate and edges were seen before.
constexpr int kStoreSize = 10000;

void RunIncompleteChains(const Pki& p, int* serial) {
  std::vector<TestCert> ints = MakeIntermediates(p, 1, ++*serial);
  const TestCert& ica = ints.back();
  const std::string www = absl::StrCat(std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp",
                                       "/chainverify-bench-aia-", getpid());
  mkdir(www.c_str(), 0755);
  std::ofstream(www + "/ica.der", std::ios::binary) << ica.der;
  const int port = testing::FreeLoopbackPort();
  testing::HelperProcess http({"/usr/bin/python3", "-m", "http.server", absl::StrCat(port),
                               "--bind", "127.0.0.1", "--directory", www},
                              port);
  const std::string url = absl::StrCat("http://127.0.0.1:", port, "/ica.der");

  // The store: the issuing CA among kStoreSize - 1 others.
  auto store = std::make_shared<pki::TrustStore>();
  TestKey ec = TestKey::Generate(KeyType::kEcP256);
  TestCert other_root = MustIssue(testing::RootSpec("Store Filler Root"), nullptr, ec);
  for (int i = 0; i < kStoreSize - 1; ++i) {
    pki::ParseError error;
    store->Add(pki::Certificate::Parse(
                   MustIssue(testing::IntermediateSpec(absl::StrCat("Fleet CA ", i)),
                             &other_root, ec)
                       .der,
                   &error),
               "bench-store");
  }
  pki::ParseError error;
  store->Add(pki::Certificate::Parse(ica.der, &error), "bench-store");

  pki::IssuerSources from_store;
  from_store.intermediates = store;
  revocation::FetchPolicy fetch = revocation::DefaultIssuerFetchPolicy();
  fetch.allowed_hosts = {"127.0.0.1"};
  fetch.allow_private_addresses = true;
  pki::IssuerSources from_aia;
  from_aia.fetcher = std::make_shared<revocation::HttpIssuerFetcher>(fetch);

  std::vector<std::vector<std::string>> complete, leaf_only;
  for (int i = 0; i < 400; ++i) {
    CertSpec spec = testing::LeafSpec(absl::StrCat("leaf ", ++*serial), {kHost});
    spec.key_type = p.type;
    spec.ca_issuers_urls = {url};
    const std::string leaf = MustIssue(spec, &ica, p.leaf_key).der;
    complete.push_back({leaf, ica.der, p.root.der});
    leaf_only.push_back({leaf});
  }

  std::printf(
      "\nincomplete chains, %s, leaf + intermediate + root: leaf-only uploads vs the complete "
      "upload (fleet regime), interleaved\n\n%-28s %12s %12s %8s %6s\n",
      p.name.c_str(), "regime", "leaf-only/s", "complete/s", "ratio", "n");
  double ratios[2] = {0, 0};
  const char* names[2] = {"store (10,000 certificates)", "aia (fetch cache)"};
  for (int r = 0; r < 2; ++r) {
    pki::VerifierCaches caches({});
    Ours complete_side(p, &caches);
    Ours leaf_side(p, &caches, r == 0 ? from_store : from_aia);
    // Warm both the way the fleet regime is warm: the intermediate and its
    // edges seen once, and (AIA) its one real fetch.
    if (!complete_side.Verify({MakeLeaf(p, ica, ++*serial), ica.der, p.root.der}) ||
        !leaf_side.Verify(leaf_only.back())) {
      std::fprintf(stderr, "%s: warming verification failed (is python3 there?)\n", names[r]);
      std::exit(1);
    }
    Side l, c;
    RunPair(
        leaf_only, [&](const std::vector<std::string>& u) { return leaf_side.Verify(u); },
        complete, [&](const std::vector<std::string>& u) { return complete_side.Verify(u); },
        false, &l, &c);
    ratios[r] = l.rate() / c.rate();
    std::printf("%-28s %12.0f %12.0f %8.2f %6d\n", names[r], l.rate(), c.rate(), ratios[r],
                l.count);
  }
  std::printf("\nratio core_leaf_only_store_vs_complete = %.2f (target >= 0.8)\n", ratios[0]);
  std::printf("ratio core_leaf_only_aia_cache_vs_complete = %.2f (target >= 0.8)\n", ratios[1]);
  std::string ignored;
  testing::RunCommand({"/bin/rm", "-rf", www}, &ignored);
}

void Run() {
  std::printf("Generating keys and certificates...\n");
  std::fflush(stdout);
  std::vector<Pki> pkis;
  pkis.push_back(MakePki(KeyType::kRsa2048, "RSA-2048"));
  pkis.push_back(MakePki(KeyType::kEcP256, "P-256"));

  std::printf(
      "\nverifications/s, core (VerifyChain + shared caches) vs naive (d2i_X509 + "
      "X509_verify_cert);\nlength = certificates leaf..root, all uploaded; extras = unrelated "
      "intermediates uploaded after them.\n\n");
  std::printf("%-6s %-9s %5s %6s %12s %12s %9s %6s\n", "regime", "keys", "len", "extras",
              "core/s", "naive/s", "speedup", "n");
  Ratio ratio;
  int serial = 0;
  for (const Pki& p : pkis) {
    for (int length : {3, 4}) {
      for (int extras : {0, 50, 200}) {
        bench::NaiveBaseline naive(p.root.x509(), kHost, kVerifyTime);
        // Enough distinct chains for about kCellSeconds of the baseline.
        const int distinct = extras == 0 ? 250 : extras == 50 ? 60 : 20;

        // Cold.
        {
          pki::VerifierCaches caches({});
          Ours ours(p, &caches);
          std::vector<std::vector<std::string>> uploads;
          for (int i = 0; i < distinct; ++i) {
            std::vector<TestCert> ints = MakeIntermediates(p, length - 2, ++serial);
            uploads.push_back(Upload(p, MakeLeaf(p, ints.back(), serial), ints, extras));
          }
          Side o, n;
          RunCell(uploads, false, ours, naive, [&] { caches.Clear(); }, &o, &n);
          Row("cold", p, length, extras, o, n);
          if (p.type == KeyType::kRsa2048 && length == 3 && extras == 0) {
            ratio.cold = o.rate() / n.rate();
          }
        }
        // Fleet.
        {
          pki::VerifierCaches caches({});
          Ours ours(p, &caches);
          std::vector<TestCert> ints = MakeIntermediates(p, length - 2, ++serial);
          ours.Verify(Upload(p, MakeLeaf(p, ints.back(), ++serial), ints, extras));
          std::vector<std::vector<std::string>> uploads;
          for (int i = 0; i < distinct; ++i) {
            uploads.push_back(Upload(p, MakeLeaf(p, ints.back(), ++serial), ints, extras));
          }
          Side o, n;
          RunCell(uploads, false, ours, naive, [] {}, &o, &n);
          Row("fleet", p, length, extras, o, n);
          if (p.type == KeyType::kRsa2048 && length == 3 && extras == 0) {
            ratio.fleet = o.rate() / n.rate();
          }
        }
        // Warm.
        {
          pki::VerifierCaches caches({});
          Ours ours(p, &caches);
          std::vector<TestCert> ints = MakeIntermediates(p, length - 2, ++serial);
          std::vector<std::vector<std::string>> uploads = {
              Upload(p, MakeLeaf(p, ints.back(), ++serial), ints, extras)};
          ours.Verify(uploads[0]);
          Side o, n;
          RunCell(uploads, true, ours, naive, [] {}, &o, &n);
          Row("warm", p, length, extras, o, n);
          if (p.type == KeyType::kRsa2048 && length == 3 && extras == 0) {
            ratio.warm = o.rate() / n.rate();
          }
        }
      }
    }
  }
  std::printf("\nratio lines: RSA-2048, 3 certificates (leaf, intermediate, root), 0 extras\n");
  std::printf("ratio core_fleet_vs_naive = %.2f (target >= 5)\n", ratio.fleet);
  std::printf("ratio core_cold_vs_naive = %.2f (target >= 2)\n", ratio.cold);
  std::printf("ratio core_warm_vs_naive = %.2f (target >= 5)\n", ratio.warm);
  RunIncompleteChains(pkis[0], &serial);
}

}  // namespace
}  // namespace chainverify

int main() {
  chainverify::Run();
  return 0;
}
