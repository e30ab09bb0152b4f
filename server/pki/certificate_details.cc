#include "server/pki/certificate_details.h"

#include <arpa/inet.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/x509v3.h>

#include "absl/strings/escaping.h"

namespace chainverify::pki {
namespace {

void SetTimestamp(absl::Time t, google::protobuf::Timestamp* out) {
  out->set_seconds(absl::ToUnixSeconds(t));
}

std::string Asn1StringToUtf8(const ASN1_STRING* s) {
  unsigned char* utf8 = nullptr;
  int len = ASN1_STRING_to_UTF8(&utf8, s);
  if (len < 0) return "";
  std::string out(reinterpret_cast<char*>(utf8), len);
  OPENSSL_free(utf8);
  return out;
}

void AddAttributes(X509_NAME* name,
                   google::protobuf::RepeatedPtrField<v1::NameAttribute>* out) {
  for (int i = 0; i < X509_NAME_entry_count(name); ++i) {
    X509_NAME_ENTRY* entry = X509_NAME_get_entry(name, i);
    const ASN1_OBJECT* obj = X509_NAME_ENTRY_get_object(entry);
    v1::NameAttribute* attr = out->Add();
    const int nid = OBJ_obj2nid(obj);
    if (nid != NID_undef) {
      attr->set_type(OBJ_nid2sn(nid));
    } else {
      char buf[128];
      OBJ_obj2txt(buf, sizeof(buf), obj, 1);
      attr->set_type(buf);
    }
    attr->set_value(Asn1StringToUtf8(X509_NAME_ENTRY_get_data(entry)));
  }
}

// URLs from authorityInfoAccess (RFC 5280 4.2.2.1).
void AddAccessUrls(X509* x, v1::CertificateDetails* out) {
  auto* aia = static_cast<AUTHORITY_INFO_ACCESS*>(
      X509_get_ext_d2i(x, NID_info_access, nullptr, nullptr));
  if (aia == nullptr) return;
  for (int i = 0; i < sk_ACCESS_DESCRIPTION_num(aia); ++i) {
    ACCESS_DESCRIPTION* ad = sk_ACCESS_DESCRIPTION_value(aia, i);
    if (ad->location->type != GEN_URI) continue;
    std::string url = Asn1StringToUtf8(ad->location->d.uniformResourceIdentifier);
    const int method = OBJ_obj2nid(ad->method);
    if (method == NID_ad_OCSP) out->add_ocsp_urls(url);
    if (method == NID_ad_ca_issuers) out->add_ca_issuers_urls(url);
  }
  AUTHORITY_INFO_ACCESS_free(aia);
}

v1::CertificateError ToProto(const CertError& e) {
  v1::CertificateError out;
  out.set_id(e.id->name);
  out.set_status(e.id->status);
  out.set_severity(e.severity == Severity::kError ? v1::CertificateError::ERROR
                                                  : v1::CertificateError::WARNING);
  out.set_chain_index(e.chain_index);
  out.set_request_index(e.request_index);
  out.set_diagnostic(e.diagnostic);
  return out;
}

// Everything CertificateDetails says that depends on the certificate alone.
void RenderDetails(const Certificate& cert, v1::CertificateDetails* out) {
  X509* x = cert.x509();
  out->set_der(cert.der());
  out->set_subject(NameToString(cert.subject()));
  out->set_issuer(NameToString(cert.issuer()));
  AddAttributes(cert.subject(), out->mutable_subject_attributes());
  AddAttributes(cert.issuer(), out->mutable_issuer_attributes());
  if (BIGNUM* serial = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), nullptr)) {
    char* hex = BN_bn2hex(serial);
    out->set_serial_number(hex);
    OPENSSL_free(hex);
    BN_free(serial);
  }
  out->set_version(cert.version());
  SetTimestamp(cert.not_before(), out->mutable_not_before());
  SetTimestamp(cert.not_after(), out->mutable_not_after());

