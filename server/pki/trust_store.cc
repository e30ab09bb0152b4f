#include "server/pki/trust_store.h"

#include <algorithm>
#include <utility>

#include <openssl/x509.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "server/pki/openssl_util.h"

namespace chainverify::pki {
namespace {

using Level = PurposeTrust::Level;

// What two sources say together (see the top of trust_store.h).
PurposeTrust Merge(const PurposeTrust& a, const PurposeTrust& b) {
  if (a.level == Level::kDistrusted || b.level == Level::kDistrusted) {
    return {Level::kDistrusted, std::nullopt};
  }
  if (a.level != Level::kTrusted) return b;
  if (b.level != Level::kTrusted) return a;
  PurposeTrust out;
  if (a.distrust_after && b.distrust_after) {
    out.distrust_after = std::max(*a.distrust_after, *b.distrust_after);
  }
  return out;
}

std::string ToDer(X509_NAME* name) {
  unsigned char* der = nullptr;
  const int len = i2d_X509_NAME(name, &der);
  if (len <= 0) return "";
  std::string out(reinterpret_cast<char*>(der), len);
  OPENSSL_free(der);
  return out;
}

std::string ToDer(const ASN1_INTEGER* serial) {
  unsigned char* der = nullptr;
  const int len = i2d_ASN1_INTEGER(serial, &der);
  if (len <= 0) return "";
  std::string out(reinterpret_cast<char*>(der), len);
  OPENSSL_free(der);
  return out;
}

}  // namespace

std::string AnchorOrigin::Describe() const {
  std::string out = source->Describe();
  if (!label.empty()) absl::StrAppend(&out, " \"", label, "\"");
  return out;
}

const AnchorOrigin* TrustAnchor::OriginWith(KeyPurpose purpose, PurposeTrust::Level level) const {
  for (const AnchorOrigin& origin : origins) {
    const PurposeTrust& t =
        purpose == KeyPurpose::kServerAuth ? origin.server_auth : origin.client_auth;
    if (t.level == level) return &origin;
  }
  return nullptr;
}

std::string TrustStore::DistrustKey(const Certificate& cert) {
  return ToDer(cert.issuer()) + ToDer(X509_get0_serialNumber(cert.x509()));
}

void TrustStore::AddSource(const LoadedTrustSource& loaded) {
  auto summary = std::make_unique<LoadedSourceSummary>();
  summary->source = loaded.source;
  const TrustSource* source = &summary->source;
  for (const DistrustRecord& record : loaded.distrust) {
    distrust_.emplace(record.issuer_der + record.serial_der, record);
  }
  summary->distrusted = static_cast<int>(loaded.distrust.size());
  for (const SourceCertificate& entry : loaded.certificates) {
    ++summary->certificates;
    summary->server_auth_anchors += entry.server_auth.level == Level::kTrusted;
    summary->client_auth_anchors += entry.client_auth.level == Level::kTrusted;
    summary->distrust_after +=
        entry.server_auth.distrust_after.has_value() || entry.client_auth.distrust_after.has_value();
    AnchorOrigin origin{source, entry.label, entry.server_auth, entry.client_auth,
                        entry.email_protection};
    auto existing = by_der_sha256_.find(entry.certificate->sha256());
    if (existing != by_der_sha256_.end()) {
      TrustAnchor* anchor = existing->second;
      anchor->server_auth = Merge(anchor->server_auth, entry.server_auth);
      anchor->client_auth = Merge(anchor->client_auth, entry.client_auth);
      anchor->origins.push_back(std::move(origin));
      continue;
    }
    auto anchor = std::make_unique<TrustAnchor>();
    anchor->certificate = entry.certificate;
    anchor->server_auth = entry.server_auth;
    anchor->client_auth = entry.client_auth;
    anchor->origins.push_back(std::move(origin));
    by_subject_.emplace(anchor->certificate->subject_hash(), anchor.get());
    by_der_sha256_.emplace(anchor->certificate->sha256(), anchor.get());
    anchors_.push_back(std::move(anchor));
  }
  sources_.push_back(std::move(summary));
  // Records of this source reach anchors of earlier ones, and the reverse.
  if (!distrust_.empty()) {
    for (auto& anchor : anchors_) ApplyDistrust(anchor.get());
  }
}

void TrustStore::Add(CertificatePtr certificate, std::string origin) {
  LoadedTrustSource loaded;
  loaded.source = {TrustSource::Kind::kInlinePem, std::move(origin)};
  SourceCertificate entry;
  entry.certificate = std::move(certificate);
  loaded.certificates.push_back(std::move(entry));
  AddSource(loaded);
}

absl::Status TrustStore::AddPem(absl::string_view pem, absl::string_view origin) {
  absl::StatusOr<LoadedTrustSource> loaded =
      LoadPem(pem, {TrustSource::Kind::kInlinePem, std::string(origin)});
  if (!loaded.ok()) return loaded.status();
  AddSource(*loaded);
  return absl::OkStatus();
}

void TrustStore::ApplyDistrust(TrustAnchor* anchor) const {
  auto range = distrust_.equal_range(DistrustKey(*anchor->certificate));
  for (auto it = range.first; it != range.second; ++it) {
    if (it->second.server_auth) anchor->server_auth = {Level::kDistrusted, std::nullopt};
    if (it->second.client_auth) anchor->client_auth = {Level::kDistrusted, std::nullopt};
  }
}

const DistrustRecord* TrustStore::FindDistrust(const Certificate& cert, KeyPurpose purpose) const {
  if (distrust_.empty()) return nullptr;
  auto range = distrust_.equal_range(DistrustKey(cert));
  for (auto it = range.first; it != range.second; ++it) {
    if (purpose == KeyPurpose::kServerAuth ? it->second.server_auth : it->second.client_auth) {
      return &it->second;
    }
  }
  return nullptr;
}

size_t TrustStore::anchor_count() const {
  return std::count_if(anchors_.begin(), anchors_.end(),
                       [](const auto& a) { return a->IsAnchor(); });
}

bool TrustStore::Matches(const TrustAnchor& anchor, const std::string& id) const {
  const Certificate& cert = *anchor.certificate;
  return id == HexEncode(cert.sha256()) || id == absl::Base64Escape(cert.spki_sha256());
}

void TrustStore::Reindex() {
  by_subject_.clear();
  by_der_sha256_.clear();
  for (const auto& anchor : anchors_) {
    by_subject_.emplace(anchor->certificate->subject_hash(), anchor.get());
    by_der_sha256_.emplace(anchor->certificate->sha256(), anchor.get());
  }
}

size_t TrustStore::Remove(const std::string& id) {
  const size_t before = anchors_.size();
  anchors_.erase(std::remove_if(anchors_.begin(), anchors_.end(),
                                [&](const auto& a) { return Matches(*a, id); }),
                 anchors_.end());
  Reindex();
  return before - anchors_.size();
}

size_t TrustStore::Constrain(const std::string& id, const AnchorConstraints& constraints) {
  size_t matched = 0;
  for (auto& anchor : anchors_) {
    if (Matches(*anchor, id)) {
      anchor->constraints = constraints;
      ++matched;
    }
  }
  return matched;
}

std::vector<const TrustAnchor*> TrustStore::FindBySubject(X509_NAME* name,
                                                          uint64_t name_hash) const {
  std::vector<const TrustAnchor*> out;
  auto range = by_subject_.equal_range(name_hash);
  for (auto it = range.first; it != range.second; ++it) {
    if (X509_NAME_cmp(it->second->certificate->subject(), name) == 0) {
      out.push_back(it->second);
    }
  }
  return out;
}

const TrustAnchor* TrustStore::FindAnchorFor(const Certificate& cert) const {
  auto exact = by_der_sha256_.find(cert.sha256());
  if (exact != by_der_sha256_.end()) return exact->second;
  for (const TrustAnchor* anchor : FindBySubject(cert.subject(), cert.subject_hash())) {
    if (anchor->certificate->spki_der() == cert.spki_der()) return anchor;
  }
  return nullptr;
}

}  // namespace chainverify::pki
