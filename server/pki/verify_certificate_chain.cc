#include "server/pki/verify_certificate_chain.h"

#include <optional>

#include <openssl/evp.h>
#include <openssl/objects.h>

#include "absl/algorithm/container.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/pki/certificate_policies.h"
#include "server/pki/certificate_profile.h"
#include "server/pki/hostname_match.h"
#include "server/pki/name_constraints.h"
#include "server/pki/ocsp.h"

namespace chainverify::pki {
namespace {

bool IsAllowedCurve(int nid, const AlgorithmPolicy& policy) {
  if (policy.allowed_curves.empty()) {
    return nid == NID_X9_62_prime256v1 || nid == NID_secp384r1 || nid == NID_secp521r1;
  }
  return policy.allowed_curves.count(nid) > 0;
}

// RFC 5280 4.2.1.12: does `eku` allow `purpose`? `allow_any` accepts
// anyExtendedKeyUsage.
bool EkuAllows(const std::vector<int>& eku, KeyPurpose purpose, bool allow_any) {
  const int wanted = purpose == KeyPurpose::kServerAuth ? NID_server_auth : NID_client_auth;
  for (int nid : eku) {
    if (nid == wanted) return true;
    if (allow_any && nid == NID_anyExtendedKeyUsage) return true;
  }
  return false;
}

// Name-constraint checks (names x subtrees) allowed per certificate, so that a
// crafted CA with thousands of subtrees and a leaf with thousands of names cannot
// make validation quadratic in attacker-chosen sizes (BoringSSL uses the same
// order of magnitude).
constexpr size_t kMaxNameConstraintChecks = 1 << 20;

size_t NameCount(const Certificate& cert) {
  const GeneralNames& n = cert.subject_alt_names();
  return n.dns_names.size() + n.ip_addresses.size() + n.emails.size() + n.uris.size() +
         n.directory_names.size() + n.other_names + n.registered_ids +
         X509_NAME_entry_count(cert.subject());
}

size_t SubtreeCount(const NAME_CONSTRAINTS* nc) {
  return sk_GENERAL_SUBTREE_num(nc->permittedSubtrees) +
         sk_GENERAL_SUBTREE_num(nc->excludedSubtrees);
}

const char* PurposeName(KeyPurpose purpose) {
  return purpose == KeyPurpose::kServerAuth ? "serverAuth" : "clientAuth";
}

// What the trust sources say about `anchor` for `purpose` (trust_store.h):
// explicitly distrusted, not an anchor for it, or a distrust-after date the
// leaf is issued after. Also the policy's allowed_usages.
void CheckAnchorTrust(const TrustAnchor& anchor, const Certificate& leaf, KeyPurpose purpose,
                      const TrustStore* store, int anchor_index, CertErrors* errors) {
  const PurposeTrust& trust = anchor.TrustFor(purpose);
  const AnchorConstraints& c = anchor.constraints;
  if (trust.level == PurposeTrust::Level::kDistrusted) {
    const AnchorOrigin* by = anchor.OriginWith(purpose, PurposeTrust::Level::kDistrusted);
    const DistrustRecord* record =
        store != nullptr ? store->FindDistrust(*anchor.certificate, purpose) : nullptr;
    errors->Add(kTrustDistrusted, anchor_index,
                absl::StrCat(by != nullptr ? by->Describe()
                                           : record != nullptr ? record->origin : "a trust source",
                             " explicitly distrusts this anchor for ", PurposeName(purpose)));
  } else if (trust.level == PurposeTrust::Level::kNotTrusted) {
    std::vector<std::string> held_by;
    for (const AnchorOrigin& origin : anchor.origins) held_by.push_back(origin.Describe());
    errors->Add(kAnchorNotTrustedForUsage, anchor_index,
                absl::StrCat("no trust source makes this certificate an anchor for ",
                             PurposeName(purpose), " (held by ", absl::StrJoin(held_by, ", "),
                             ")"));
  } else if (purpose == KeyPurpose::kServerAuth ? !c.allow_server_auth : !c.allow_client_auth) {
    errors->Add(kAnchorNotTrustedForUsage, anchor_index,
                absl::StrCat("the policy does not allow this anchor for ", PurposeName(purpose)));
  }
  if (trust.level == PurposeTrust::Level::kTrusted && trust.distrust_after &&
      leaf.not_before() > *trust.distrust_after) {
    std::string by = "a trust source";
    for (const AnchorOrigin& origin : anchor.origins) {
      const PurposeTrust& t =
          purpose == KeyPurpose::kServerAuth ? origin.server_auth : origin.client_auth;
      if (t.distrust_after == trust.distrust_after) by = origin.Describe();
    }
    errors->Add(kAnchorDistrustAfter, anchor_index,
                absl::StrCat(by, " distrusts ", PurposeName(purpose),
                             " certificates this anchor's hierarchy issued after ",
                             absl::FormatTime(*trust.distrust_after), "; the leaf's notBefore is ",
                             absl::FormatTime(leaf.not_before())));
  }
}

// Whether the path's pathLenConstraints (RFC 5280 6.1.4 (l)-(m)) would let
// the leaf, were it used as a CA, certify a further non-self-issued
// certificate: each constraining CA above must still have room for one more
// intermediate below it.
bool LeafCouldIssue(const std::vector<PathElement>& path) {
  int below = 0;  // Non-self-issued intermediates between the leaf and path[j].
  for (size_t j = 1; j < path.size(); ++j) {
    const Certificate& ca = *path[j].certificate;
    if (ca.path_len() >= 0 && below + 1 > ca.path_len()) return false;
    if (!ca.IsSelfIssued()) ++below;
  }
  return true;
}

// Why an explicit distrust record (certdata.h's CKT_NSS_NOT_TRUSTED, by
// issuer and serial) refuses a certificate, of the chain or of a voucher.
std::string DistrustDiagnostic(const DistrustRecord& record, KeyPurpose purpose) {
  return absl::StrCat(record.origin, " \"", record.label,
                      "\" explicitly distrusts this certificate (by issuer and serial number) "
                      "for ",
                      PurposeName(purpose));
}

}  // namespace

void CheckSignatureAlgorithm(const Certificate& cert, int chain_index,
                             const AlgorithmPolicy& policy, CertErrors* errors) {
  // RFC 5280 4.1.1.2: the digest must be acceptable.
  int digest_nid = NID_undef;
  int pkey_nid = NID_undef;
  if (!OBJ_find_sigid_algs(cert.signature_nid(), &digest_nid, &pkey_nid)) {
    errors->Add(kSignatureAlgorithmDisallowed, chain_index,
                absl::StrCat("unknown signature algorithm ", OBJ_nid2sn(cert.signature_nid())));
  } else if (digest_nid == NID_md5 || digest_nid == NID_md4 || digest_nid == NID_md2 ||
             (digest_nid == NID_sha1 && !policy.allow_sha1)) {
    errors->Add(kSignatureAlgorithmDisallowed, chain_index,
                absl::StrCat("signature algorithm ", OBJ_nid2ln(cert.signature_nid()),
                             " is not allowed"));
  } else if (pkey_nid == NID_ED25519 && !policy.allow_ed25519) {
    errors->Add(kSignatureAlgorithmDisallowed, chain_index, "Ed25519 signatures are not allowed");
  }
}

void CheckPublicKey(const Certificate& cert, int chain_index, const AlgorithmPolicy& policy,
                    CertErrors* errors) {
  EVP_PKEY* key = cert.public_key();
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_RSA: {
      const int bits = EVP_PKEY_get_bits(key);
      if (bits < policy.min_rsa_bits) {
        errors->Add(kPublicKeyDisallowed, chain_index,
                    absl::StrCat("RSA key of ", bits, " bits; at least ",
                                 policy.min_rsa_bits, " required"));
      }
      break;
    }
    case EVP_PKEY_EC: {
      char curve[64] = {0};
      size_t len = 0;
      EVP_PKEY_get_utf8_string_param(key, "group", curve, sizeof(curve), &len);
      const int nid = OBJ_sn2nid(curve) != NID_undef ? OBJ_sn2nid(curve) : OBJ_ln2nid(curve);
      if (!IsAllowedCurve(nid, policy)) {
        errors->Add(kPublicKeyDisallowed, chain_index,
                    absl::StrCat("EC curve ", curve[0] ? curve : "(explicit parameters)",
                                 " is not allowed"));
      }
      break;
    }
    case EVP_PKEY_ED25519:
      if (!policy.allow_ed25519) {
        errors->Add(kPublicKeyDisallowed, chain_index, "Ed25519 keys are not allowed");
      }
      break;
    default:
      errors->Add(kPublicKeyDisallowed, chain_index,
                  absl::StrCat("public key type ",
                               OBJ_nid2sn(EVP_PKEY_get_base_id(key)), " is not allowed"));
  }
}

