#include "server/pki/path_builder.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <utility>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/pki/caches.h"
#include "server/pki/openssl_util.h"

namespace chainverify::pki {
namespace {

// Choosing among failed paths: a path that reached a trust anchor but failed
// validation explains the rejection better than one that found no issuer, and
// a longer partial path better than a shorter one. Among anchored paths the
// first one found (the best-ordered) wins.
int FailedPathRank(const std::vector<PathElement>& path) {
  const bool anchored = !path.empty() && path.back().anchor != nullptr;
  return (anchored ? 1000 : 0) + static_cast<int>(path.size());
}

// Security strength in bits of a public key (NIST SP 800-57 Part 1 table 2).
int KeyStrength(EVP_PKEY* key) {
  const int bits = EVP_PKEY_get_bits(key);
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_RSA:
      return bits >= 15360 ? 256 : bits >= 7680 ? 192 : bits >= 3072 ? 128 : bits >= 2048 ? 112 : 80;
    case EVP_PKEY_ED25519:
      return 128;
    default:  // EC: half the field size.
      return bits / 2;
  }
}

// Choosing among valid paths: shortest, then the one that stays valid longest
// (latest earliest-notAfter), then the strongest weakest key; the first found
// wins ties, so the answer is deterministic.
struct PathQuality {
  size_t length;
  absl::Time expiry;
  int strength;

  static PathQuality Of(const std::vector<PathElement>& path) {
    PathQuality q{path.size(), absl::InfiniteFuture(), 1 << 20};
    for (const PathElement& e : path) {
      q.expiry = std::min(q.expiry, e.certificate->not_after());
      q.strength = std::min(q.strength, KeyStrength(e.certificate->public_key()));
    }
    return q;
  }
  bool BetterThan(const PathQuality& o) const {
    if (length != o.length) return length < o.length;
    if (expiry != o.expiry) return expiry > o.expiry;
    return strength > o.strength;
  }
};

// A candidate issuer with its sort key (see path_builder.h for the order).
struct Candidate {
  PathElement element;
  int trust_rank;    // 0 = anchor, 1 = uploaded, 2 = intermediate store, 3 = fetched
  int key_id_rank;   // 0 = match, 1 = no data, 2 = mismatch
  int self_issued;   // 0 = not self-issued
  absl::Time not_before;
  int order;         // upload / load order

  bool operator<(const Candidate& o) const {
    if (trust_rank != o.trust_rank) return trust_rank < o.trust_rank;
    if (key_id_rank != o.key_id_rank) return key_id_rank < o.key_id_rank;
    if (self_issued != o.self_issued) return self_issued < o.self_issued;
    if (not_before != o.not_before) return not_before > o.not_before;
    return order < o.order;
  }
};

int KeyIdRank(const Certificate& child, const Certificate& issuer) {
  if (!child.authority_key_id() || !issuer.subject_key_id()) return 1;
  return *child.authority_key_id() == *issuer.subject_key_id() ? 0 : 2;
}

class Search {
 public:
  Search(const std::vector<CertificatePtr>& uploads, const TrustStore& store,
         const SearchLimits& limits, int max_depth, PathValidator* validator,
         VerifierCaches* caches, const IssuerSources& sources, SearchBudget* budget)
      : uploads_(uploads),
        store_(store),
        limits_(limits),
        max_depth_(max_depth),
        validator_(validator),
        caches_(caches),
        sources_(sources),
        budget_(budget != nullptr ? budget : &own_budget_) {
    if (budget_->deadline == absl::InfiniteFuture()) {
      budget_->deadline = absl::Now() + limits.deadline;
    }
    for (const CertificatePtr& cert : uploads_) {
      if (cert != nullptr) upload_sha256_.insert(cert->sha256());
    }
  }

  PathBuilderResult Run() {
    PathBuilderResult result;
    path_.push_back({uploads_[0], 0, nullptr});
    Extend();
    stats_.limit_hit = limit_hit_ != nullptr;
    result.stats = stats_;
    result.issuer_fetches = std::move(fetch_notes_);
    result.store_candidates.assign(store_candidates_.begin(), store_candidates_.end());
    if (found_) {
      // Limits only matter when nothing valid was found.
      result.found_valid_path = true;
      result.path = std::move(valid_path_);
      result.errors = std::move(valid_errors_);
      return result;
    }
    if (best_failed_path_.empty()) best_failed_path_ = {path_.front()};
    result.path = std::move(best_failed_path_);
    result.errors = std::move(best_failed_errors_);
    if (limit_hit_ != nullptr) {
      // The search was cut short: that is the reason, even if some path failed.
      CertErrors errors;
      errors.Add(*limit_hit_, -1, limit_diagnostic_);
      for (CertError& e : result.errors.mutable_errors()) {
        errors.mutable_errors().push_back(e);
        errors.mutable_errors().back().severity = Severity::kWarning;
      }
      result.errors = std::move(errors);
    }
    return result;
  }

