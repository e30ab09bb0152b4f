// The naive verifier the core benchmarks compare against: what a service
// without caches does per request. d2i_X509 every upload, a fresh
// X509_STORE_CTX over an X509_STORE holding the root (built once), and
// X509_verify_cert with the host name and verification time set.
#ifndef CHAINVERIFY_BENCH_NAIVE_BASELINE_H_
#define CHAINVERIFY_BENCH_NAIVE_BASELINE_H_

#include <string>
#include <vector>

#include <openssl/x509.h>

#include "absl/time/time.h"

namespace chainverify::bench {

class NaiveBaseline {
 public:
  NaiveBaseline(X509* root, std::string host, absl::Time time);
  ~NaiveBaseline();
  NaiveBaseline(const NaiveBaseline&) = delete;
  NaiveBaseline& operator=(const NaiveBaseline&) = delete;

  // `ders`: leaf first, then the rest of the upload. True when OpenSSL
  // verifies it for TLS server use.
  bool Verify(const std::vector<std::string>& ders);

 private:
  X509_STORE* store_;
  const std::string host_;
  const absl::Time time_;
};

}  // namespace chainverify::bench

#endif  // CHAINVERIFY_BENCH_NAIVE_BASELINE_H_
