#include "server/policy/policy_store.h"

#include <regex>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/text_format.h"
#include "server/pki/file_util.h"
#include "server/pki/openssl_util.h"
#include "server/policy/trust_sources.h"
#include "server/revocation/aia_fetcher.h"
#include "server/revocation/revocation_fetcher.h"
#include "google/protobuf/util/json_util.h"

namespace chainverify::policy {
namespace {

constexpr int kDefaultMaxChainLength = 10;
constexpr int kMaxChainLengthLimit = 32;

absl::Time ToTime(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

absl::StatusOr<pki::AnchorConstraints> CompileAnchorConstraint(const v1::AnchorConstraint& c) {
  if (c.certificate_sha256().empty() == c.spki_sha256().empty()) {
    return absl::InvalidArgumentError(
        "anchor_constraints: set exactly one of certificate_sha256 and spki_sha256");
  }
  pki::AnchorConstraints out;
  if (c.has_distrust_issued_after()) out.distrust_issued_after = ToTime(c.distrust_issued_after());
  for (const std::string& n : c.permitted_dns_names()) {
    out.permitted_dns_names.push_back(absl::AsciiStrToLower(n));
  }
  for (const std::string& n : c.excluded_dns_names()) {
    out.excluded_dns_names.push_back(absl::AsciiStrToLower(n));
  }
  if (!c.allowed_usages().empty()) {
    out.allow_server_auth = out.allow_client_auth = false;
    for (int usage : c.allowed_usages()) {
      if (usage == v1::CLIENT_AUTH) out.allow_client_auth = true;
      if (usage == v1::SERVER_AUTH || usage == v1::USAGE_UNSPECIFIED) out.allow_server_auth = true;
    }
  }
  return out;
}

absl::StatusOr<pki::PinSet> CompilePinSet(const v1::PinSet& p) {
  pki::PinSet out;
  out.name = p.name();
  out.peer_name_patterns.assign(p.peer_name_patterns().begin(), p.peer_name_patterns().end());
  if (!p.usages().empty()) {
    out.applies_to_server_auth = out.applies_to_client_auth = false;
    for (int usage : p.usages()) {
      if (usage == v1::CLIENT_AUTH) out.applies_to_client_auth = true;
      if (usage == v1::SERVER_AUTH || usage == v1::USAGE_UNSPECIFIED) out.applies_to_server_auth = true;
    }
  }
  for (const std::string& pin : p.pin_sha256()) {
    std::string raw;
    if (!absl::Base64Unescape(pin, &raw) || raw.size() != 32) {
      return absl::InvalidArgumentError(
          absl::StrCat("pin set \"", p.name(), "\": \"", pin, "\" is not a base64 SHA-256"));
    }
    out.spki_sha256.insert(raw);
  }
  if (out.spki_sha256.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("pin set \"", p.name(), "\" has no pins"));
  }
  switch (p.scope()) {
    case v1::PinSet::ANCHOR: out.scope = pki::PinSet::Scope::kAnchor; break;
    case v1::PinSet::LEAF: out.scope = pki::PinSet::Scope::kLeaf; break;
    default: out.scope = pki::PinSet::Scope::kAnyCertificate;
  }
  if (p.has_expires()) out.expires = ToTime(p.expires());
  out.report_only = p.report_only();
  return out;
}

// CRL files may be DER or PEM (X509 CRL blocks, and CERTIFICATE blocks for
// CRL signers' paths, which go to `certificates`).
absl::Status AppendCrls(const std::string& path, std::vector<std::string>* ders,
                        std::vector<pki::CertificatePtr>* certificates) {
  absl::StatusOr<std::string> contents = pki::ReadFileToString(path);
  if (!contents.ok()) return contents.status();
  if (!absl::StrContains(*contents, "-----BEGIN")) {
    ders->push_back(*std::move(contents));
    return absl::OkStatus();
  }
  if (absl::StrContains(*contents, "-----BEGIN CERTIFICATE-----")) {
    std::unique_ptr<BIO, pki::OpenSslDeleter<BIO, BIO_free_all>> certs(
        BIO_new_mem_buf(contents->data(), static_cast<int>(contents->size())));
    while (X509* x509 = PEM_read_bio_X509(certs.get(), nullptr, nullptr, nullptr)) {
      unsigned char* der = nullptr;
      const int len = i2d_X509(x509, &der);
      X509_free(x509);
      if (len <= 0) return absl::InvalidArgumentError(absl::StrCat(path, ": bad certificate"));
      pki::ParseError error;
      pki::CertificatePtr cert =
          pki::Certificate::Parse(std::string(reinterpret_cast<char*>(der), len), &error);
      OPENSSL_free(der);
      if (cert == nullptr) {
        return absl::InvalidArgumentError(
            absl::StrCat(path, ": certificate: ", error.diagnostic));
      }
      certificates->push_back(std::move(cert));
    }
    ERR_clear_error();
  }
  std::unique_ptr<BIO, pki::OpenSslDeleter<BIO, BIO_free_all>> bio(
      BIO_new_mem_buf(contents->data(), static_cast<int>(contents->size())));
  while (X509_CRL* crl = PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr)) {
    unsigned char* der = nullptr;
    const int len = i2d_X509_CRL(crl, &der);
    X509_CRL_free(crl);
    if (len <= 0) return absl::InvalidArgumentError(absl::StrCat(path, ": bad CRL"));
    ders->emplace_back(reinterpret_cast<char*>(der), len);
    OPENSSL_free(der);
  }
  ERR_clear_error();
  return absl::OkStatus();
}

// `fetch` over `defaults` (a zero field keeps the default).
revocation::FetchPolicy CompileFetchSettings(const v1::FetchSettings& fetch,
                                             revocation::FetchPolicy defaults) {
  revocation::FetchPolicy policy = std::move(defaults);
  policy.allowed_hosts.assign(fetch.allowed_hosts().begin(), fetch.allowed_hosts().end());
  policy.allow_private_addresses = fetch.allow_private_addresses();
  if (fetch.connect_timeout_ms()) {
    policy.connect_timeout = absl::Milliseconds(fetch.connect_timeout_ms());
  }
  if (fetch.total_timeout_ms()) policy.total_timeout = absl::Milliseconds(fetch.total_timeout_ms());
  if (fetch.max_response_bytes()) policy.max_response_bytes = fetch.max_response_bytes();
  return policy;
}

absl::StatusOr<pki::PolicyRules> CompileRules(const v1::TrustPolicy& p,
                                              const std::string& base_dir) {
  pki::PolicyRules rules;
  const v1::RevocationPolicy& revocation = p.revocation();
  rules.revocation_hard_fail = revocation.mode() == v1::RevocationPolicy::HARD_FAIL;
  rules.use_stapled_ocsp = !revocation.ignore_stapled_ocsp();
  rules.fetch_ocsp = revocation.fetch_ocsp();
  rules.fetch_crls = revocation.fetch_crls();
  rules.revocation_leaf_only = revocation.leaf_only();
  if (rules.fetch_ocsp || rules.fetch_crls) {
    revocation::CrlCacheOptions crl_options;
    if (revocation.fetch().max_crl_bytes()) {
      crl_options.max_crl_bytes = revocation.fetch().max_crl_bytes();
    }
    rules.fetcher = std::make_shared<revocation::HttpRevocationFetcher>(
        CompileFetchSettings(revocation.fetch(), revocation::FetchPolicy()), crl_options);
  }
  std::vector<std::string> crls;
  auto crl_certificates = std::make_shared<std::vector<pki::CertificatePtr>>();
  for (const std::string& file : revocation.crl_files()) {
    absl::Status status =
        AppendCrls(ResolvePolicyPath(base_dir, file), &crls, crl_certificates.get());
    if (!status.ok()) return status;
  }
  if (!crl_certificates->empty()) rules.crl_certificates = std::move(crl_certificates);
  if (!crls.empty()) {
    std::vector<std::string> errors;
    rules.crls = pki::CrlSet::Parse(std::move(crls), &errors);
    if (!errors.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("policy \"", p.name(), "\": ", errors[0]));
    }
  }
  auto denylist = std::make_shared<pki::Denylist>();
  for (const v1::Denylist::Entry& e : revocation.denylist().serials()) {
    absl::Status status = denylist->AddSerial(e.issuer_spki_sha256(), e.serial_hex());
    if (!status.ok()) return status;
  }
  for (const std::string& spki : revocation.denylist().blocked_spki_sha256()) {
    absl::Status status = denylist->BlockSpki(spki);
    if (!status.ok()) return status;
  }
  if (!denylist->empty()) rules.denylist = std::move(denylist);
  for (const v1::PinSet& pins : p.pin_sets()) {
    absl::StatusOr<pki::PinSet> compiled = CompilePinSet(pins);
    if (!compiled.ok()) return compiled.status();
    rules.pins.push_back(*std::move(compiled));
  }
  return rules;
}

