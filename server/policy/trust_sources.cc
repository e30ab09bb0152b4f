#include "server/policy/trust_sources.h"

#include "absl/strings/str_cat.h"
#include "server/pki/certdata.h"

namespace chainverify::policy {
namespace {

pki::CertdataClientAuth ClientAuth(v1::TrustStore::CertdataClientAuth mode) {
  switch (mode) {
    case v1::TrustStore::CLIENT_AUTH_ATTRIBUTE:
      return pki::CertdataClientAuth::kClientAuthAttribute;
    case v1::TrustStore::NO_CLIENT_AUTH:
      return pki::CertdataClientAuth::kNone;
    default:
      return pki::CertdataClientAuth::kAsServerAuth;
  }
}

}  // namespace

std::string ResolvePolicyPath(const std::string& base_dir, const std::string& path) {
  if (path.empty() || path[0] == '/' || base_dir.empty()) return path;
  return absl::StrCat(base_dir, "/", path);
}

absl::StatusOr<pki::LoadedTrustSource> LoadTrustSource(const v1::TrustStore& source,
                                                       const std::string& base_dir) {
  if (source.certdata_client_auth() != v1::TrustStore::SERVER_AUTH_TRUST &&
      source.source_case() != v1::TrustStore::kMozillaCertdata) {
    return absl::InvalidArgumentError("certdata_client_auth is only for mozilla_certdata");
  }
  switch (source.source_case()) {
    case v1::TrustStore::kSystem:
      return pki::LoadSystemStore();
    case v1::TrustStore::kPemFile:
      return pki::LoadPemFile(ResolvePolicyPath(base_dir, source.pem_file()));
    case v1::TrustStore::kPemDirectory:
      return pki::LoadPemDirectory(ResolvePolicyPath(base_dir, source.pem_directory()));
    case v1::TrustStore::kInlinePem:
      return pki::LoadPem(source.inline_pem(), {pki::TrustSource::Kind::kInlinePem, "inline"});
    case v1::TrustStore::kMozillaCertdata: {
      pki::CertdataOptions options;
      options.path = ResolvePolicyPath(base_dir, source.mozilla_certdata());
      options.client_auth = ClientAuth(source.certdata_client_auth());
      return pki::LoadCertdataFile(options);
    }
    default:
      return absl::InvalidArgumentError("trust_stores entry with no source");
  }
}

}  // namespace chainverify::policy