  const GeneralNames& sans = cert.subject_alt_names();
  auto add_san = [out](v1::SubjectAltName::Kind kind, std::string value) {
    v1::SubjectAltName* san = out->add_subject_alt_names();
    san->set_kind(kind);
    san->set_value(std::move(value));
  };
  for (const std::string& dns : sans.dns_names) add_san(v1::SubjectAltName::DNS, dns);
  for (const std::string& ip : sans.ip_addresses) {
    add_san(v1::SubjectAltName::IP_ADDRESS, IpAddressToString(ip));
  }
  for (const std::string& uri : sans.uris) add_san(v1::SubjectAltName::URI, uri);
  for (const std::string& email : sans.emails) add_san(v1::SubjectAltName::EMAIL, email);
  for (const std::string& der : sans.directory_names) {
    const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
    X509NamePtr name(d2i_X509_NAME(nullptr, &p, static_cast<long>(der.size())));
    if (name) add_san(v1::SubjectAltName::DIRECTORY_NAME, NameToString(name.get()));
  }
  for (int i = 0; i < sans.other_names + sans.registered_ids; ++i) {
    add_san(v1::SubjectAltName::OTHER, "");
  }

  out->set_sha256(HexEncode(cert.sha256()));
  out->set_spki_sha256(absl::Base64Escape(cert.spki_sha256()));
  AddAccessUrls(x, out);
  for (std::string& url : CrlDistributionPointUrls(cert)) {
    out->add_crl_distribution_points(std::move(url));
  }
  out->set_is_ca(cert.is_ca());
  out->set_signature_algorithm(OBJ_nid2ln(cert.signature_nid()));
  out->set_public_key_algorithm(OBJ_nid2sn(EVP_PKEY_get_base_id(cert.public_key())));
  out->set_public_key_bits(EVP_PKEY_get_bits(cert.public_key()));
}

}  // namespace

void DescribeTrustSource(const TrustSource& source, const std::string& label,
                         v1::TrustSource* out) {
  switch (source.kind) {
    case TrustSource::Kind::kSystem: out->set_kind(v1::TrustSource::SYSTEM); break;
    case TrustSource::Kind::kPemFile: out->set_kind(v1::TrustSource::PEM_FILE); break;
    case TrustSource::Kind::kPemDirectory: out->set_kind(v1::TrustSource::PEM_DIRECTORY); break;
    case TrustSource::Kind::kInlinePem: out->set_kind(v1::TrustSource::INLINE_PEM); break;
    case TrustSource::Kind::kMozillaCertdata:
      out->set_kind(v1::TrustSource::MOZILLA_CERTDATA);
      break;
  }
  // File names need not be UTF-8; proto3 strings must be.
  out->set_path(IsValidUtf8(source.path) ? source.path : absl::CHexEscape(source.path));
  out->set_label(IsValidUtf8(label) ? label : absl::CHexEscape(label));
}

v1::RevocationResult::State ToProto(RevocationNote::State state) {
  switch (state) {
    case RevocationNote::State::kGood: return v1::RevocationResult::GOOD;
    case RevocationNote::State::kRevoked: return v1::RevocationResult::REVOKED;
    case RevocationNote::State::kUnknown: return v1::RevocationResult::UNKNOWN;
  }
  return v1::RevocationResult::UNKNOWN;
}

v1::IssuerFetch::Outcome ToProto(IssuerFetchNote::Outcome outcome) {
  switch (outcome) {
    case IssuerFetchNote::Outcome::kFetched: return v1::IssuerFetch::FETCHED;
    case IssuerFetchNote::Outcome::kCached: return v1::IssuerFetch::CACHED;
    case IssuerFetchNote::Outcome::kFailed: return v1::IssuerFetch::FAILED;
  }
  return v1::IssuerFetch::FAILED;
}