absl::StatusOr<pki::AlgorithmPolicy> CompileAlgorithms(const v1::AlgorithmRules& a) {
  pki::AlgorithmPolicy out;
  if (a.min_rsa_bits() != 0) out.min_rsa_bits = static_cast<int>(a.min_rsa_bits());
  for (const std::string& curve : a.allowed_curves()) {
    const int nid = OBJ_sn2nid(curve.c_str());
    if (nid == NID_undef) {
      return absl::InvalidArgumentError(absl::StrCat("unknown curve \"", curve, "\""));
    }
    out.allowed_curves.insert(nid);
  }
  out.allow_sha1 = a.allow_sha1();
  out.allow_ed25519 = !a.disallow_ed25519();
  return out;
}

// A policy that mixes a root program's file with other sources trusts the
// union (trust_store.h): say where the other sources trust more than the root
// program does, for SERVER_AUTH, the usage root programs decide. One warning
// per kind, naming a few certificates; `chainverify trust diff` lists all.
void WarnAboutRootProgramOverrides(const std::string& policy, const pki::TrustStore& store,
                                   std::vector<std::string>* warnings) {
  using Kind = pki::TrustSource::Kind;
  using Level = pki::PurposeTrust::Level;
  std::vector<std::string> root_programs;
  for (const auto& source : store.sources()) {
    if (source->source.kind == Kind::kMozillaCertdata) {
      root_programs.push_back(source->source.Describe());
    }
  }
  if (root_programs.empty() || root_programs.size() == store.sources().size()) return;
  // Kinds: absent from the root program, not trusted by it, its distrust-after
  // date overridden.
  std::vector<std::string> names[3];
  for (const auto& anchor : store.anchors()) {
    if (anchor->server_auth.level != Level::kTrusted) continue;
    bool in_root_program = false, root_program_trusts = false, unconstrained_elsewhere = false;
    std::optional<absl::Time> root_program_after;
    std::string label;
    for (const pki::AnchorOrigin& origin : anchor->origins) {
      const bool rp = origin.source->kind == Kind::kMozillaCertdata;
      const bool trusts = origin.server_auth.level == Level::kTrusted;
      if (rp) {
        in_root_program = true;
        label = origin.label;
        if (trusts) {
          root_program_trusts = true;
          root_program_after = origin.server_auth.distrust_after;
        }
      } else if (trusts && !origin.server_auth.distrust_after) {
        unconstrained_elsewhere = true;
      }
    }
    if (label.empty()) label = pki::NameToString(anchor->certificate->subject());
    if (!in_root_program) {
      names[0].push_back(label);
    } else if (!root_program_trusts) {
      names[1].push_back(label);
    } else if (root_program_after && unconstrained_elsewhere) {
      names[2].push_back(label);
    }
  }
  static constexpr const char* kWhat[3] = {
      "are not in the root program's file",
      "are not trusted for server authentication by the root program",
      "have a root-program distrust-after date that another source overrides"};
  for (int kind = 0; kind < 3; ++kind) {
    if (names[kind].empty()) continue;
    const size_t shown = std::min<size_t>(names[kind].size(), 5);
    std::string list = absl::StrCat("\"", absl::StrJoin(names[kind].begin(),
                                                        names[kind].begin() + shown, "\", \""),
                                    "\"", names[kind].size() > shown ? ", ..." : "");
    warnings->push_back(absl::StrCat(
        "policy \"", policy, "\": ", names[kind].size(), " server-auth anchors from its other "
        "trust sources ", kWhat[kind], " (", absl::StrJoin(root_programs, ", "),
        ") and are trusted anyway, since sources add up: ", list,
        "; `chainverify trust diff` lists them"));
  }
}