RevocationCheck ChainValidator::CheckRevocation(const Certificate& cert,
                                                const Certificate& issuer, bool is_leaf,
                                                absl::Time now, CrlSignerResolver* signers,
                                                bool judge_vouchers) const {
  std::vector<std::string> unknown;  // Why each source could not answer.
  auto answered = [&unknown](RevocationCheck& check) {
    if (check.state != RevocationState::kUnknown) return true;
    if (!check.diagnostic.empty()) unknown.push_back(check.diagnostic);
    return false;
  };
  // A delegated OCSP responder answers only while the policy accepts its
  // certificate (issued by `issuer`); with id-pkix-ocsp-nocheck its own
  // revocation status is not checked (RFC 6960 4.2.2.2.1), distrust and the
  // denylist still apply.
  auto judge_responder = [&](RevocationCheck& check) {
    if (!judge_vouchers || check.delegated_responder == nullptr) return;
    const std::optional<Refusal> refusal =
        RefuseVoucher(*check.delegated_responder, issuer, now,
                      /*check_revocation=*/!check.responder_nocheck);
    if (!refusal) return;
    RevocationCheck refused;
    refused.diagnostic = absl::StrCat("the OCSP answer (", check.source,
                                      ") is not used: its delegated responder is refused (",
                                      refusal->id->name, ": ", refusal->why, ")");
    check = std::move(refused);
  };
  if (rules_->crls != nullptr && !rules_->crls->empty()) {
    RevocationCheck check = rules_->crls->Check(cert, issuer, now, signers);
    if (answered(check)) return check;
  }
  if (is_leaf && rules_->use_stapled_ocsp && stapled_ocsp_ != nullptr && !stapled_ocsp_->empty()) {
    RevocationCheck check = CheckOcspResponse(*stapled_ocsp_, cert, issuer, now);
    if (!check.source.empty()) check.source = absl::StrCat("stapled-", check.source);
    judge_responder(check);
    if (answered(check)) return check;
  }
  if (rules_->fetcher != nullptr && rules_->fetch_ocsp) {
    absl::StatusOr<std::string> response =
        rules_->fetcher->FetchOcsp(cert, issuer, fetch_deadline_);
    if (response.ok()) {
      RevocationCheck check = CheckOcspResponse(*response, cert, issuer, now);
      judge_responder(check);
      if (answered(check)) return check;
    } else {
      unknown.push_back(absl::StrCat("OCSP fetch failed: ", response.status().message()));
    }
  }
  if (rules_->fetcher != nullptr && rules_->fetch_crls) {
    RevocationFetcher::FetchedCrls fetched = rules_->fetcher->FetchCrls(cert, fetch_deadline_);
    for (const std::string& error : fetched.errors) unknown.push_back(error);
    if (!fetched.sets.empty()) {
      std::vector<const CrlSet*> sets;
      for (const auto& set : fetched.sets) sets.push_back(set.get());
      RevocationCheck check = CrlSet::CheckAll(sets, cert, issuer, now, signers);
      if (answered(check)) return check;
    } else if (fetched.errors.empty()) {
      unknown.push_back("no CRL could be fetched");
    }
  }
  RevocationCheck none;
  none.diagnostic = unknown.empty() ? "no revocation source answers for this certificate"
                                    : absl::StrJoin(unknown, "; ");
  return none;
}

