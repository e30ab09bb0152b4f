#include "bench/naive_baseline.h"

#include <utility>

#include <openssl/err.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

namespace chainverify::bench {

NaiveBaseline::NaiveBaseline(X509* root, std::string host, absl::Time time)
    : store_(X509_STORE_new()), host_(std::move(host)), time_(time) {
  X509_STORE_add_cert(store_, root);
}

NaiveBaseline::~NaiveBaseline() { X509_STORE_free(store_); }

bool NaiveBaseline::Verify(const std::vector<std::string>& ders) {
  std::vector<X509*> parsed;
  bool ok = true;
  for (const std::string& der : ders) {
    const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
    X509* x = d2i_X509(nullptr, &p, static_cast<long>(der.size()));
    if (x == nullptr) ok = false;
    parsed.push_back(x);
  }
  if (ok) {
    STACK_OF(X509)* untrusted = sk_X509_new_null();
    for (size_t i = 1; i < parsed.size(); ++i) sk_X509_push(untrusted, parsed[i]);
    X509_STORE_CTX* ctx = X509_STORE_CTX_new();
    X509_STORE_CTX_init(ctx, store_, parsed[0], untrusted);
    X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx);
    X509_VERIFY_PARAM_set_time(param, absl::ToTimeT(time_));
    X509_VERIFY_PARAM_set1_host(param, host_.c_str(), 0);
    X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER);
    ok = X509_verify_cert(ctx) == 1;
    X509_STORE_CTX_free(ctx);
    sk_X509_free(untrusted);
  }
  for (X509* x : parsed) X509_free(x);
  ERR_clear_error();
  return ok;
}

}  // namespace chainverify::bench
