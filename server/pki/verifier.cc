#include "server/pki/verifier.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <memory>

#include "absl/strings/str_cat.h"
#include "server/pki/openssl_util.h"
#include "server/pki/verify_certificate_chain.h"

namespace chainverify::pki {
namespace {

// The validator's grain (verify_certificate_chain.cc): whole seconds.
int64_t Seconds(absl::Time t) { return absl::ToUnixSeconds(t); }

void AppendField(std::string* out, absl::string_view field) {
  const uint64_t n = field.size();
  out->append(reinterpret_cast<const char*>(&n), sizeof(n));  // Length-prefixed.
  out->append(field.data(), field.size());
}

// `upload_sha256[i]` is the raw SHA-256 of input.certificates[i]: the key
// covers every uploaded byte through them, in order.
std::string ResultKey(const VerifyInput& input, const VerifyPolicy& policy,
                      const std::vector<std::string>& upload_sha256) {
  std::string data;
  const SearchLimits& l = policy.limits;
  const uintptr_t scope = reinterpret_cast<uintptr_t>(policy.result_cache_scope.get());
  AppendField(&data, absl::StrCat(scope, "/", static_cast<int>(input.peer_name.kind), "/",
                                  static_cast<int>(input.purpose), "/",
                                  static_cast<int>(policy.validation.profile), "/",
                                  l.max_iterations, "/", l.max_signature_checks, "/",
                                  l.max_paths_validated, "/", l.max_valid_paths));
  AppendField(&data, input.peer_name.value);
  AppendField(&data, input.stapled_ocsp_response);
  for (const std::string& digest : upload_sha256) AppendField(&data, digest);
  return Sha256(data);
}

// The seconds [from, until) around `now` in which none of the boundaries
// added changes sides.
class Window {
 public:
  explicit Window(int64_t now) : now_(now) {}
  // A state that holds from `second` on (notBefore; notAfter + 1).
  void AddBoundary(int64_t second) {
    if (second <= now_) {
      from_ = std::max(from_, second);
    } else {
      until_ = std::min(until_, second);
    }
  }
  void AddValidity(const Certificate& cert) {
    AddBoundary(Seconds(cert.not_before()));
    AddBoundary(Seconds(cert.not_after()) + 1);
  }
  int64_t from() const { return from_; }
  int64_t until() const { return until_; }