std::optional<ChainValidator::Refusal> ChainValidator::RefuseVoucher(
    const Certificate& cert, const Certificate& issuer, absl::Time now,
    bool check_revocation) const {
  if (trust_store_ != nullptr) {
    if (const DistrustRecord* record = trust_store_->FindDistrust(cert, purpose_)) {
      return Refusal{&kTrustDistrusted, DistrustDiagnostic(*record, purpose_)};
    }
  }
  if (rules_->denylist != nullptr) {
    if (std::optional<std::string> why = rules_->denylist->Check(cert, &issuer)) {
      return Refusal{&kDenylisted, *std::move(why)};
    }
  }
  // The CA side of a chain: under revocation_leaf_only it is not checked.
  if (!check_revocation || rules_->revocation_leaf_only ||
      !rules_->ChecksRevocation(/*has_stapled_ocsp=*/false)) {
    return std::nullopt;
  }
  // Its own vouchers are not judged in turn: one level deep.
  const RevocationCheck check = CheckRevocation(cert, issuer, /*is_leaf=*/false, now,
                                                /*signers=*/nullptr, /*judge_vouchers=*/false);
  if (check.state != RevocationState::kRevoked) return std::nullopt;
  return Refusal{&kRevoked, absl::StrCat(check.diagnostic, " (", check.source, ")")};
}