namespace {

// The fields of `entry`'s CertificateDetails that depend on the path, not on
// the certificate: where it came from and, for an anchor, the trust sources
// holding it. RenderDetails sets none of them.
void DescribePlace(const ChainEntry& entry, v1::CertificateDetails* out) {
  switch (entry.source) {
    case CertificateSource::kUpload: out->set_source(v1::REQUEST); break;
    case CertificateSource::kTrustStore: out->set_source(v1::TRUST_STORE); break;
    case CertificateSource::kIntermediateStore: out->set_source(v1::INTERMEDIATE_STORE); break;
    case CertificateSource::kAiaFetch:
      out->set_source(v1::AIA_FETCH);
      out->set_fetched_from(*entry.fetched_from);
      break;
  }
  out->set_request_index(entry.request_index);
  if (entry.anchor != nullptr) {
    for (const AnchorOrigin& origin : entry.anchor->origins) {
      DescribeTrustSource(*origin.source, origin.label, out->add_trust_sources());
    }
  }
}

// FillVerdict but for the chain.
void FillVerdictButChain(const VerifyResult& result, v1::VerifyResponse* response) {
  response->set_verdict(result.trusted ? v1::TRUSTED : v1::REJECTED);
  response->set_status(result.status);
  for (int i : result.unused_request_indices) response->add_unused_certificate_indices(i);
  for (const CertError& e : result.errors) *response->add_errors() = ToProto(e);
  for (const RevocationNote& note : result.revocation) {
    v1::RevocationResult* out = response->add_revocation();
    out->set_chain_index(note.chain_index);
    out->set_state(ToProto(note.state));
    out->set_source(note.source);
    out->set_detail(note.detail);
  }
  for (const IssuerFetchNote& note : result.issuer_fetches) {
    v1::IssuerFetch* out = response->add_issuer_fetches();
    out->set_url(note.url);
    out->set_outcome(ToProto(note.outcome));
    for (const std::string& sha256 : note.certificate_sha256) out->add_certificate_sha256(sha256);
    out->set_diagnostic(note.diagnostic);
  }
}

// Protocol buffers' base-128 varint (protobuf.dev/programming-guides/encoding).
void AppendVarint(uint64_t value, std::string* out) {
  while (value >= 0x80) {
    out->push_back(static_cast<char>((value & 0x7F) | 0x80));
    value >>= 7;
  }
  out->push_back(static_cast<char>(value));
}

}  // namespace

void DescribeCertificate(const ChainEntry& entry, v1::CertificateDetails* out) {
  // Rendered once per certificate (Certificate::DetailsBytes).
  out->ParseFromString(entry.certificate->DetailsBytes(RenderDetails));
  DescribePlace(entry, out);
}

void FillVerdict(const VerifyResult& result, v1::VerifyResponse* response) {
  FillVerdictButChain(result, response);
  auto* chain = result.trusted ? response->mutable_verified_chain()
                               : response->mutable_best_attempted_chain();
  for (const ChainEntry& entry : result.chain) DescribeCertificate(entry, chain->Add());
}

std::shared_ptr<const RenderedVerdict> RenderVerdict(const VerifyResult& result) {
  // FillVerdict's message, serialized without building it: each chain
  // certificate is its kept details bytes followed by its place in the path
  // (a message's fields may come in any order, and a field met twice merges),
  // as one length-delimited element of the chain field.
  auto render = [&result](RenderedVerdict* out) {
    v1::VerifyResponse rest;
    FillVerdictButChain(result, &rest);
    out->bytes = rest.SerializeAsString();
    const uint32_t chain_field = result.trusted ? v1::VerifyResponse::kVerifiedChainFieldNumber
                                                : v1::VerifyResponse::kBestAttemptedChainFieldNumber;
    for (const ChainEntry& entry : result.chain) {
      const std::string& details = entry.certificate->DetailsBytes(RenderDetails);
      v1::CertificateDetails place;
      DescribePlace(entry, &place);
      const std::string place_bytes = place.SerializeAsString();
      AppendVarint(chain_field << 3 | 2, &out->bytes);  // Wire type 2: length-delimited.
      AppendVarint(details.size() + place_bytes.size(), &out->bytes);
      out->bytes.append(details);
      out->bytes.append(place_bytes);
    }
  };
  if (result.rendered != nullptr) {
    // Shares the cached result's ownership.
    return std::shared_ptr<const RenderedVerdict>(result.rendered, &result.rendered->Get(render));
  }
  auto fresh = std::make_shared<RenderedVerdict>();
  render(fresh.get());
  return fresh;
}

}  // namespace chainverify::pki
