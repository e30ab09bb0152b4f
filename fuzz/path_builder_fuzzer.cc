// Fuzz target: the path builder and RFC 5280 validator (pki::VerifyChain) fed
// an arbitrary set of certificates, some trusted, the rest uploaded.
//
// Input: a 6-byte header, then fuzz_input.h parts (at most kMaxParts).
//   byte 0: bits 0-3 the number of trailing parts that are trust anchors;
//           bit 4 CLIENT_AUTH instead of SERVER_AUTH; bit 5 the Web PKI
//           profile instead of RFC 5280; bit 6 the first part is the peer DNS
//           name (else no name is checked); bit 7 the first upload's stapled
//           OCSP response is the part after the name.
//   byte 1: bits 0-6 max_chain_length (0: the default); bit 7 strict anchor
//           checks (anchors judged by how they were issued too).
//   bytes 2-5: the verification time, big-endian Unix seconds.
// The remaining parts are the uploads, leaf first, except those that parse
// as DER CRLs: those are the policy's pushed CRLs (PolicyRules::crls), with
// the parsable uploads as its pushed certificates (crl_certificates, the
// candidate CRL signers of crl_signer.h). With CRLs, bit 0 of the time asks
// for hard-fail revocation and bit 1 for the leaf only. libFuzzer's -max_len
// (run.sh) bounds the total size.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "chainverify/v1/verifier.pb.h"
#include "fuzz/fuzz_input.h"
#include "fuzz/proto_check.h"
#include "server/pki/certificate.h"
#include "server/pki/certificate_details.h"
#include "server/pki/crl.h"
#include "server/pki/trust_store.h"
#include "server/pki/verifier.h"

namespace chainverify::fuzz {
namespace {

constexpr size_t kMaxParts = 12;

void Run(absl::string_view data) {
  if (data.size() < 6) return;
  const uint8_t flags = static_cast<uint8_t>(data[0]);
  const int max_chain_length = static_cast<uint8_t>(data[1]) & 0x7f;
  const bool strict_anchor_checks = static_cast<uint8_t>(data[1]) & 0x80;
  uint32_t seconds = 0;
  for (int i = 2; i < 6; ++i) seconds = (seconds << 8) | static_cast<uint8_t>(data[i]);
  std::vector<std::string> parts = SplitParts(data.substr(6), kMaxParts);

  pki::VerifyInput input;
  input.time = absl::FromUnixSeconds(seconds);
  input.purpose = (flags & 0x10) ? pki::KeyPurpose::kClientAuth
                                 : pki::KeyPurpose::kServerAuth;
  size_t next = 0;
  if ((flags & 0x40) && next < parts.size()) {
    input.peer_name.kind = pki::PeerName::Kind::kDns;
    input.peer_name.value = parts[next++];
  }
  if ((flags & 0x80) && next < parts.size()) {
    input.stapled_ocsp_response = parts[next++];
  }
  const size_t anchors = std::min<size_t>(flags & 0x0f, parts.size() - next);
  auto store = std::make_shared<pki::TrustStore>();
  for (size_t i = parts.size() - anchors; i < parts.size(); ++i) {
    pki::ParseError error;
    if (pki::CertificatePtr cert = pki::Certificate::Parse(parts[i], &error)) {
      store->Add(std::move(cert), "fuzz");
    }
  }
  std::vector<std::string> crl_ders;
  auto crl_certificates = std::make_shared<std::vector<pki::CertificatePtr>>();
  for (size_t i = next; i < parts.size() - anchors; ++i) {
    if (pki::CrlSet::Parse({parts[i]}, nullptr)->size() == 1) {
      crl_ders.push_back(std::move(parts[i]));
      continue;
    }
    pki::ParseError error;
    if (pki::CertificatePtr cert = pki::Certificate::Parse(parts[i], &error)) {
      crl_certificates->push_back(std::move(cert));
    }
    input.certificates.push_back(std::move(parts[i]));
  }

  pki::VerifyPolicy policy;
  policy.trust_store = store;
  policy.validation.profile =
      (flags & 0x20) ? pki::Profile::kWebPki : pki::Profile::kRfc5280;
  if (max_chain_length > 0) policy.validation.max_chain_length = max_chain_length;
  policy.validation.strict_anchor_checks = strict_anchor_checks;
  if (!crl_ders.empty()) {
    policy.rules.crls = pki::CrlSet::Parse(std::move(crl_ders), nullptr);
    policy.rules.crl_certificates = std::move(crl_certificates);
    policy.rules.revocation_hard_fail = seconds & 1;
    policy.rules.revocation_leaf_only = seconds & 2;
  }
  // Bounded work per input: iterations and signatures, not wall-clock time,
  // so that a slow input is a libFuzzer timeout rather than a silent cut-off.
  policy.limits.deadline = absl::InfiniteDuration();
  const pki::VerifyResult result = pki::VerifyChain(input, policy);

  // The verdict's invariants (verifier.h).
  if (result.trusted != (result.status == v1::OK)) std::abort();
  if (result.trusted && result.chain.empty()) std::abort();
  if (result.trusted && result.chain.back().anchor == nullptr) std::abort();
  std::vector<bool> seen(input.certificates.size(), false);
  for (const pki::ChainEntry& entry : result.chain) {
    if (entry.request_index >= 0) {
      if (entry.request_index >= static_cast<int>(seen.size())) std::abort();
      seen[entry.request_index] = true;
    }
  }
  for (int i : result.unused_request_indices) {
    if (i < 0 || i >= static_cast<int>(seen.size())) std::abort();
  }
  v1::VerifyResponse response;
  pki::FillVerdict(result, &response);
  CheckRoundTrip(response);
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