// Adds the certificates of every source to `store`. `field` names the list in
// errors ("trust_stores", "intermediate_stores").
absl::Status AddSources(const v1::TrustPolicy& policy,
                        const google::protobuf::RepeatedPtrField<v1::TrustStore>& sources,
                        const char* field, const std::string& base_dir,
                        pki::TrustStore* store) {
  for (const v1::TrustStore& source : sources) {
    absl::StatusOr<pki::LoadedTrustSource> loaded = LoadTrustSource(source, base_dir);
    if (!loaded.ok()) {
      return absl::Status(loaded.status().code(),
                          absl::StrCat("policy \"", policy.name(), "\": ", field, ": ",
                                       loaded.status().message()));
    }
    store->AddSource(*loaded);
  }
  return absl::OkStatus();
}

// Removals and constraints for anchors the store does not hold are warnings,
// not errors: a ca-certificates update that drops a root must not stop the
// fleet's policy from loading.
absl::StatusOr<std::shared_ptr<const pki::TrustStore>> BuildTrustStore(
    const v1::TrustPolicy& policy, const std::string& base_dir,
    std::vector<std::string>* warnings) {
  auto store = std::make_shared<pki::TrustStore>();
  absl::Status loaded =
      AddSources(policy, policy.trust_stores(), "trust_stores", base_dir, store.get());
  if (!loaded.ok()) return loaded;
  for (const std::string& id : policy.removed_anchors()) {
    if (store->Remove(id) == 0) {
      warnings->push_back(absl::StrCat("policy \"", policy.name(), "\": removed_anchors entry ",
                                       id, " matches no anchor"));
    }
  }
  for (const v1::AnchorConstraint& c : policy.anchor_constraints()) {
    absl::StatusOr<pki::AnchorConstraints> constraints = CompileAnchorConstraint(c);
    if (!constraints.ok()) return constraints.status();
    const std::string& id =
        c.certificate_sha256().empty() ? c.spki_sha256() : c.certificate_sha256();
    if (store->Constrain(id, *constraints) == 0) {
      warnings->push_back(absl::StrCat("policy \"", policy.name(),
                                       "\": anchor_constraints entry ", id, " matches no anchor"));
    }
  }
  if (store->anchor_count() == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("policy \"", policy.name(), "\" has no trust anchors"));
  }
  WarnAboutRootProgramOverrides(policy.name(), *store, warnings);
  return store;
}