 private:
  const int64_t now_;
  int64_t from_ = std::numeric_limits<int64_t>::min();
  int64_t until_ = std::numeric_limits<int64_t>::max();
};

bool HitSearchLimit(const VerifyResult& result) {
  if (result.stats.limit_hit) return true;
  for (const CertError& e : result.errors) {
    if (e.id == &kPathDeadlineExceeded || e.id == &kPathSignatureCheckLimit ||
        e.id == &kPathIterationLimit || e.id == &kPathFetchLimit) {
      return true;
    }
  }
  return false;
}

// `parsed` and `store_candidates` (may be null) receive the parsed uploads and
// the intermediate-store certificates the search weighed.
VerifyResult VerifyChainUncached(const VerifyInput& input, const VerifyPolicy& policy,
                                 std::vector<std::string> upload_sha256,
                                 std::vector<CertificatePtr>* parsed,
                                 std::vector<CertificatePtr>* store_candidates);

}  // namespace

VerifyResult VerifyChain(const VerifyInput& input, const VerifyPolicy& policy) {
  // Each upload is hashed once: for the result key, the certificate cache
  // and the caller's audit record (VerifyResult::upload_sha256).
  std::vector<std::string> upload_sha256;
  upload_sha256.reserve(input.certificates.size());
  for (const std::string& der : input.certificates) upload_sha256.push_back(Sha256(der));

  const bool cacheable = policy.caches != nullptr && policy.result_cache_scope != nullptr &&
                         policy.trust_store != nullptr &&
                         !policy.rules.ChecksRevocation(!input.stapled_ocsp_response.empty());
  if (!cacheable) {
    return VerifyChainUncached(input, policy, std::move(upload_sha256), nullptr, nullptr);
  }

  const std::string key = ResultKey(input, policy, upload_sha256);
  const int64_t now = Seconds(input.time);
  if (std::shared_ptr<const CachedResult> hit = policy.caches->LookupResult(key)) {
    if (hit->scope.lock() == policy.result_cache_scope &&
        Seconds(hit->valid_from) <= now && now < Seconds(hit->valid_until)) {
      VerifyResult result = *std::static_pointer_cast<const VerifyResult>(hit->result);
      result.from_result_cache = true;
      return result;
    }
  }

  std::vector<CertificatePtr> uploads;
  std::vector<CertificatePtr> store_candidates;
  VerifyResult result = VerifyChainUncached(input, policy, std::move(upload_sha256), &uploads,
                                            &store_candidates);
  if (HitSearchLimit(result) || !result.issuer_fetches.empty()) return result;

  Window window(now);
  size_t cost = 1024;  // The entry, the key and the result's own fields.
  for (const CertificatePtr& cert : uploads) {
    if (cert == nullptr) continue;
    window.AddValidity(*cert);
    // Anchors the search may have weighed as this certificate's issuer.
    for (const TrustAnchor* anchor :
         policy.trust_store->FindBySubject(cert->issuer(), cert->issuer_hash())) {
      window.AddValidity(*anchor->certificate);
    }
  }
  for (const CertificatePtr& cert : store_candidates) window.AddValidity(*cert);
  for (const ChainEntry& entry : result.chain) window.AddValidity(*entry.certificate);
  for (const PinSet& pins : policy.rules.pins) {
    if (pins.expires) {
      // AppliesTo compares `now > expires` at full precision: both sides of
      // the second holding `expires` are boundaries.
      window.AddBoundary(Seconds(*pins.expires));
      window.AddBoundary(Seconds(*pins.expires) + 1);
    }
  }
  for (const std::string& der : input.certificates) cost += der.size();
  for (const CertError& e : result.errors) cost += sizeof(CertError) + e.diagnostic.size();
  cost += result.chain.size() * sizeof(ChainEntry);
  // The verdict's bytes, once rendered: a copy of each chain certificate's
  // serialized details (its DER and about 1 KB of names and fingerprints).
  for (const ChainEntry& entry : result.chain) cost += entry.certificate->der().size() + 1024;
  result.rendered = std::make_shared<Lazy<RenderedVerdict>>();

  auto entry = std::make_shared<CachedResult>();
  entry->scope = policy.result_cache_scope;
  entry->valid_from = absl::FromUnixSeconds(window.from() == std::numeric_limits<int64_t>::min()
                                                ? std::numeric_limits<int64_t>::min() / 2
                                                : window.from());
  entry->valid_until = absl::FromUnixSeconds(window.until() == std::numeric_limits<int64_t>::max()
                                                 ? std::numeric_limits<int64_t>::max() / 2
                                                 : window.until());
  entry->result = std::make_shared<const VerifyResult>(result);
  policy.caches->RecordResult(key, std::move(entry), cost);
  return result;
}

namespace {

VerifyResult VerifyChainUncached(const VerifyInput& input, const VerifyPolicy& policy,
                                 std::vector<std::string> upload_sha256,
                                 std::vector<CertificatePtr>* parsed,
                                 std::vector<CertificatePtr>* store_candidates) {
  VerifyResult result;
  const int uploaded = static_cast<int>(input.certificates.size());

  // Parse every upload. An unparsable leaf rejects the chain; an unparsable
  // extra certificate is only a warning, since the peer's junk should not
  // decide the verdict when a valid path exists without it.
  std::vector<CertificatePtr> uploads(uploaded);
  std::vector<CertError> parse_errors;
  for (int i = 0; i < uploaded; ++i) {
    ParseError error;
    uploads[i] = policy.caches != nullptr
                     ? policy.caches->ParseCertificate(input.certificates[i], upload_sha256[i],
                                                       &error)
                     : Certificate::Parse(input.certificates[i], &error, &upload_sha256[i]);
    if (uploads[i] == nullptr) {
      parse_errors.push_back({i == 0 ? error.id : &kCertUnusedUnparsable,
                              i == 0 ? Severity::kError : Severity::kWarning,
                              i == 0 ? 0 : -1, i,
                              i == 0 ? error.diagnostic
                                     : absl::StrCat(error.id->name, ": ", error.diagnostic)});
    }
  }

  if (uploaded > 0 && uploads[0] != nullptr && policy.trust_store != nullptr) {
    ChainValidator validator(policy.validation, input.purpose, input.peer_name, input.time);
    validator.SetPolicyRules(&policy.rules, input.stapled_ocsp_response);
    validator.SetFetchDeadline(input.deadline - kAnswerMargin);
    validator.SetTrustStore(policy.trust_store.get());
    // One budget for the chain's search and its CRL signers' (crl_signer.h).
    SearchBudget budget;
    CrlSignerContext crl_signers;
    crl_signers.uploads = &uploads;
    crl_signers.trust_store = policy.trust_store.get();
    crl_signers.issuers = &policy.issuers;
    crl_signers.limits = &policy.limits;
    crl_signers.budget = &budget;
    crl_signers.caches = policy.caches;
    crl_signers.options = &policy.validation;
    crl_signers.time = input.time;
    crl_signers.crl_certificates = policy.rules.crl_certificates.get();
    validator.SetCrlSigners(&crl_signers);
    PathBuilderResult built =
        BuildPath(uploads, *policy.trust_store, policy.limits,
                  policy.validation.max_chain_length, &validator, policy.caches,
                  policy.issuers, &budget);
    result.trusted = built.found_valid_path;
    result.stats = built.stats;
    result.issuer_fetches = std::move(built.issuer_fetches);
    if (store_candidates != nullptr) *store_candidates = std::move(built.store_candidates);
    for (const PathElement& e : built.path) {
      ChainEntry entry{e.certificate, e.request_index, e.anchor, e.source, e.fetched_from};
      if (entry.request_index < 0) {
        // An anchor the peer also sent: report where it was uploaded.
        for (int i = 0; i < uploaded; ++i) {
          if (uploads[i] && uploads[i]->sha256() == e.certificate->sha256()) {
            entry.request_index = i;
            break;
          }
        }
      }
      result.chain.push_back(std::move(entry));
    }
    result.status = result.trusted ? ::chainverify::v1::OK : built.errors.PrimaryStatus();
    result.revocation = built.errors.revocation();
    result.errors = std::move(built.errors.mutable_errors());
    // The peer's chain needed a fetched issuer: worth an operator's look.
    for (size_t i = 0; result.trusted && i < result.chain.size(); ++i) {
      if (result.chain[i].source != CertificateSource::kAiaFetch) continue;
      result.errors.push_back({&kPathCompletedByFetch, Severity::kWarning, static_cast<int>(i),
                               -1,
                               absl::StrCat("the peer did not send this issuer; it was fetched "
                                            "from ", *result.chain[i].fetched_from)});
      break;
    }
  }
  if (result.status == ::chainverify::v1::STATUS_UNSPECIFIED) {
    // No leaf, an unparsable leaf, or no trust store.
    if (policy.trust_store == nullptr) {
      result.errors.push_back({&kPathNoIssuer, Severity::kError, -1, -1, "no trust store"});
    }
    result.status = parse_errors.empty() ? ::chainverify::v1::NO_PATH_TO_TRUSTED_ANCHOR
                                         : parse_errors.front().id->status;
  }

  // Fill request indices for errors about chain members, then add the parse
  // findings.
  for (CertError& e : result.errors) {
    if (e.chain_index >= 0 && e.chain_index < static_cast<int>(result.chain.size())) {
      e.request_index = result.chain[e.chain_index].request_index;
    }
  }
  for (CertError& e : parse_errors) result.errors.push_back(std::move(e));

  std::vector<bool> used(uploaded, false);
  for (const ChainEntry& entry : result.chain) {
    if (entry.request_index >= 0) used[entry.request_index] = true;
  }
  for (int i = 0; i < uploaded; ++i) {
    if (!used[i]) result.unused_request_indices.push_back(i);
  }
  if (!result.trusted && result.status == ::chainverify::v1::OK) {
    result.status = ::chainverify::v1::NO_PATH_TO_TRUSTED_ANCHOR;  // Defensive.
  }
  if (parsed != nullptr) *parsed = std::move(uploads);
  result.upload_sha256 = std::move(upload_sha256);
  return result;
}

}  // namespace

}  // namespace chainverify::pki