 private:
  // Returns true to stop the whole search (a valid path found or a limit hit).
  bool Extend() {
    if (OutOfBudget()) return true;
    const int top = static_cast<int>(path_.size()) - 1;
    if (top + 1 >= max_depth_) {
      RecordFailure(kPathDepthLimit, top,
                    absl::StrCat("no trust anchor within ", max_depth_, " certificates"));
      return false;
    }

    // Any extension is longer than the best valid path already found.
    if (found_ && path_.size() + 1 > valid_path_.size()) return false;

    std::string fetch_report;  // What AIA chasing for this certificate found.
    std::vector<Candidate> candidates = Candidates(*path_.back().certificate, &fetch_report);
    if (limit_hit_ != nullptr) return true;  // The fetch budget or the deadline ran out.
    bool any_extended = false;
    std::vector<std::string> bad_signers;  // Candidates whose key did not verify.
    bool only_fetched_bad_signers = true;
    bool target_is_anchor = false;  // The target is itself one of the anchors.
    for (const Candidate& c : candidates) {
      if (OnPath(*c.element.certificate)) {
        target_is_anchor |= path_.size() == 1 && c.element.anchor != nullptr;
        continue;
      }
      ++stats_.iterations;
      if (++budget_->iterations > limits_.max_iterations) {
        return Stop(kPathIterationLimit,
                    absl::StrCat("more than ", limits_.max_iterations, " candidate issuers tried"));
      }
      if (OutOfBudget()) return true;
      bool signature_ok = false;
      if (!CheckSignature(*path_.back().certificate, *c.element.certificate,
                          &signature_ok)) {
        return true;  // Budget exhausted.
      }
      if (!signature_ok) {
        bad_signers.push_back(Describe(c.element));
        only_fetched_bad_signers &= c.element.source == CertificateSource::kAiaFetch;
        continue;
      }
      any_extended = true;
      path_.push_back(c.element);
      bool stop;
      if (c.element.anchor != nullptr) {
        stop = TryComplete();
      } else {
        stop = Extend();
      }
      path_.pop_back();
      if (stop) return true;
    }
    if (!any_extended) {
      if (!bad_signers.empty() && !only_fetched_bad_signers) {
        RecordFailure(kSignatureInvalid, top,
                      absl::StrCat("issuer ", absl::StrJoin(bad_signers, ", "),
                                   " found but its key does not verify this signature"));
      } else if (!bad_signers.empty()) {
        // What a caIssuers URL served is not the issuer: the peer's chain is
        // incomplete and could not be completed.
        RecordFailure(kPathNoIssuer, top,
                      absl::StrCat("no issuer named \"",
                                   NameToText(path_.back().certificate->issuer()),
                                   "\" among the uploads and the policy's stores; ",
                                   absl::StrJoin(bad_signers, ", "),
                                   " does not verify this signature"));
      } else if (target_is_anchor) {
        // Usually a chain uploaded root first: say so rather than "no issuer".
        RecordFailure(kPathNoIssuer, top,
                      "the certificate to verify (certificates[0]) is itself a trust anchor, "
                      "not a leaf; certificates[0] must be the peer's leaf (is the chain in "
                      "reverse order?)");
      } else {
        RecordFailure(kPathNoIssuer, top,
                      absl::StrCat("no issuer named \"",
                                   NameToText(path_.back().certificate->issuer()),
                                   "\" among ", uploads_.size() - 1,
                                   " other uploaded certificate(s)",
                                   sources_.intermediates != nullptr
                                       ? ", the intermediate store"
                                       : "",
                                   " and the trust store", fetch_report));
      }
    }
    return false;
  }

  static std::string NameToText(X509_NAME* name) {
    char buf[256];
    X509_NAME_oneline(name, buf, sizeof(buf));
    return buf;
  }