// Intermediate stores and AIA chasing (policy.proto TrustPolicy fields 12-13).
absl::StatusOr<pki::IssuerSources> CompileIssuerSources(const v1::TrustPolicy& policy,
                                                        const std::string& base_dir) {
  pki::IssuerSources sources;
  if (!policy.intermediate_stores().empty()) {
    auto intermediates = std::make_shared<pki::TrustStore>();
    absl::Status loaded = AddSources(policy, policy.intermediate_stores(), "intermediate_stores",
                                     base_dir, intermediates.get());
    if (!loaded.ok()) return loaded;
    sources.intermediates = std::move(intermediates);
  }
  const v1::AiaFetching& aia = policy.aia_fetching();
  if (aia.enabled()) {
    sources.fetcher = std::make_shared<revocation::HttpIssuerFetcher>(
        CompileFetchSettings(aia.fetch(), revocation::DefaultIssuerFetchPolicy()));
  }
  if (aia.max_fetches_per_request()) sources.max_fetches = aia.max_fetches_per_request();
  if (aia.max_fetched_per_path()) sources.max_fetched_per_path = aia.max_fetched_per_path();
  if (aia.max_certificates_per_response()) {
    sources.max_certificates_per_response = aia.max_certificates_per_response();
  }
  return sources;
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
        BuildTrustStore(p, base_dir, &set->warnings_);
    if (!store.ok()) return store.status();
    compiled.verify.trust_store = *std::move(store);
    compiled.verify.limits = limits;
    compiled.verify.validation.max_chain_length =
        p.max_chain_length() == 0 ? kDefaultMaxChainLength : p.max_chain_length();
    absl::StatusOr<pki::PolicyRules> rules = CompileRules(p, base_dir);
    if (!rules.ok()) {
      return absl::Status(rules.status().code(), absl::StrCat("policy \"", p.name(), "\": ",
                                                              rules.status().message()));
    }
    compiled.verify.rules = *std::move(rules);
    absl::StatusOr<pki::AlgorithmPolicy> algorithms = CompileAlgorithms(p.algorithms());
    if (!algorithms.ok()) return algorithms.status();
    compiled.verify.validation.algorithms = *algorithms;
    compiled.verify.validation.strict_anchor_checks = p.strict_anchor_checks();
    absl::StatusOr<pki::IssuerSources> issuers = CompileIssuerSources(p, base_dir);
    if (!issuers.ok()) return issuers.status();
    compiled.verify.issuers = *std::move(issuers);
    compiled.profile = p.profile();
    for (const v1::TrustStore& store : p.trust_stores()) {
      if (store.source_case() == v1::TrustStore::kSystem ||
          store.source_case() == v1::TrustStore::kMozillaCertdata) {
        compiled.trusts_system_store = true;
      }
    }
    set->policies_.emplace(p.name(), std::move(compiled));
  }
  if (!set->policies_.count(set->default_policy_)) {
    return absl::InvalidArgumentError(absl::StrCat(
        format_hint, ": default_policy \"", set->default_policy_, "\" is not defined"));
  }
  if (bundle.has_authorization()) {
    std::vector<std::string> names;
    for (const auto& [name, policy] : set->policies_) names.push_back(name);
    absl::StatusOr<service::Authorization> authorization =
        service::Authorization::Compile(bundle.authorization(), names);
    if (!authorization.ok()) {
      return absl::Status(authorization.status().code(),
                          absl::StrCat(format_hint, ": ", authorization.status().message()));
    }
    set->authorization_ = *std::move(authorization);
  }
  // The version names the config and the trust material: the operator's label
  // plus a hash of the canonical bundle, of every anchor and of every
  // intermediate-store certificate, so a changed OS store or PEM file is a new
  // version even under the same label.
  std::string canonical;
  {
    google::protobuf::io::StringOutputStream stream(&canonical);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    bundle.SerializeToCodedStream(&coded);
  }
  for (const auto& [name, policy] : set->policies_) {
    for (const auto& anchor : policy.verify.trust_store->anchors()) {
      canonical += anchor->certificate->sha256();
      // What a root program says changes without the certificate changing.
      for (const pki::AnchorOrigin& origin : anchor->origins) {
        if (origin.source->kind != pki::TrustSource::Kind::kMozillaCertdata) continue;
        absl::StrAppend(&canonical, origin.server_auth.Describe(), origin.client_auth.Describe());
      }
    }
    for (const auto& [key, record] : policy.verify.trust_store->distrust_records()) {
      absl::StrAppend(&canonical, key, record.server_auth, record.client_auth);
    }
    if (const auto& intermediates = policy.verify.issuers.intermediates) {
      canonical += "intermediates";
      for (const auto& entry : intermediates->anchors()) canonical += entry->certificate->sha256();
    }
  }
  set->version_ = absl::StrCat(bundle.version(), "+",
                               pki::HexEncode(pki::Sha256(canonical)).substr(0, 12));
  for (auto& [name, policy] : set->policies_) policy.version = set->version_;
  return std::shared_ptr<const PolicySet>(std::move(set));
}

absl::StatusOr<std::shared_ptr<const PolicySet>> PolicySet::FromFile(
    const std::string& path, const pki::SearchLimits& limits) {
  absl::StatusOr<std::string> text = pki::ReadFileToString(path);
  if (!text.ok()) return absl::NotFoundError(absl::StrCat("cannot open policy file ", path));
  const size_t slash = path.rfind('/');
  const std::string base_dir = slash == std::string::npos ? "." : path.substr(0, slash);
  return FromText(*text, path, base_dir, limits);
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
