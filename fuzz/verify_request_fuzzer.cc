// Fuzz target: a whole VerifyRequest through the service's Decider
// (server/service/decider.h) in process: request limits, policy lookup, peer
// name and time handling, the core, rendering. No network, no audit log.
//
// Input: fuzz_input.h parts. The first is a serialized VerifyRequest. When
// more parts follow, they are DER trust anchors of a policy set built for this
// input (policies "default" under RFC 5280 and "web" under the Web PKI
// profile, both allowing the request's verification time, soft-fail
// revocation with stapled OCSP); otherwise the embedded default policy
// (deploy/policy/default.textproto, the OS trust store) decides.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "chainverify/v1/verifier.pb.h"
#include "fuzz/fuzz_input.h"
#include "fuzz/proto_check.h"
#include "server/pki/certificate.h"
#include "server/pki/path_builder.h"
#include "server/policy/policy_holder.h"
#include "server/policy/policy_store.h"
#include "server/service/decider.h"

namespace chainverify::fuzz {
namespace {

std::string Pem(absl::string_view der) {
  // PEM armour (RFC 7468): base64 in 64-character lines.
  std::string b64;
  static const char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t i = 0;
  for (; i + 2 < der.size(); i += 3) {
    const uint32_t v = (static_cast<uint8_t>(der[i]) << 16) |
                       (static_cast<uint8_t>(der[i + 1]) << 8) |
                       static_cast<uint8_t>(der[i + 2]);
    for (int s = 18; s >= 0; s -= 6) b64.push_back(kAlphabet[(v >> s) & 63]);
  }
  if (i < der.size()) {
    uint32_t v = static_cast<uint8_t>(der[i]) << 16;
    if (i + 1 < der.size()) v |= static_cast<uint8_t>(der[i + 1]) << 8;
    b64.push_back(kAlphabet[(v >> 18) & 63]);
    b64.push_back(kAlphabet[(v >> 12) & 63]);
    b64.push_back(i + 1 < der.size() ? kAlphabet[(v >> 6) & 63] : '=');
    b64.push_back('=');
  }
  std::string out = "-----BEGIN CERTIFICATE-----\n";
  for (size_t p = 0; p < b64.size(); p += 64) absl::StrAppend(&out, b64.substr(p, 64), "\n");
  return out + "-----END CERTIFICATE-----\n";
}

struct Fixture {
  std::unique_ptr<policy::PolicyHolder> holder;
  std::unique_ptr<service::Decider> decider;
};

Fixture& GetFixture() {
  static Fixture* fixture = [] {
    auto* f = new Fixture;
    auto holder = policy::PolicyHolder::Create("", pki::SearchLimits());
    if (!holder.ok()) {
      std::fprintf(stderr, "embedded policy: %s\n", holder.status().ToString().c_str());
      std::abort();
    }
    f->holder = *std::move(holder);
    f->decider = std::make_unique<service::Decider>(f->holder.get(), nullptr,
                                                    service::RequestLimits());
    return f;
  }();
  return *fixture;
}

std::shared_ptr<const policy::PolicySet> PolicyFor(const std::vector<std::string>& anchors) {
  std::string text;
  for (const std::string& der : anchors) {
    // Anchors that do not parse would fail the whole policy; leave them out.
    pki::ParseError error;
    if (pki::Certificate::Parse(der, &error) == nullptr) continue;
    absl::StrAppend(&text, Pem(der));
  }
  if (text.empty()) return nullptr;
  std::string escaped;
  for (char c : text) {
    if (c == '\n') escaped += "\\n"; else escaped.push_back(c);
  }
  const std::string bundle = absl::StrCat(
      "version: \"fuzz\"\ndefault_policy: \"default\"\n",
      "policies { name: \"default\" trust_stores { inline_pem: \"", escaped,
      "\" } profile: RFC5280 allow_request_verification_time: true "
      "revocation { mode: SOFT_FAIL } }\n",
      "policies { name: \"web\" trust_stores { inline_pem: \"", escaped,
      "\" } profile: WEB_PKI allow_request_verification_time: true "
      "revocation { mode: SOFT_FAIL } }\n");
  auto set = policy::PolicySet::FromText(bundle, "fuzz.textproto", "/nonexistent",
                                         pki::SearchLimits());
  if (!set.ok()) {
    std::fprintf(stderr, "fuzz policy: %s\n", set.status().ToString().c_str());
    std::abort();  // Parsable anchors must make a loadable policy.
  }
  return *set;
}

void Run(absl::string_view data) {
  std::vector<std::string> parts = SplitParts(data, 9);
  if (parts.empty()) return;
  v1::VerifyRequest request;
  if (!request.ParseFromString(parts[0])) return;
  Fixture& fixture = GetFixture();
  std::shared_ptr<const policy::PolicySet> policies;
  if (parts.size() > 1) {
    policies = PolicyFor(std::vector<std::string>(parts.begin() + 1, parts.end()));
  }
  if (policies == nullptr) policies = fixture.holder->Current();
  absl::StatusOr<v1::VerifyResponse> response =
      fixture.decider->Decide(request, "fuzz", policies);
  if (!response.ok()) return;
  if (response->request_id() != request.request_id()) std::abort();
  if (response->verdict() != v1::TRUSTED && response->verdict() != v1::REJECTED) {
    std::abort();
  }
  CheckRoundTrip(*response);
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
