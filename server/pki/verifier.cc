#include "server/pki/verifier.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "server/pki/verify_certificate_chain.h"

namespace chainverify::pki {

VerifyResult VerifyChain(const VerifyInput& input, const VerifyPolicy& policy) {
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
                     ? policy.caches->ParseCertificate(input.certificates[i], &error)
                     : Certificate::Parse(input.certificates[i], &error);
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
    PathBuilderResult built =
        BuildPath(uploads, *policy.trust_store, policy.limits,
                  policy.validation.max_chain_length, &validator, policy.caches);
    result.trusted = built.found_valid_path;
    result.stats = built.stats;
    for (const PathElement& e : built.path) {
      ChainEntry entry{e.certificate, e.request_index, e.anchor};
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
  return result;
}

}  // namespace chainverify::pki
