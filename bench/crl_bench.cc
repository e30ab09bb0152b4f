// CRLs at Web PKI size (README "Benchmarks"): parsing, lookup and memory of a
// generated CRL of 1,000,000 entries, against d2i_X509_CRL on the same bytes
// in the same run.
//
//   bazel run -c opt //bench:crl [-- --entries=N]
//
// Prints:
//   max_ms crl_parse_1m_entries = X (target <= T)   T = 3 x d2i_X509_CRL alone
//   max_us crl_lookup_1m_entries = X (target <= 5)  one CrlSet::Check, listed
//                                                   and unlisted serials
//   ratio crl_memory_vs_der_1m_entries = X (target <= 3)  resident bytes the
//                                                   parsed set adds / DER size
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "absl/strings/numbers.h"
#include "absl/strings/strip.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/pki/certificate.h"
#include "server/pki/crl.h"
#include "server/pki/der.h"
#include "tests/testutil/test_pki.h"

namespace chainverify {
namespace {

using pki::Certificate;
using pki::CertificatePtr;
using pki::CrlSet;
using pki::DerTlv;
using testing::MustIssue;
using testing::TestCert;

double NowMs() {
  return std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Resident set size in bytes (/proc/self/statm, second field).
size_t ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  size_t total = 0, resident = 0;
  statm >> total >> resident;
  return resident * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

std::string NameDer(const X509_NAME* name) {
  unsigned char* der = nullptr;
  const int len = i2d_X509_NAME(name, &der);
  std::string out(reinterpret_cast<char*>(der), len);
  OPENSSL_free(der);
  return out;
}

// A v2 CRL from `ca` (ECDSA P-256, SHA-256) of `serials` (DER INTEGER
// contents) in the given order, every fourth with a reasonCode, built as DER
// directly: OpenSSL's X509_CRL_add0_revoked + i2d would take minutes.
std::string BuildCrl(const TestCert& ca, const std::vector<std::string>& serials) {
  const std::string alg = DerTlv(0x30, DerTlv(0x06, "\x2a\x86\x48\xce\x3d\x04\x03\x02"));
  const std::string this_update = DerTlv(0x17, "250601000000Z");
  const std::string next_update = DerTlv(0x17, "350601000000Z");
  const std::string reason =
      DerTlv(0x30, DerTlv(0x30, DerTlv(0x06, "\x55\x1d\x15") + DerTlv(0x04, DerTlv(0x0a, "\x01"))));
  std::string entries;
  entries.reserve(serials.size() * 52);
  for (size_t i = 0; i < serials.size(); ++i) {
    std::string entry = DerTlv(0x02, serials[i]) + this_update;
    if (i % 4 == 0) entry += reason;
    entries += DerTlv(0x30, entry);
  }
  const std::string extensions =
      DerTlv(0xa0, DerTlv(0x30, DerTlv(0x30, DerTlv(0x06, "\x55\x1d\x14") +
                                                 DerTlv(0x04, DerTlv(0x02, "\x07")))));
  const std::string tbs = DerTlv(0x30, DerTlv(0x02, std::string(1, '\x01')) + alg +
                                           NameDer(X509_get_subject_name(ca.x509())) + this_update +
                                           next_update + DerTlv(0x30, entries) + extensions);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  size_t sig_len = 0;
  std::string sig;
  if (EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, ca.key.get()) != 1 ||
      EVP_DigestSign(ctx, nullptr, &sig_len, reinterpret_cast<const unsigned char*>(tbs.data()),
                     tbs.size()) != 1) {
    std::fprintf(stderr, "signing failed\n");
    std::exit(1);
  }
  sig.resize(sig_len);
  EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &sig_len,
                 reinterpret_cast<const unsigned char*>(tbs.data()), tbs.size());
  sig.resize(sig_len);
  EVP_MD_CTX_free(ctx);
  return DerTlv(0x30, tbs + alg + DerTlv(0x03, std::string(1, '\0') + sig));
}

std::string Hex(absl::string_view bytes) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

CertificatePtr Parse(const TestCert& cert) {
  pki::ParseError error;
  CertificatePtr parsed = Certificate::Parse(cert.der, &error);
  if (parsed == nullptr) {
    std::fprintf(stderr, "certificate: %s\n", error.diagnostic.c_str());
    std::exit(1);
  }
  return parsed;
}

int Main(int argc, char** argv) {
  size_t n = 1'000'000;
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (absl::ConsumePrefix(&arg, "--entries=") && absl::SimpleAtoi(arg, &n) && n > 0) continue;
    std::fprintf(stderr, "usage: crl_bench [--entries=N]\n");
    return 2;
  }
  const TestCert root = MustIssue(testing::RootSpec("Bench Root"), nullptr);
  const TestCert ca = MustIssue(testing::IntermediateSpec("Bench CA"), &root);