void ChainValidator::CheckCrlSignerPath(const std::vector<PathElement>& path, absl::Time now,
                                        CertErrors* errors) const {
  const int anchor_index = static_cast<int>(path.size()) - 1;
  for (int i = 0; i < anchor_index; ++i) {
    if (std::optional<Refusal> refusal = RefuseVoucher(
            *path[i].certificate, *path[i + 1].certificate, now, /*check_revocation=*/true)) {
      errors->Add(*refusal->id, i, std::move(refusal->why));
    }
  }
}

void ChainValidator::CheckPolicyRules(const std::vector<PathElement>& path, absl::Time now,
                                      CertErrors* errors) const {
  const int anchor_index = static_cast<int>(path.size()) - 1;
  const Certificate& leaf = *path[0].certificate;

  // What the trust sources (trust_store.h) and the policy's anchor
  // constraints say about this anchor for this purpose.
  if (const TrustAnchor* anchor = path.back().anchor) {
    const AnchorConstraints& c = anchor->constraints;
    CheckAnchorTrust(*anchor, leaf, purpose_, trust_store_, anchor_index, errors);
    if (c.distrust_issued_after && leaf.not_before() > *c.distrust_issued_after) {
      errors->Add(kAnchorDistrustAfter, anchor_index,
                  absl::StrCat("the policy distrusts certificates this anchor's hierarchy issued "
                               "after ", absl::FormatTime(*c.distrust_issued_after)));
    }
    for (const std::string& dns : leaf.subject_alt_names().dns_names) {
      std::string name = absl::AsciiStrToLower(dns);
      if (absl::StartsWith(name, "*.")) name = name.substr(2);
      auto within = [&name](const std::string& subtree) {
        return name == subtree || absl::EndsWith(name, absl::StrCat(".", subtree));
      };
      const bool permitted =
          c.permitted_dns_names.empty() || absl::c_any_of(c.permitted_dns_names, within);
      if (!permitted || absl::c_any_of(c.excluded_dns_names, within)) {
        errors->Add(kAnchorNameConstraint, 0,
                    absl::StrCat("\"", dns, "\" is outside the names the policy allows this anchor"));
      }
    }
  }

  // Explicit distrust of the other certificates by issuer and serial number,
  // as NSS applies a CKT_NSS_NOT_TRUSTED trust object (certdata.h).
  if (trust_store_ != nullptr) {
    for (int i = 0; i < anchor_index; ++i) {
      if (const DistrustRecord* record = trust_store_->FindDistrust(*path[i].certificate, purpose_)) {
        errors->Add(kTrustDistrusted, i, DistrustDiagnostic(*record, purpose_));
      }
    }
  }

  // The fleet denylist, then revocation (RFC 5280 6.1.3 (a)(3), 6.3).
  const bool has_staple = stapled_ocsp_ != nullptr && !stapled_ocsp_->empty();
  const bool check_revocation = rules_->ChecksRevocation(has_staple);
  std::vector<std::pair<int, std::string>> unknown;  // (chain index, why)
  std::optional<PathCrlSignerResolver> signers;
  if (crl_signers_ != nullptr) signers.emplace(crl_signers_, path, this);
  for (int i = 0; i <= anchor_index; ++i) {
    const Certificate* issuer = i < anchor_index ? path[i + 1].certificate.get() : nullptr;
    if (rules_->denylist != nullptr) {
      if (auto why = rules_->denylist->Check(*path[i].certificate, issuer)) {
        errors->Add(kDenylisted, i, *why);
        errors->AddRevocationNote({i, RevocationNote::State::kRevoked, "denylist", *why});
        continue;
      }
    }
    if (issuer == nullptr || !check_revocation || (rules_->revocation_leaf_only && i > 0)) {
      continue;
    }
    RevocationCheck check = CheckRevocation(*path[i].certificate, *issuer, i == 0, now,
                                            signers ? &*signers : nullptr,
                                            /*judge_vouchers=*/true);
    switch (check.state) {
      case RevocationState::kGood:
        errors->AddRevocationNote({i, RevocationNote::State::kGood, check.source, ""});
        break;
      case RevocationState::kRevoked:
        errors->Add(kRevoked, i, absl::StrCat(check.diagnostic, " (", check.source, ")"));
        errors->AddRevocationNote(
            {i, RevocationNote::State::kRevoked, check.source, check.diagnostic});
        break;
      case RevocationState::kInvalidCrl:
        errors->Add(kCrlInvalid, i, check.diagnostic);
        errors->AddRevocationNote({i, RevocationNote::State::kUnknown, "", check.diagnostic});
        break;
      case RevocationState::kUnknown:
        unknown.push_back({i, check.diagnostic});
        errors->AddRevocationNote({i, RevocationNote::State::kUnknown, "", check.diagnostic});
        break;
    }
  }
  // Unknown statuses after every definite answer, so that a revoked
  // intermediate, not the leaf's unknown status, is the verdict's reason.
  for (const auto& [i, why] : unknown) {
    errors->Add(kRevocationUnknown, i, why,
                rules_->revocation_hard_fail ? Severity::kError : Severity::kWarning);
  }

  // Pins (RFC 7469 pin-sha256): every applicable set must be satisfied.
  for (const PinSet& pins : rules_->pins) {
    if (!pins.AppliesTo(peer_name_, purpose_, now) || pins.SatisfiedBy(path)) continue;
    errors->Add(kPinMismatch, -1,
                absl::StrCat("no certificate of the chain matches pin set \"", pins.name, "\"",
                             pins.report_only ? " (report-only)" : ""),
                pins.report_only ? Severity::kWarning : Severity::kError);
  }
}