  static std::string Describe(const PathElement& e) {
    std::string where;
    switch (e.source) {
      case CertificateSource::kUpload: where = absl::StrCat("uploaded #", e.request_index); break;
      case CertificateSource::kTrustStore: where = "trust store"; break;
      case CertificateSource::kIntermediateStore: where = "intermediate store"; break;
      case CertificateSource::kAiaFetch: where = absl::StrCat("fetched from ", *e.fetched_from);
    }
    return absl::StrCat("\"", NameToText(e.certificate->subject()), "\" (", where, ")");
  }

  // Candidate issuers of `child`, best first. When no source has one, AIA
  // chasing fetches some; `fetch_report` then says what the fetches gave.
  std::vector<Candidate> Candidates(const Certificate& child, std::string* fetch_report) {
    std::vector<Candidate> out;
    int order = 0;
    for (const TrustAnchor* anchor :
         store_.FindBySubject(child.issuer(), child.issuer_hash())) {
      const Certificate& cert = *anchor->certificate;
      out.push_back({{anchor->certificate, -1, anchor, CertificateSource::kTrustStore},
                     0, KeyIdRank(child, cert), cert.IsSelfIssued() ? 1 : 0,
                     cert.not_before(), order++});
    }
    for (size_t i = 1; i < uploads_.size(); ++i) {
      const CertificatePtr& cert = uploads_[i];
      if (cert == nullptr || cert->subject_hash() != child.issuer_hash() ||
          X509_NAME_cmp(cert->subject(), child.issuer()) != 0) {
        continue;
      }
      // An upload with the subject and key of an anchor (the root itself, or a
      // cross-signed copy of it) is reached through the anchor entry above.
      if (store_.FindAnchorFor(*cert) != nullptr) continue;
      out.push_back({{cert, static_cast<int>(i), nullptr}, 1, KeyIdRank(child, *cert),
                     cert->IsSelfIssued() ? 1 : 0, cert->not_before(), order++});
    }
    if (sources_.intermediates != nullptr) {
      for (const TrustAnchor* entry :
           sources_.intermediates->FindBySubject(child.issuer(), child.issuer_hash())) {
        const CertificatePtr& cert = entry->certificate;
        // Uploaded or anchored copies are reached through those entries.
        if (upload_sha256_.count(cert->sha256()) || store_.FindAnchorFor(*cert) != nullptr) {
          continue;
        }
        store_candidates_.insert(cert);
        out.push_back({{cert, -1, nullptr, CertificateSource::kIntermediateStore}, 2,
                       KeyIdRank(child, *cert), cert->IsSelfIssued() ? 1 : 0,
                       cert->not_before(), order++});
      }
    }
    if (out.empty()) FetchIssuers(child, fetch_report);
    for (const PathElement& fetched : fetched_) {
      const CertificatePtr& cert = fetched.certificate;
      if (cert->subject_hash() != child.issuer_hash() ||
          X509_NAME_cmp(cert->subject(), child.issuer()) != 0) {
        continue;
      }
      out.push_back({fetched, 3, KeyIdRank(child, *cert), cert->IsSelfIssued() ? 1 : 0,
                     cert->not_before(), order++});
    }
    std::stable_sort(out.begin(), out.end());
    return out;
  }

  // AIA chasing (RFC 5280 4.2.2.1): `child`'s issuer is in no source, so try
  // its caIssuers URLs, in order, until one serves a certificate named as its
  // issuer. What was served joins fetched_ for the rest of the search; each URL
  // is fetched once per search. Appends what happened to `report`.
  void FetchIssuers(const Certificate& child, std::string* report) {
    if (sources_.fetcher == nullptr) return;
    const std::vector<std::string> urls = CaIssuersUrls(child);
    if (urls.empty()) return;
    int fetched_on_path = 0;
    for (const PathElement& e : path_) fetched_on_path += e.source == CertificateSource::kAiaFetch;
    if (fetched_on_path >= sources_.max_fetched_per_path) {
      absl::StrAppend(report, "; not fetching its caIssuers: the path already holds ",
                      fetched_on_path, " fetched certificate(s)");
      return;
    }
    for (const std::string& url : urls) {
      if (!fetched_urls_.insert(url).second) continue;  // Fetched earlier in this search.
      if (stats_.issuer_fetches >= sources_.max_fetches) {
        Stop(kPathFetchLimit, absl::StrCat("more than ", sources_.max_fetches,
                                           " caIssuers fetches; next was ", url));
        return;
      }
      ++stats_.issuer_fetches;
      IssuerFetchNote note;
      note.url = url;
      const int found = FetchOne(child, url, &note);
      if (!note.diagnostic.empty()) {
        absl::StrAppend(report, "; caIssuers ", url, ": ", note.diagnostic);
      }
      fetch_notes_.push_back(std::move(note));
      if (found > 0 || OutOfBudget()) return;
    }
  }

