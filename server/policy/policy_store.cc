#include "server/policy/policy_store.h"

#include <fstream>
#include <regex>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/json_util.h"

namespace chainverify::policy {
namespace {

constexpr int kDefaultMaxChainLength = 10;
constexpr int kMaxChainLengthLimit = 32;

std::string Resolve(const std::string& base_dir, const std::string& path) {
  if (path.empty() || path[0] == '/' || base_dir.empty()) return path;
  return absl::StrCat(base_dir, "/", path);
}

absl::StatusOr<std::shared_ptr<const pki::TrustStore>> BuildTrustStore(
    const v1::TrustPolicy& policy, const std::string& base_dir) {
  auto store = std::make_shared<pki::TrustStore>();
  for (const v1::TrustStore& source : policy.trust_stores()) {
    absl::Status status;
    switch (source.source_case()) {
      case v1::TrustStore::kSystem:
        status = store->AddSystemStore();
        break;
      case v1::TrustStore::kPemFile:
        status = store->AddPemFile(Resolve(base_dir, source.pem_file()));
        break;
      case v1::TrustStore::kPemDirectory:
        status = store->AddPemDirectory(Resolve(base_dir, source.pem_directory()));
        break;
      case v1::TrustStore::kInlinePem:
        status = store->AddPem(source.inline_pem(), "inline");
        break;
      default:
        status = absl::InvalidArgumentError("trust_stores entry with no source");
    }
    if (!status.ok()) {
      return absl::Status(status.code(), absl::StrCat("policy \"", policy.name(),
                                                      "\": ", status.message()));
    }
  }
  if (store->size() == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("policy \"", policy.name(), "\" has no trust anchors"));
  }
  return store;
}

}  // namespace

absl::StatusOr<std::shared_ptr<const PolicySet>> PolicySet::FromText(
    absl::string_view text, absl::string_view format_hint, const std::string& base_dir,
    const pki::SearchLimits& limits) {
  v1::PolicyBundle bundle;
  if (absl::EndsWith(format_hint, ".json")) {
    auto status = google::protobuf::util::JsonStringToMessage(std::string(text), &bundle);
    if (!status.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(format_hint, ": ", status.message().as_string()));
    }
  } else if (!google::protobuf::TextFormat::ParseFromString(std::string(text), &bundle)) {
    return absl::InvalidArgumentError(
        absl::StrCat(format_hint, ": not a valid text-format PolicyBundle"));
  }
  if (bundle.version().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(format_hint, ": version is required"));
  }
  if (bundle.policies().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(format_hint, ": no policies"));
  }

  auto set = std::make_shared<PolicySet>();
  set->version_ = bundle.version();
  set->default_policy_ = bundle.default_policy();
  static const std::regex kName("[a-z0-9_.-]{1,64}");
  for (const v1::TrustPolicy& p : bundle.policies()) {
    if (!std::regex_match(p.name(), kName)) {
      return absl::InvalidArgumentError(
          absl::StrCat("policy name \"", p.name(), "\" must match [a-z0-9_.-]{1,64}"));
    }
    if (set->policies_.count(p.name())) {
      return absl::InvalidArgumentError(absl::StrCat("duplicate policy \"", p.name(), "\""));
    }
    if (p.max_chain_length() > kMaxChainLengthLimit) {
      return absl::InvalidArgumentError(absl::StrCat(
          "policy \"", p.name(), "\": max_chain_length above ", kMaxChainLengthLimit));
    }
    CompiledPolicy compiled;
    compiled.name = p.name();
    compiled.version = bundle.version();
    compiled.allow_request_verification_time = p.allow_request_verification_time();
    absl::StatusOr<std::shared_ptr<const pki::TrustStore>> store =
        BuildTrustStore(p, base_dir);
    if (!store.ok()) return store.status();
    compiled.verify.trust_store = *std::move(store);
    compiled.verify.limits = limits;
    compiled.verify.validation.max_chain_length =
        p.max_chain_length() == 0 ? kDefaultMaxChainLength : p.max_chain_length();
    compiled.profile = p.profile();
    for (const v1::TrustStore& store : p.trust_stores()) {
      if (store.source_case() == v1::TrustStore::kSystem) compiled.trusts_system_store = true;
    }
    set->policies_.emplace(p.name(), std::move(compiled));
  }
  if (!set->policies_.count(set->default_policy_)) {
    return absl::InvalidArgumentError(absl::StrCat(
        format_hint, ": default_policy \"", set->default_policy_, "\" is not defined"));
  }
  return std::shared_ptr<const PolicySet>(std::move(set));
}

absl::StatusOr<std::shared_ptr<const PolicySet>> PolicySet::FromFile(
    const std::string& path, const pki::SearchLimits& limits) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open policy file ", path));
  std::ostringstream text;
  text << in.rdbuf();
  const size_t slash = path.rfind('/');
  const std::string base_dir = slash == std::string::npos ? "." : path.substr(0, slash);
  return FromText(text.str(), path, base_dir, limits);
}

absl::StatusOr<std::shared_ptr<const PolicySet>> PolicySet::Embedded(
    const pki::SearchLimits& limits) {
  return FromText(kEmbeddedDefaultPolicy, "embedded default policy", "", limits);
}

pki::Profile CompiledPolicy::ProfileFor(pki::KeyPurpose purpose) const {
  switch (profile) {
    case v1::WEB_PKI:
      return pki::Profile::kWebPki;
    case v1::RFC5280:
      return pki::Profile::kRfc5280;
    default:
      return trusts_system_store && purpose == pki::KeyPurpose::kServerAuth
                 ? pki::Profile::kWebPki
                 : pki::Profile::kRfc5280;
  }
}

const CompiledPolicy* PolicySet::Find(absl::string_view name) const {
  auto it = policies_.find(std::string(name.empty() ? default_policy_ : name));
  return it == policies_.end() ? nullptr : &it->second;
}

}  // namespace chainverify::policy