void ChainValidator::Validate(const std::vector<PathElement>& path, CertErrors* errors) {
  const int n = static_cast<int>(path.size());
  const int anchor_index = n - 1;
  const bool web_pki = options_.profile == Profile::kWebPki;
  // RFC 5280 4.1.2.5 encodes validity to the second: compare at that grain, so
  // an instant inside the final second of notAfter is still valid.
  const absl::Time now = absl::FromUnixSeconds(absl::ToUnixSeconds(time_));

  if (n > options_.max_chain_length) {
    errors->Add(kPathTooLong, -1,
                absl::StrCat("path of ", n, " certificates; the policy allows ",
                             options_.max_chain_length));
  }
  if (options_.max_intermediates >= 0) {
    int intermediates = 0;
    for (int i = 1; i < anchor_index; ++i) {
      if (!path[i].certificate->IsSelfIssued()) ++intermediates;
    }
    if (intermediates > options_.max_intermediates) {
      errors->Add(kPathTooLong, -1,
                  absl::StrCat(intermediates, " intermediates; the policy allows ",
                               options_.max_intermediates));
    }
  }

  // Name constraints of each CA on the path, decoded once.
  std::vector<std::optional<NameConstraints>> constraints(n);
  for (int j = 1; j < n; ++j) {
    const NAME_CONSTRAINTS* nc = path[j].certificate->name_constraints();
    if (nc == nullptr) continue;
    absl::StatusOr<NameConstraints> decoded = NameConstraints::Create(nc);
    if (!decoded.ok()) {
      errors->Add(kNameConstraintsInvalid, j, std::string(decoded.status().message()));
      continue;
    }
    constraints[j] = *std::move(decoded);
  }

  for (int i = 0; i < n; ++i) {
    const Certificate& cert = *path[i].certificate;
    const bool is_anchor = i == anchor_index;
    const bool is_leaf = i == 0;
    // Issuance rules judge how a certificate was made: its encoding and
    // extensions (certificate_profile.cc) and its own signature algorithm. A
    // trust anchor is an input to validation, not a certificate on trial
    // (RFC 5280 6.1.1 (d)): unless the policy asks for strict anchor checks,
    // only what the path relies on applies to it (its key, validity,
    // constraints and critical extensions, and the policy's rules).
    const bool judge_issuance = !is_anchor || options_.strict_anchor_checks;
    const bool crl_signer = crl_signer_anchor_ != nullptr;
    if (judge_issuance && !(crl_signer && is_leaf)) {
      CheckCertificateProfile(
          cert, is_leaf ? CertRole::kLeaf : (is_anchor ? CertRole::kAnchor : CertRole::kIntermediate),
          options_.profile, i, errors);
    }

    // Validity (RFC 5280 6.1.3 (a)(2)); notAfter is inclusive (4.1.2.5).
    if (!is_anchor || options_.enforce_anchor_validity) {
      if (now < cert.not_before()) {
        errors->Add(kValidityNotYetValid, i,
                    absl::StrCat("notBefore is ", absl::FormatTime(cert.not_before())));
      } else if (now > cert.not_after()) {
        errors->Add(kValidityExpired, i,
                    absl::StrCat("notAfter was ", absl::FormatTime(cert.not_after())));
      }
    }

    // RFC 5280 4.2: a critical extension we cannot process makes the
    // certificate unusable, the anchor included (its extensions are the root
    // program's constraints on it).
    if (!cert.unhandled_critical_extensions().empty()) {
      errors->Add(kUnhandledCriticalExtension, i,
                  absl::StrCat("unhandled critical extension(s): ",
                               absl::StrJoin(cert.unhandled_critical_extensions(), ", ")));
    }

    if (judge_issuance) CheckSignatureAlgorithm(cert, i, options_.algorithms, errors);
    CheckPublicKey(cert, i, options_.algorithms, errors);

    if (!is_leaf) {
      // Issuer checks (RFC 5280 6.1.4 (k), (n)).
      if (!cert.is_ca() && !(is_anchor && cert.version() < 3)) {
        errors->Add(kIssuerNotCa, i, "issuer lacks basicConstraints cA=TRUE");
      }
      if (cert.key_usage() && !(*cert.key_usage() & kKeyUsageKeyCertSign)) {
        errors->Add(kIssuerNoKeyCertSign, i, "issuer keyUsage lacks keyCertSign");
      }
      // RFC 5280 6.1.4 (l)-(m): pathLenConstraint counts the non-self-issued
      // intermediates below this certificate (the leaf is not one).
      if (cert.path_len() >= 0) {
        int below = 0;
        for (int j = 1; j < i; ++j) {
          if (!path[j].certificate->IsSelfIssued()) ++below;
        }
        if (below > cert.path_len()) {
          errors->Add(kPathLenExceeded, i,
                      absl::StrCat("pathLenConstraint ", cert.path_len(), " but ", below,
                                   " intermediate(s) below"));
        }
      }
      // Not RFC 5280: an EKU on a CA restricts what it may issue for.
      if (!crl_signer && cert.extended_key_usage() &&
          !EkuAllows(*cert.extended_key_usage(), purpose_, /*allow_any=*/true)) {
        errors->Add(kExtendedKeyUsageDisallowed, i,
                    absl::StrCat("issuer extendedKeyUsage does not allow ",
                                 PurposeName(purpose_)));
      }
    } else if (crl_signer) {
      // RFC 5280 6.3.3 (f), 4.2.1.3: the CRL signer's key may sign CRLs.
      if (cert.key_usage() && !(*cert.key_usage() & kKeyUsageCrlSign)) {
        errors->Add(kCrlSignerNoCrlSign, i, "the CRL signer's keyUsage lacks cRLSign");
      }
      if (path.back().anchor != crl_signer_anchor_) {
        errors->Add(kCrlSignerOtherAnchor, anchor_index,
                    "the CRL signer's path ends at another trust anchor than the "
                    "certificate's (RFC 5280 6.3.3 (f))");
      }
    } else {
      // The end-entity certificate (RFC 5280 4.2.1.12).
      if (cert.extended_key_usage() &&
          !EkuAllows(*cert.extended_key_usage(), purpose_, /*allow_any=*/!web_pki)) {
        errors->Add(kExtendedKeyUsageDisallowed, i,
                    absl::StrCat("leaf extendedKeyUsage does not allow ", PurposeName(purpose_)));
      }
      // An end entity's key must be usable for the handshake (RFC 5280 4.2.1.3;
      // RFC 8446 4.4.2.2 signatures, or RSA/ECDH key exchange in TLS 1.2). A CA
      // certificate ending the path (RFC 5280 profile only) is exempt: its
      // keyUsage describes what it may sign.
      constexpr uint32_t kTlsKeyUsages =
          kKeyUsageDigitalSignature | kKeyUsageKeyEncipherment | kKeyUsageKeyAgreement;
      if (!cert.is_ca() && cert.key_usage() && !(*cert.key_usage() & kTlsKeyUsages)) {
        errors->Add(kKeyUsageDisallowed, i,
                    "leaf keyUsage allows none of digitalSignature, keyEncipherment, "
                    "keyAgreement");
      }
      // RFC 5280 4.2.1.9 lets a CA certificate end a path; CA/B BR 7.1.2.7.8
      // forbids cA=TRUE in a TLS certificate, so that a subscriber cannot
      // issue. Where a pathLenConstraint above already leaves it no room to
      // certify anything, its cA bit is inert and the RFC 5280 note applies.
      if (web_pki && cert.is_ca() && LeafCouldIssue(path)) {
        errors->Add(kLeafIsCa, i,
                    "basicConstraints cA must be FALSE in a TLS certificate whose issuers "
                    "would let it issue (CA/B BR 7.1.2.7.8)");
      }
      if (peer_name_.kind != PeerName::Kind::kNone &&
          !LeafMatchesPeerName(cert, peer_name_, options_.profile)) {
        errors->Add(kNameMismatch, i, "the leaf does not name the expected peer");
      }
    }

    // Name constraints (RFC 5280 6.1.3 (b)-(c), 6.1.4 (g)): every CA above
    // this certificate constrains it, except when it is a self-issued
    // intermediate.
    if (!is_anchor && (is_leaf || !cert.IsSelfIssued())) {
      for (int j = i + 1; j < n; ++j) {
        if (!constraints[j]) continue;
        const size_t checks =
            NameCount(cert) * SubtreeCount(path[j].certificate->name_constraints());
        if (checks > kMaxNameConstraintChecks) {
          errors->Add(kNameConstraintsTooComplex, i,
                      absl::StrCat(checks, " name-constraint checks against certificate ", j,
                                   "; at most ", kMaxNameConstraintChecks));
          continue;
        }
        absl::Status permitted = constraints[j]->IsPermitted(cert, is_leaf, options_.profile);
        if (absl::IsInvalidArgument(permitted)) {
          // The constraints themselves are unusable under this profile.
          errors->Add(kNameConstraintsInvalid, j, std::string(permitted.message()));
        } else if (!permitted.ok()) {
          errors->Add(kNameConstraintViolation, i, std::string(permitted.message()));
        }
      }
    }
  }

  // Policy rules last, so a path failing for other reasons costs no
  // revocation work.
  if (rules_ != nullptr && !errors->HasError()) CheckPolicyRules(path, now, errors);
  if (crl_signer_path_rules_ != nullptr && !errors->HasError()) {
    crl_signer_path_rules_->CheckCrlSignerPath(path, now, errors);
  }

  // Certificate policies (RFC 5280 6.1.3 (d)-(f), 6.1.4, 6.1.5).
  std::vector<const Certificate*> certs;
  certs.reserve(n);
  for (const PathElement& e : path) certs.push_back(e.certificate.get());
  PolicyResult policies;
  ProcessCertificatePolicies(certs, PolicyOptions(), errors, &policies);
}

}  // namespace chainverify::pki
