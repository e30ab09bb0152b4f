#include "server/pki/crl_signer.h"

#include <set>
#include <string>

#include <openssl/x509.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/pki/verify_certificate_chain.h"

namespace chainverify::pki {

CrlSignerAnswer PathCrlSignerResolver::Resolve(const CrlSignatureQuery& query) {
  const TrustAnchor* anchor = path_.empty() ? nullptr : path_.back().anchor;
  if (anchor == nullptr || context_->trust_store == nullptr) {
    return {false, "the path has no trust anchor to validate a CRL signer against"};
  }
  auto key = std::make_pair(query.id, anchor);
  auto it = context_->memo.find(key);
  if (it != context_->memo.end()) return it->second;
  CrlSignerAnswer answer = Search(query, *anchor);
  context_->memo.emplace(key, answer);
  return answer;
}

CrlSignerAnswer PathCrlSignerResolver::Search(const CrlSignatureQuery& query,
                                              const TrustAnchor& anchor) {
  // Candidates named like the CRL issuer, anchors first.
  X509_NAME* name = const_cast<X509_NAME*>(query.issuer);
  int ok = 0;
  const uint64_t hash = X509_NAME_hash_ex(name, nullptr, nullptr, &ok);
  std::vector<std::pair<CertificatePtr, const TrustAnchor*>> candidates;
  std::set<std::string> seen;
  auto offer = [&](const CertificatePtr& cert, const TrustAnchor* as_anchor) {
    if (cert == nullptr || X509_NAME_cmp(cert->subject(), query.issuer) != 0 ||
        !seen.insert(cert->sha256()).second) {
      return;
    }
    candidates.emplace_back(cert, as_anchor);
  };
  for (const TrustAnchor* a : context_->trust_store->FindBySubject(name, hash)) {
    if (a->IsAnchor()) offer(a->certificate, a);
  }
  for (const PathElement& e : path_) offer(e.certificate, nullptr);
  if (context_->uploads != nullptr) {
    for (const CertificatePtr& cert : *context_->uploads) offer(cert, nullptr);
  }
  if (context_->issuers != nullptr && context_->issuers->intermediates != nullptr) {
    for (const TrustAnchor* a : context_->issuers->intermediates->FindBySubject(name, hash)) {
      offer(a->certificate, nullptr);
    }
  }
  if (context_->crl_certificates != nullptr) {
    for (const CertificatePtr& cert : *context_->crl_certificates) offer(cert, nullptr);
  }
  if (candidates.empty()) {
    return {false, absl::StrCat("no certificate named ", NameToString(query.issuer),
                                " to have signed it (RFC 5280 6.3.3 (f))")};
  }

  std::vector<std::string> why;
  size_t tried = 0;
  for (const auto& [cert, as_anchor] : candidates) {
    if (++tried > kMaxCrlSignerCandidates) {
      why.push_back(absl::StrCat("more than ", kMaxCrlSignerCandidates, " candidate signers"));
      break;
    }
    SearchBudget& budget = *context_->budget;
    if (++budget.signature_checks > context_->limits->max_signature_checks ||
        absl::Now() > budget.deadline) {
      why.push_back("the request's search budget ran out");
      break;
    }
    if (!query.verifies(*cert)) continue;
    const std::string who = NameToString(cert->subject());
    if (as_anchor != nullptr) {
      // The anchor itself signed the CRL: no path to build.
      if (as_anchor != &anchor) {
        why.push_back(absl::StrCat("the anchor ", who,
                                   " signed it, but the certificate's path ends at another "
                                   "anchor (RFC 5280 6.3.3 (f))"));
      } else if (cert->key_usage() && !(*cert->key_usage() & kKeyUsageCrlSign)) {
        why.push_back(absl::StrCat("the anchor ", who, " signed it but its keyUsage lacks "
                                   "cRLSign (RFC 5280 4.2.1.3)"));
      } else {
        return {true, absl::StrCat("signed by the trust anchor's key (", who, ")")};
      }
      continue;
    }
    // A path for the signer, validated as a CRL signer's, to the same anchor.
    std::vector<CertificatePtr> uploads = {cert};
    for (const PathElement& e : path_) {
      if (e.anchor == nullptr) uploads.push_back(e.certificate);
    }
    if (context_->uploads != nullptr) {
      for (const CertificatePtr& c : *context_->uploads) {
        if (c != nullptr) uploads.push_back(c);
      }
    }
    if (context_->crl_certificates != nullptr) {
      uploads.insert(uploads.end(), context_->crl_certificates->begin(),
                     context_->crl_certificates->end());
    }
    const PeerName no_name;  // Outlives the validator, which keeps a reference.
    ChainValidator validator(*context_->options, KeyPurpose::kServerAuth, no_name,
                             context_->time);
    validator.SetCrlSignerAnchor(&anchor, rules_);
    IssuerSources sources;  // No AIA chasing for CRL signers.
    if (context_->issuers != nullptr) sources.intermediates = context_->issuers->intermediates;
    PathBuilderResult built =
        BuildPath(uploads, *context_->trust_store, *context_->limits,
                  context_->options->max_chain_length, &validator, context_->caches, sources,
                  context_->budget);
    if (built.found_valid_path) {
      std::vector<std::string> names;
      for (const PathElement& e : built.path) names.push_back(NameToString(e.certificate->subject()));
      return {true, absl::StrCat("signed by ", who, ", path ", absl::StrJoin(names, " <- "))};
    }
    std::string reason = "no valid path";
    for (const CertError& e : built.errors.errors()) {
      if (e.severity == Severity::kError) {
        reason = absl::StrCat(e.id->name, ": ", e.diagnostic);
        break;
      }
    }
    why.push_back(absl::StrCat("its signer ", who, " has no valid path to the certificate's "
                               "anchor (", reason, ")"));
  }
  if (why.empty()) {
    why.push_back(absl::StrCat("no key of a certificate named ", NameToString(query.issuer),
                               " verifies its signature"));
  }
  return {false, absl::StrJoin(why, "; ")};
}

}  // namespace chainverify::pki
