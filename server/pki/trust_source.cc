#include "server/pki/trust_source.h"

#include <dirent.h>

#include <algorithm>
#include <cstdlib>
#include <set>
#include <utility>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/pki/file_util.h"
#include "server/pki/openssl_util.h"

namespace chainverify::pki {

const char* TrustSource::KindName(Kind kind) {
  switch (kind) {
    case Kind::kSystem: return "system";
    case Kind::kPemFile: return "pem_file";
    case Kind::kPemDirectory: return "pem_directory";
    case Kind::kInlinePem: return "inline_pem";
    case Kind::kMozillaCertdata: return "mozilla_certdata";
  }
  return "unknown";
}

bool IsValidUtf8(absl::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = s[i];
    int extra;
    uint32_t min;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      extra = 1, min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
      extra = 2, min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
      extra = 3, min = 0x10000;
    } else {
      return false;
    }
    if (i + extra >= s.size()) return false;
    uint32_t cp = c & (0x3f >> extra);
    for (int k = 1; k <= extra; ++k) {
      const unsigned char next = s[i + k];
      if ((next & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (next & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += extra + 1;
  }
  return true;
}

std::string TrustSource::Describe() const { return absl::StrCat(KindName(kind), ":", path); }

std::string PurposeTrust::Describe() const {
  const std::string after =
      distrust_after ? absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", *distrust_after, absl::UTCTimeZone())
                     : "";
  switch (level) {
    case Level::kTrusted:
      return distrust_after ? absl::StrCat("trusted, distrust after ", after) : "trusted";
    case Level::kNotTrusted:
      return distrust_after ? absl::StrCat("not trusted (distrust after ", after, ")")
                            : "not trusted";
    case Level::kDistrusted: return "distrusted";
  }
  return "unknown";
}

namespace {

// Appends the certificates of one PEM text to `out`, labelled `label`.
absl::Status AppendPem(absl::string_view pem, absl::string_view name, const std::string& label,
                       LoadedTrustSource* out) {
  std::unique_ptr<BIO, OpenSslDeleter<BIO, BIO_free_all>> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  int block = 0;
  for (;;) {
    char* type = nullptr;
    char* header = nullptr;
    unsigned char* data = nullptr;
    long len = 0;
    if (PEM_read_bio(bio.get(), &type, &header, &data, &len) != 1) {
      ERR_clear_error();  // End of input.
      break;
    }
    const bool is_cert = std::string(type) == PEM_STRING_X509 ||
                         std::string(type) == PEM_STRING_X509_OLD ||
                         std::string(type) == PEM_STRING_X509_TRUSTED;
    std::string der(reinterpret_cast<char*>(data), len);
    OPENSSL_free(type);
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
          absl::StrCat(name, ": PEM block ", block, " is not a certificate"));
    }
    der.resize(p - reinterpret_cast<const unsigned char*>(der.data()));
    ParseError error;
    CertificatePtr cert = Certificate::Parse(der, &error);
    if (cert == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          name, ": certificate ", block, ": ", error.id->name, ": ", error.diagnostic));
    }
    SourceCertificate entry;
    entry.certificate = std::move(cert);
    entry.label = label;
    out->certificates.push_back(std::move(entry));
  }
  return absl::OkStatus();
}

absl::Status AppendPemFile(const std::string& path, const std::string& label,
                           LoadedTrustSource* out) {
  absl::StatusOr<std::string> pem = ReadFileToString(path);
  if (!pem.ok()) return pem.status();
  return AppendPem(*pem, path, label, out);
}

absl::Status AppendPemDirectory(const std::string& path, LoadedTrustSource* out) {
  DIR* dir = opendir(path.c_str());
  if (dir == nullptr) return absl::NotFoundError(absl::StrCat("cannot open directory ", path));
  std::vector<std::string> files;
  while (dirent* entry = readdir(dir)) {
    std::string name = entry->d_name;
    if (absl::EndsWith(name, ".pem") || absl::EndsWith(name, ".crt")) files.push_back(name);
  }
  closedir(dir);
  std::sort(files.begin(), files.end());
  for (const std::string& file : files) {
    absl::Status status = AppendPemFile(absl::StrCat(path, "/", file), file, out);
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

// A certificate a source holds twice (a bundle and its hashed links in the
// same directory) counts once, first place kept.
LoadedTrustSource Deduplicated(LoadedTrustSource loaded) {
  std::set<std::string> seen;
  std::vector<SourceCertificate> unique;
  for (SourceCertificate& c : loaded.certificates) {
    if (seen.insert(c.certificate->sha256()).second) unique.push_back(std::move(c));
  }
  loaded.certificates = std::move(unique);
  return loaded;
}

}  // namespace

absl::StatusOr<LoadedTrustSource> LoadPem(absl::string_view pem, TrustSource source) {
  LoadedTrustSource out;
  out.source = std::move(source);
  absl::Status status = AppendPem(pem, out.source.path, "", &out);
  if (!status.ok()) return status;
  return Deduplicated(std::move(out));
}

absl::StatusOr<LoadedTrustSource> LoadPemFile(const std::string& path) {
  LoadedTrustSource out;
  out.source = {TrustSource::Kind::kPemFile, path};
  absl::Status status = AppendPemFile(path, "", &out);
  if (!status.ok()) return status;
  return Deduplicated(std::move(out));
}

absl::StatusOr<LoadedTrustSource> LoadPemDirectory(const std::string& path) {
  LoadedTrustSource out;
  out.source = {TrustSource::Kind::kPemDirectory, path};
  absl::Status status = AppendPemDirectory(path, &out);
  if (!status.ok()) return status;
  return Deduplicated(std::move(out));
}

absl::StatusOr<LoadedTrustSource> LoadSystemStore() {
  const char* file = std::getenv(X509_get_default_cert_file_env());
  LoadedTrustSource out;
  out.source = {TrustSource::Kind::kSystem, file != nullptr ? file : X509_get_default_cert_file()};
  absl::Status status = AppendPemFile(out.source.path, "", &out);
  if (!status.ok() && file != nullptr) return status;  // Asked for explicitly.
  if (const char* dir = std::getenv(X509_get_default_cert_dir_env())) {
    absl::Status dir_status = AppendPemDirectory(dir, &out);
    if (!dir_status.ok()) return dir_status;
  }
  if (out.certificates.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "no trust anchors found in the system store (", out.source.path,
        "); install ca-certificates or set SSL_CERT_FILE"));
  }
  return Deduplicated(std::move(out));
}

}  // namespace chainverify::pki
