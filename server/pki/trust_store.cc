#include "server/pki/trust_store.h"

#include <dirent.h>

#include <algorithm>
#include <cstdlib>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/pki/file_util.h"

namespace chainverify::pki {
void TrustStore::Add(CertificatePtr certificate, std::string origin) {
  if (by_der_sha256_.count(certificate->sha256())) return;
  auto anchor = std::make_unique<TrustAnchor>();
  anchor->certificate = std::move(certificate);
  anchor->origin = std::move(origin);
  const TrustAnchor* raw = anchor.get();
  by_subject_.emplace(raw->certificate->subject_hash(), raw);
  by_der_sha256_.emplace(raw->certificate->sha256(), raw);
  anchors_.push_back(std::move(anchor));
}

absl::Status TrustStore::AddPem(absl::string_view pem, absl::string_view origin) {
  std::unique_ptr<BIO, OpenSslDeleter<BIO, BIO_free_all>> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  int block = 0;
  for (;;) {
    char* name = nullptr;
    char* header = nullptr;
    unsigned char* data = nullptr;
    long len = 0;
    if (PEM_read_bio(bio.get(), &name, &header, &data, &len) != 1) {
      ERR_clear_error();  // End of input.
      break;
    }
    const bool is_cert = std::string(name) == PEM_STRING_X509 ||
                         std::string(name) == PEM_STRING_X509_OLD ||
                         std::string(name) == PEM_STRING_X509_TRUSTED;
    std::string der(reinterpret_cast<char*>(data), len);
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(data);
    ++block;
    if (!is_cert) continue;
    // "TRUSTED CERTIFICATE" blocks carry OpenSSL trust settings after the
    // certificate; only the certificate itself is used.
    const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
    X509Ptr x(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
    if (x == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat(origin, ": PEM block ", block, " is not a certificate"));
    }
    der.resize(p - reinterpret_cast<const unsigned char*>(der.data()));
    ParseError error;
    CertificatePtr cert = Certificate::Parse(der, &error);
    if (cert == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          origin, ": certificate ", block, ": ", error.id->name, ": ", error.diagnostic));
    }
    Add(std::move(cert), std::string(origin));
  }
  return absl::OkStatus();
}

absl::Status TrustStore::AddPemFile(const std::string& path) {
  absl::StatusOr<std::string> pem = ReadFileToString(path);
  if (!pem.ok()) return pem.status();
  return AddPem(*pem, path);
}

absl::Status TrustStore::AddPemDirectory(const std::string& path) {
  DIR* dir = opendir(path.c_str());
  if (dir == nullptr) return absl::NotFoundError(absl::StrCat("cannot open directory ", path));
  std::vector<std::string> files;
  while (dirent* entry = readdir(dir)) {
    std::string name = entry->d_name;
    if (absl::EndsWith(name, ".pem") || absl::EndsWith(name, ".crt")) {
      files.push_back(absl::StrCat(path, "/", name));
    }
  }
  closedir(dir);
  std::sort(files.begin(), files.end());
  for (const std::string& file : files) {
    absl::Status status = AddPemFile(file);
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

absl::Status TrustStore::AddSystemStore() {
  const size_t before = size();
  const char* file = std::getenv(X509_get_default_cert_file_env());
  std::string bundle = file != nullptr ? file : X509_get_default_cert_file();
  absl::Status status = AddPemFile(bundle);
  if (!status.ok() && file != nullptr) return status;  // Asked for explicitly.
  if (const char* dir = std::getenv(X509_get_default_cert_dir_env())) {
    absl::Status dir_status = AddPemDirectory(dir);
    if (!dir_status.ok()) return dir_status;
  }
  if (size() == before) {
    return absl::FailedPreconditionError(absl::StrCat(
        "no trust anchors found in the system store (", bundle,
        "); install ca-certificates or set SSL_CERT_FILE"));
  }
  return absl::OkStatus();
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