  // One caIssuers URL: fetch, parse, keep what names `child`'s issuer.
  // Returns how many certificates were kept.
  int FetchOne(const Certificate& child, const std::string& url, IssuerFetchNote* note) {
    absl::StatusOr<IssuerFetcher::Response> response = sources_.fetcher->Fetch(url, budget_->deadline);
    if (!response.ok()) {
      note->diagnostic = std::string(response.status().message());
      return 0;
    }
    note->outcome = response->from_cache ? IssuerFetchNote::Outcome::kCached
                                         : IssuerFetchNote::Outcome::kFetched;
    absl::StatusOr<std::vector<std::string>> ders =
        ParseIssuerResponse(response->body, sources_.max_certificates_per_response);
    if (!ders.ok()) {
      note->outcome = IssuerFetchNote::Outcome::kFailed;
      note->diagnostic = absl::StrCat("unusable response: ", ders.status().message());
      return 0;
    }
    auto source = std::make_shared<const std::string>(url);
    int kept = 0;
    int unparsable = 0;
    int other_names = 0;
    for (const std::string& der : *ders) {
      ParseError error;
      CertificatePtr cert = caches_ != nullptr ? caches_->ParseCertificate(der, &error)
                                               : Certificate::Parse(der, &error);
      if (cert == nullptr) {
        ++unparsable;
        continue;
      }
      note->certificate_sha256.push_back(HexEncode(cert->sha256()));
      if (cert->subject_hash() != child.issuer_hash() ||
          X509_NAME_cmp(cert->subject(), child.issuer()) != 0) {
        ++other_names;
        continue;
      }
      // The anchor itself, or an upload, is already a candidate elsewhere.
      if (store_.FindAnchorFor(*cert) != nullptr || upload_sha256_.count(cert->sha256())) {
        continue;
      }
      fetched_.push_back({cert, -1, nullptr, CertificateSource::kAiaFetch, source});
      ++kept;
    }
    if (kept == 0) {
      note->diagnostic = absl::StrCat(ders->size(), " certificate(s) served, none named \"",
                                      NameToText(child.issuer()), "\" (", unparsable,
                                      " unparsable, ", other_names, " with another subject)");
    }
    return kept;
  }

  // Loop detection by subject + SPKI + SAN (Go crypto/x509).
  bool OnPath(const Certificate& cert) const {
    for (const PathElement& e : path_) {
      const Certificate& other = *e.certificate;
      if (other.spki_der() == cert.spki_der() &&
          X509_NAME_cmp(other.subject(), cert.subject()) == 0 &&
          SameSans(other, cert)) {
        return true;
      }
    }
    return false;
  }

  static bool SameSans(const Certificate& a, const Certificate& b) {
    const GeneralNames& x = a.subject_alt_names();
    const GeneralNames& y = b.subject_alt_names();
    return x.dns_names == y.dns_names && x.ip_addresses == y.ip_addresses &&
           x.emails == y.emails && x.uris == y.uris &&
           x.directory_names == y.directory_names;
  }

  // Verifies `child`'s signature with `issuer`'s key, memoized per request
  // and, when there is one, in the shared cache. A shared hit still counts
  // against max_signature_checks: the cache saves CPU, but whether a search
  // runs out of budget (and so the verdict) must not depend on what earlier
  // requests left in it. Returns false when the budget is exhausted.
  bool CheckSignature(const Certificate& child, const Certificate& issuer, bool* ok) {
    auto key = std::make_pair(child.sha256(), issuer.spki_sha256());
    auto it = signature_cache_.find(key);
    if (it != signature_cache_.end()) {
      *ok = it->second;
      return true;
    }
    ++stats_.signature_checks;
    if (++budget_->signature_checks > limits_.max_signature_checks) {
      Stop(kPathSignatureCheckLimit,
           absl::StrCat("more than ", limits_.max_signature_checks, " signature checks"));
      return false;
    }
    std::optional<bool> shared;
    if (caches_ != nullptr) shared = caches_->LookupSignature(child, issuer);
    if (shared.has_value()) {
      ++stats_.signature_cache_hits;
      *ok = *shared;
    } else {
      // X509_verify checks the outer signature with the given key; the
      // algorithm-policy checks happen in validation. The result depends only
      // on the child's DER and the issuer's SPKI, so it can be shared.
      *ok = X509_verify(child.x509(), issuer.public_key()) == 1;
      ERR_clear_error();
      if (caches_ != nullptr) caches_->RecordSignature(child, issuer, *ok);
    }
    signature_cache_.emplace(std::move(key), *ok);
    return true;
  }

