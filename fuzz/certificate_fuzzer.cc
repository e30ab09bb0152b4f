// Fuzz target: one DER certificate through Certificate::Parse and everything a
// verdict reports about it (certificate_details.cc), both as the leaf of a
// rejected verdict and as a trust anchor of its own; the rendered response
// must be readable by a client (proto_check.h).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/time/time.h"
#include "chainverify/v1/verifier.pb.h"
#include "fuzz/proto_check.h"
#include "server/pki/certificate.h"
#include "server/pki/certificate_details.h"
#include "server/pki/crl.h"
#include "server/pki/ocsp.h"
#include "server/pki/trust_store.h"
#include "server/pki/verifier.h"

namespace chainverify::fuzz {
namespace {

// A fixed instant, so that a crash reproduces (2025-01-01T00:00:00Z).
const absl::Time kTime = absl::FromUnixSeconds(1735689600);

void Run(absl::string_view der) {
  pki::ParseError error;
  pki::CertificatePtr cert = pki::Certificate::Parse(der, &error);
  if (cert == nullptr) {
    if (error.id == nullptr) std::abort();  // Parse must say why.
    return;
  }
  pki::CrlDistributionPointUrls(*cert);
  pki::OcspResponderUrls(*cert);

  // The certificate alone: the verdict lists it as the best attempted chain.
  // Then trusted as its own anchor: the verified chain holds it as an anchor.
  for (bool anchor : {false, true}) {
    pki::VerifyInput input;
    input.certificates.emplace_back(der);
    input.time = kTime;
    if (cert->subject_alt_names().dns_names.empty()) {
      input.peer_name.kind = pki::PeerName::Kind::kNone;
    } else {
      input.peer_name.kind = pki::PeerName::Kind::kDns;
      input.peer_name.value = cert->subject_alt_names().dns_names.front();
    }
    auto store = std::make_shared<pki::TrustStore>();
    if (anchor) store->Add(cert, "fuzz");
    pki::VerifyPolicy policy;
    policy.trust_store = store;
    policy.validation.profile =
        anchor ? pki::Profile::kRfc5280 : pki::Profile::kWebPki;
    const pki::VerifyResult result = pki::VerifyChain(input, policy);
    v1::VerifyResponse response;
    pki::FillVerdict(result, &response);
    CheckRoundTrip(response);
  }
}

}  // namespace
}  // namespace chainverify::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  chainverify::fuzz::SilenceProtobufLogs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  chainverify::fuzz::Run(
      absl::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
