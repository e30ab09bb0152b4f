// Fuzz target: the policy file parser and compiler (PolicySet::FromText in
// server/policy/policy_store.h), text format, or JSON when the input starts
// with '{'. Relative paths resolve against an empty directory; absolute paths
// in a policy (pem_file, pem_directory, crl_files) are read like the server
// would read them.
#include <stdlib.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz/proto_check.h"
#include "server/pki/path_builder.h"
#include "server/policy/policy_store.h"

namespace chainverify::fuzz {
namespace {

const std::string& BaseDir() {
  static const std::string* dir = [] {
    char tmpl[] = "/tmp/chainverify_policy_fuzzer.XXXXXX";
    const char* made = mkdtemp(tmpl);
    return new std::string(made != nullptr ? made : "/nonexistent");
  }();
  return *dir;
}

void Run(absl::string_view text) {
  const bool json = !text.empty() && text.front() == '{';
  auto set = policy::PolicySet::FromText(text, json ? "fuzz.json" : "fuzz.textproto",
                                         BaseDir(), pki::SearchLimits());
  if (!set.ok()) return;
  // A loaded set always has its default policy (policy_store.cc).
  if ((*set)->Find("") == nullptr) std::abort();
  for (const auto& [name, compiled] : (*set)->policies()) {
    if ((*set)->Find(name) != &compiled) std::abort();
    if (compiled.verify.trust_store == nullptr) std::abort();
    compiled.ProfileFor(pki::KeyPurpose::kServerAuth);
    compiled.ProfileFor(pki::KeyPurpose::kClientAuth);
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