  // Random 16-byte positive serials in random order (the index sorts them).
  const double gen_start = NowMs();
  std::mt19937_64 rng(42);
  std::vector<std::string> serials(n);
  for (std::string& s : serials) {
    s.resize(16);
    for (char& c : s) c = static_cast<char>(rng());
    s[0] = static_cast<char>((s[0] & 0x7f) | 0x01);
  }
  const std::string der = BuildCrl(ca, serials);
  std::printf("generated a CRL of %zu entries, %zu bytes, in %.0f ms\n", n, der.size(),
              NowMs() - gen_start);

  // Memory first, while the heap has not yet held and freed large blocks.
  const size_t rss_before = ResidentBytes();
  double parse_ms = NowMs();
  std::vector<std::string> load_errors;
  std::shared_ptr<const CrlSet> set = CrlSet::Parse({der}, &load_errors);
  parse_ms = NowMs() - parse_ms;
  const size_t rss_after = ResidentBytes();
  if (!load_errors.empty() || set->entry_count() != n) {
    std::fprintf(stderr, "parse failed: %s\n",
                 load_errors.empty() ? "entries missing" : load_errors[0].c_str());
    return 1;
  }
  const double memory_ratio =
      static_cast<double>(rss_after - rss_before) / static_cast<double>(der.size());

  // d2i_X509_CRL alone, twice; then our parse twice more. The best d2i time
  // sets the target, the worst of ours is reported.
  double d2i_ms = 1e18;
  for (int round = 0; round < 2; ++round) {
    const double start = NowMs();
    const auto* p = reinterpret_cast<const unsigned char*>(der.data());
    X509_CRL* crl = d2i_X509_CRL(nullptr, &p, static_cast<long>(der.size()));
    d2i_ms = std::min(d2i_ms, NowMs() - start);
    if (crl == nullptr) {
      std::fprintf(stderr, "d2i_X509_CRL failed\n");
      return 1;
    }
    X509_CRL_free(crl);
  }
  for (int round = 0; round < 2; ++round) {
    const double start = NowMs();
    std::shared_ptr<const CrlSet> again = CrlSet::Parse({der}, nullptr);
    parse_ms = std::max(parse_ms, NowMs() - start);
  }

  // Lookups: a listed and an unlisted certificate of the CA. The first check
  // verifies the CRL's signature (remembered per CRL and key) and is left out.
  testing::CertSpec listed_spec = testing::LeafSpec("listed", {"listed.example"});
  listed_spec.serial_hex = Hex(serials[n / 3]);
  testing::CertSpec unlisted_spec = testing::LeafSpec("unlisted", {"unlisted.example"});
  unlisted_spec.serial_hex = "7F0102030405060708090A0B0C0D0E0F";
  const CertificatePtr listed = Parse(MustIssue(listed_spec, &ca));
  const CertificatePtr unlisted = Parse(MustIssue(unlisted_spec, &ca));
  const CertificatePtr issuer = Parse(ca);
  const absl::Time at = absl::FromUnixSeconds(1750000000);
  const double verify_start = NowMs();
  if (set->Check(*listed, *issuer, at).state != pki::RevocationState::kRevoked ||
      set->Check(*unlisted, *issuer, at).state != pki::RevocationState::kGood) {
    std::fprintf(stderr, "lookup gave the wrong answer\n");
    return 1;
  }
  const double first_check_ms = NowMs() - verify_start;
  double lookup_us = 0;
  constexpr int kLookups = 20000;
  for (const CertificatePtr* cert : {&listed, &unlisted}) {
    const double start = NowMs();
    for (int i = 0; i < kLookups; ++i) set->Check(**cert, *issuer, at);
    lookup_us = std::max(lookup_us, (NowMs() - start) * 1000.0 / kLookups);
  }

  std::printf("d2i_X509_CRL alone: %.0f ms; CrlSet::Parse: %.0f ms; first check (signature "
              "over %zu bytes): %.0f ms\n",
              d2i_ms, parse_ms, der.size(), first_check_ms);
  std::printf("resident bytes added by the parsed set: %zu (DER %zu)\n", rss_after - rss_before,
              der.size());
  std::printf("\nmax_ms crl_parse_1m_entries = %.0f (target <= %.0f)\n", parse_ms, 3 * d2i_ms);
  std::printf("max_us crl_lookup_1m_entries = %.2f (target <= 5)\n", lookup_us);
  std::printf("ratio crl_memory_vs_der_1m_entries = %.2f (target <= 3)\n", memory_ratio);
  return 0;
}

}  // namespace
}  // namespace chainverify

int main(int argc, char** argv) { return chainverify::Main(argc, argv); }