  bool TryComplete() {
    ++stats_.paths_validated;
    if (++budget_->paths_validated > limits_.max_paths_validated) {
      return Stop(kPathIterationLimit,
                  absl::StrCat("more than ", limits_.max_paths_validated, " complete paths validated"));
    }
    CertErrors errors;
    validator_->Validate(path_, &errors);
    if (!errors.HasError()) {
      // Keep looking for a better valid path (see PathQuality), up to
      // max_valid_paths; the pruning in Extend() keeps this cheap.
      const PathQuality quality = PathQuality::Of(path_);
      if (!found_ || quality.BetterThan(valid_quality_)) {
        found_ = true;
        valid_path_ = path_;
        valid_quality_ = quality;
        valid_errors_ = std::move(errors);
      }
      return ++valid_paths_ >= limits_.max_valid_paths;
    }
    RecordFailure(std::move(errors));
    return false;
  }

  void RecordFailure(const CertErrorId& id, int chain_index, std::string diagnostic) {
    CertErrors errors;
    errors.Add(id, chain_index, std::move(diagnostic));
    RecordFailure(std::move(errors));
  }

  void RecordFailure(CertErrors errors) {
    const int rank = FailedPathRank(path_);
    if (rank > best_failed_rank_) {
      best_failed_rank_ = rank;
      best_failed_path_ = path_;
      best_failed_errors_ = std::move(errors);
    }
  }

  bool OutOfBudget() {
    if (limit_hit_ != nullptr) return true;
    if (absl::Now() > budget_->deadline) {
      return Stop(kPathDeadlineExceeded,
                  absl::StrCat("path building exceeded ", absl::FormatDuration(limits_.deadline)));
    }
    return false;
  }

  bool Stop(const CertErrorId& id, std::string diagnostic) {
    if (limit_hit_ == nullptr) {
      limit_hit_ = &id;
      limit_diagnostic_ = std::move(diagnostic);
    }
    return true;
  }

  const std::vector<CertificatePtr>& uploads_;
  const TrustStore& store_;
  const SearchLimits& limits_;
  const int max_depth_;
  PathValidator* validator_;
  VerifierCaches* const caches_;  // Not owned; may be null.
  const IssuerSources& sources_;
  SearchBudget own_budget_;
  SearchBudget* const budget_;  // own_budget_ or the request's.
  std::set<std::string> upload_sha256_;
  // Certificates served by caIssuers URLs during this search, and the URLs.
  std::vector<PathElement> fetched_;
  std::set<std::string> fetched_urls_;
  std::vector<IssuerFetchNote> fetch_notes_;
  std::set<CertificatePtr> store_candidates_;

  std::vector<PathElement> path_;
  SearchStats stats_;
  std::map<std::pair<std::string, std::string>, bool> signature_cache_;
  bool found_ = false;
  int valid_paths_ = 0;
  PathQuality valid_quality_{};
  std::vector<PathElement> valid_path_;
  CertErrors valid_errors_;
  int best_failed_rank_ = -1;
  std::vector<PathElement> best_failed_path_;
  CertErrors best_failed_errors_;
  const CertErrorId* limit_hit_ = nullptr;
  std::string limit_diagnostic_;
};

}  // namespace

PathBuilderResult BuildPath(const std::vector<CertificatePtr>& uploads,
                            const TrustStore& trust_store,
                            const SearchLimits& limits, int max_depth,
                            PathValidator* validator, VerifierCaches* caches,
                            const IssuerSources& issuer_sources, SearchBudget* budget) {
  if (uploads.empty() || uploads[0] == nullptr) {
    PathBuilderResult result;
    result.errors.Add(kCertMalformed, 0, "no parsable leaf certificate");
    return result;
  }
  return Search(uploads, trust_store, limits, max_depth, validator, caches, issuer_sources,
                budget)
      .Run();
}

}  // namespace chainverify::pki
