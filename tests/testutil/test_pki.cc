#include "tests/testutil/test_pki.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "absl/base/const_init.h"
#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"

namespace chainverify::testing {
namespace {

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
template <typename T, void (*Free)(T*)>
using Ptr = std::unique_ptr<T, Deleter<T, Free>>;

using X509Ptr = Ptr<X509, X509_free>;
using NamePtr = Ptr<GENERAL_NAME, GENERAL_NAME_free>;
using TimePtr = Ptr<ASN1_TIME, ASN1_TIME_free>;
using IntegerPtr = Ptr<ASN1_INTEGER, ASN1_INTEGER_free>;
using OctetsPtr = Ptr<ASN1_OCTET_STRING, ASN1_OCTET_STRING_free>;
using BignumPtr = Ptr<BIGNUM, BN_free>;

#define TEST_PKI_RETURN_IF_ERROR(expr) \
  do {                                 \
    absl::Status status_ = (expr);     \
    if (!status_.ok()) return status_; \
  } while (0)

constexpr absl::StatusCode kBadSpec = absl::StatusCode::kInvalidArgument;

// A status carrying OpenSSL's error queue (which it clears).
absl::Status SslError(absl::string_view what,
                      absl::StatusCode code = absl::StatusCode::kInternal) {
  std::string msg(what);
  unsigned long err;
  while ((err = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(err, buf, sizeof(buf));
    absl::StrAppend(&msg, ": ", buf);
  }
  return absl::Status(code, msg);
}

// DER of `obj` from the matching i2d_* function.
template <typename T, typename I2d>
std::string ToDer(I2d i2d, T* obj) {
  unsigned char* buf = nullptr;
  int len = i2d(obj, &buf);
  std::string out;
  if (len > 0) out.assign(reinterpret_cast<char*>(buf), len);
  OPENSSL_free(buf);
  return out;
}

std::string Bytes(const ASN1_STRING* s) {
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     ASN1_STRING_length(s));
}

ASN1_OCTET_STRING* NewOctets(absl::string_view bytes) {
  ASN1_OCTET_STRING* out = ASN1_OCTET_STRING_new();
  ASN1_OCTET_STRING_set(
      out, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  return out;
}

TimePtr ToAsn1Time(absl::Time t) {
  return TimePtr(ASN1_TIME_set(nullptr, absl::ToTimeT(t)));
}

// `hex`, or when nullopt 16 random bytes.
absl::StatusOr<IntegerPtr> MakeSerial(const std::optional<std::string>& hex) {
  BIGNUM* bn = nullptr;
  if (!hex) {
    unsigned char buf[16];
    RAND_bytes(buf, sizeof(buf));
    // Top bit clear keeps it positive; the next bit set keeps all 16 bytes.
    buf[0] = (buf[0] & 0x7f) | 0x40;
    bn = BN_bin2bn(buf, sizeof(buf), nullptr);
  } else if (hex->empty() ||
             BN_hex2bn(&bn, hex->c_str()) != static_cast<int>(hex->size())) {
    BN_free(bn);
    return absl::InvalidArgumentError(absl::StrCat("bad serial hex: ", *hex));
  }
  BignumPtr owned(bn);
  return IntegerPtr(BN_to_ASN1_INTEGER(bn, nullptr));
}

// RFC 5280 4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits.
std::string PublicKeyId(const X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  X509_pubkey_digest(cert, EVP_sha1(), md, &len);
  return std::string(reinterpret_cast<char*>(md), len);
}

// The issuer's own SKI when it has one, so that AKI matches it exactly.
std::string KeyIdOf(X509* cert) {
  const ASN1_OCTET_STRING* ski = X509_get0_subject_key_id(cert);
  return ski == nullptr ? PublicKeyId(cert) : Bytes(ski);
}

Ptr<AUTHORITY_KEYID, AUTHORITY_KEYID_free> MakeAkid(const std::string& id) {
  Ptr<AUTHORITY_KEYID, AUTHORITY_KEYID_free> akid(AUTHORITY_KEYID_new());
  akid->keyid = NewOctets(id);
  return akid;
}

// Names are built directly rather than through config strings so that tests
// can put any bytes (commas, empty strings) in them.
NamePtr Ia5Name(int type, absl::string_view value) {
  ASN1_IA5STRING* str = ASN1_IA5STRING_new();
  ASN1_STRING_set(str, value.data(), value.size());
  NamePtr name(GENERAL_NAME_new());
  GENERAL_NAME_set0_value(name.get(), type, str);
  return name;
}

// "10.0.0.1" or, with `cidr`, "10.0.0.0/8" (encoded as address + mask).
absl::StatusOr<NamePtr> IpName(absl::string_view text, bool cidr) {
  std::string addr(text);
  int prefix = 0;
  if (cidr) {
    size_t slash = text.find('/');
    if (slash == absl::string_view::npos ||
        !absl::SimpleAtoi(text.substr(slash + 1), &prefix)) {
      return absl::InvalidArgumentError(absl::StrCat("bad CIDR: ", text));
    }
    addr = std::string(text.substr(0, slash));
  }
  OctetsPtr ip(a2i_IPADDRESS(addr.c_str()));
  if (ip == nullptr) {
    ERR_clear_error();
    return absl::InvalidArgumentError(absl::StrCat("bad IP address: ", text));
  }
  if (cidr) {
    int n = ASN1_STRING_length(ip.get());
    if (prefix < 0 || prefix > 8 * n) {
      return absl::InvalidArgumentError(absl::StrCat("bad prefix: ", text));
    }
    std::string bytes = Bytes(ip.get());
    for (int i = 0; i < n; ++i) {
      int bits = std::min(8, std::max(0, prefix - 8 * i));
      bytes.push_back(static_cast<char>((0xff00 >> bits) & 0xff));
    }
    ip.reset(NewOctets(bytes));
  }
  NamePtr name(GENERAL_NAME_new());
  GENERAL_NAME_set0_value(name.get(), GEN_IPADD, ip.release());
  return name;
}

// Fills *out with subtrees for `dns` and `ip`; leaves it null when both are
// empty so the field is absent.
absl::Status AddSubtrees(const std::vector<std::string>& dns,
                         const std::vector<std::string>& ip,
                         STACK_OF(GENERAL_SUBTREE)** out) {
  std::vector<NamePtr> names;
  for (const std::string& d : dns) names.push_back(Ia5Name(GEN_DNS, d));
  for (const std::string& i : ip) {
    absl::StatusOr<NamePtr> name = IpName(i, /*cidr=*/true);
    if (!name.ok()) return name.status();
    names.push_back(*std::move(name));
  }
  if (names.empty()) return absl::OkStatus();
  *out = sk_GENERAL_SUBTREE_new_null();
  for (NamePtr& name : names) {
    GENERAL_SUBTREE* subtree = GENERAL_SUBTREE_new();
    GENERAL_NAME_free(subtree->base);
    subtree->base = name.release();
    sk_GENERAL_SUBTREE_push(*out, subtree);
  }
  return absl::OkStatus();
}

absl::Status AddI2dExt(X509* x, int nid, void* value, bool critical) {
  return X509_add1_ext_i2d(x, nid, value, critical, X509V3_ADD_DEFAULT) == 1
             ? absl::OkStatus()
             : SslError(absl::StrCat("adding ", OBJ_nid2sn(nid)));
}

// An extension from OpenSSL config syntax, e.g. "critical,CA:TRUE".
absl::Status AddConfExt(X509* x, X509V3_CTX* ctx, int nid,
                        const std::string& value) {
  X509_EXTENSION* ext = X509V3_EXT_nconf_nid(nullptr, ctx, nid, value.c_str());
  if (ext == nullptr) {
    return SslError(absl::StrCat(OBJ_nid2sn(nid), " \"", value, "\""),
                    kBadSpec);
  }
  int ok = X509_add_ext(x, ext, -1);
  X509_EXTENSION_free(ext);
  return ok == 1 ? absl::OkStatus() : SslError("X509_add_ext");
}

absl::Status AddNameExtensions(const CertSpec& spec, X509* x) {
  if (!spec.dns_names.empty() || !spec.ip_addresses.empty() ||
      !spec.emails.empty() || !spec.uris.empty()) {
    Ptr<GENERAL_NAMES, GENERAL_NAMES_free> san(sk_GENERAL_NAME_new_null());
    for (const std::string& d : spec.dns_names) {
      sk_GENERAL_NAME_push(san.get(), Ia5Name(GEN_DNS, d).release());
    }
    for (const std::string& ip : spec.ip_addresses) {
      absl::StatusOr<NamePtr> name = IpName(ip, /*cidr=*/false);
      if (!name.ok()) return name.status();
      sk_GENERAL_NAME_push(san.get(), name->release());
    }
    for (const std::string& e : spec.emails) {
      sk_GENERAL_NAME_push(san.get(), Ia5Name(GEN_EMAIL, e).release());
    }
    for (const std::string& uri : spec.uris) {
      sk_GENERAL_NAME_push(san.get(), Ia5Name(GEN_URI, uri).release());
    }
    TEST_PKI_RETURN_IF_ERROR(
        AddI2dExt(x, NID_subject_alt_name, san.get(), false));
  }

  Ptr<NAME_CONSTRAINTS, NAME_CONSTRAINTS_free> nc(NAME_CONSTRAINTS_new());
  TEST_PKI_RETURN_IF_ERROR(AddSubtrees(spec.permitted_dns, spec.permitted_ip,
                                       &nc->permittedSubtrees));
  TEST_PKI_RETURN_IF_ERROR(
      AddSubtrees(spec.excluded_dns, spec.excluded_ip, &nc->excludedSubtrees));
  if (nc->permittedSubtrees != nullptr || nc->excludedSubtrees != nullptr) {
    TEST_PKI_RETURN_IF_ERROR(
        AddI2dExt(x, NID_name_constraints, nc.get(), true));
  }

  if (!spec.crl_distribution_points.empty()) {
    Ptr<CRL_DIST_POINTS, CRL_DIST_POINTS_free> dps(sk_DIST_POINT_new_null());
    for (const std::string& uri : spec.crl_distribution_points) {
      DIST_POINT* dp = DIST_POINT_new();
      dp->distpoint = DIST_POINT_NAME_new();
      dp->distpoint->type = 0;  // fullName
      dp->distpoint->name.fullname = sk_GENERAL_NAME_new_null();
      sk_GENERAL_NAME_push(dp->distpoint->name.fullname,
                           Ia5Name(GEN_URI, uri).release());
      sk_DIST_POINT_push(dps.get(), dp);
    }
    TEST_PKI_RETURN_IF_ERROR(
        AddI2dExt(x, NID_crl_distribution_points, dps.get(), false));
  }

  if (!spec.ocsp_urls.empty() || !spec.ca_issuers_urls.empty()) {
    Ptr<AUTHORITY_INFO_ACCESS, AUTHORITY_INFO_ACCESS_free> aia(
        sk_ACCESS_DESCRIPTION_new_null());
    auto add = [&](int method, const std::vector<std::string>& uris) {
      for (const std::string& uri : uris) {
        ACCESS_DESCRIPTION* ad = ACCESS_DESCRIPTION_new();
        ad->method = OBJ_nid2obj(method);
        GENERAL_NAME_free(ad->location);
        ad->location = Ia5Name(GEN_URI, uri).release();
        sk_ACCESS_DESCRIPTION_push(aia.get(), ad);
      }
    };
    add(NID_ad_OCSP, spec.ocsp_urls);
    add(NID_ad_ca_issuers, spec.ca_issuers_urls);
    TEST_PKI_RETURN_IF_ERROR(AddI2dExt(x, NID_info_access, aia.get(), false));
  }
  return absl::OkStatus();
}

// `issuer` is the issuing certificate, or `x` itself when self-signed.
absl::Status AddExtensions(const CertSpec& spec, X509* x, X509* issuer) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, x, nullptr, nullptr, 0);
  X509V3_set_ctx_nodb(&ctx);

  if (spec.include_basic_constraints) {
    std::string bc = spec.is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE";
    if (spec.path_len) absl::StrAppend(&bc, ",pathlen:", *spec.path_len);
    TEST_PKI_RETURN_IF_ERROR(AddConfExt(x, &ctx, NID_basic_constraints, bc));
  }
  std::string ku =
      spec.key_usage.value_or(spec.is_ca ? "critical,keyCertSign,cRLSign"
                                         : "critical,digitalSignature");
  if (!ku.empty()) {
    TEST_PKI_RETURN_IF_ERROR(AddConfExt(x, &ctx, NID_key_usage, ku));
  }
  if (spec.extended_key_usage) {
    TEST_PKI_RETURN_IF_ERROR(
        AddConfExt(x, &ctx, NID_ext_key_usage,
                   absl::StrJoin(*spec.extended_key_usage, ",")));
  }
  if (spec.include_subject_key_id) {
    OctetsPtr ski(NewOctets(PublicKeyId(x)));
    TEST_PKI_RETURN_IF_ERROR(
        AddI2dExt(x, NID_subject_key_identifier, ski.get(), false));
  }
  if (spec.include_authority_key_id) {
    // A certificate under construction is not read back (its extension cache
    // would be stale), so a self-signed one uses its key directly.
    std::string id = issuer == x ? PublicKeyId(x) : KeyIdOf(issuer);
    TEST_PKI_RETURN_IF_ERROR(
        AddI2dExt(x, NID_authority_key_identifier, MakeAkid(id).get(), false));
  }
  TEST_PKI_RETURN_IF_ERROR(AddNameExtensions(spec, x));
  if (!spec.certificate_policies.empty()) {
    // Built directly: the config form needs a config database.
    Ptr<CERTIFICATEPOLICIES, CERTIFICATEPOLICIES_free> policies(
        sk_POLICYINFO_new_null());
    for (const std::string& oid : spec.certificate_policies) {
      ASN1_OBJECT* obj = OBJ_txt2obj(oid.c_str(), 0);
      if (obj == nullptr) {
        return SslError(absl::StrCat("bad policy OID ", oid), kBadSpec);
      }
      POLICYINFO* info = POLICYINFO_new();
      ASN1_OBJECT_free(info->policyid);
      info->policyid = obj;
      sk_POLICYINFO_push(policies.get(), info);
    }
    TEST_PKI_RETURN_IF_ERROR(
        AddI2dExt(x, NID_certificate_policies, policies.get(), false));
  }
  for (const CertSpec::RawExtension& raw : spec.raw_extensions) {
    Ptr<ASN1_OBJECT, ASN1_OBJECT_free> oid(OBJ_txt2obj(raw.oid.c_str(), 1));
    if (oid == nullptr) {
      return SslError(absl::StrCat("bad OID ", raw.oid), kBadSpec);
    }
    OctetsPtr value(NewOctets(raw.der_value));
    Ptr<X509_EXTENSION, X509_EXTENSION_free> ext(X509_EXTENSION_create_by_OBJ(
        nullptr, oid.get(), raw.critical ? 1 : 0, value.get()));
    if (ext == nullptr || X509_add_ext(x, ext.get(), -1) != 1) {
      return SslError("raw extension");
    }
  }
  return absl::OkStatus();
}

absl::Status AddNameEntry(X509_NAME* name, const std::string& field,
                          const std::string& value) {
  if (X509_NAME_add_entry_by_txt(
          name, field.c_str(), MBSTRING_UTF8,
          reinterpret_cast<const unsigned char*>(value.data()), value.size(),
          -1, 0) != 1) {
    return SslError(absl::StrCat("name attribute ", field, "=", value),
                    kBadSpec);
  }
  return absl::OkStatus();
}

// Ed25519 signs without a separate digest.
absl::StatusOr<const EVP_MD*> DigestFor(EVP_PKEY* signer,
                                        const std::string& name) {
  if (EVP_PKEY_get_id(signer) == EVP_PKEY_ED25519) return nullptr;
  const EVP_MD* md = EVP_get_digestbyname(name.c_str());
  if (md == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("unknown digest ", name));
  }
  return md;
}

EVP_PKEY* GenerateKey(KeyType type) {
  switch (type) {
    case KeyType::kRsa2048:
      return EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048});
    case KeyType::kRsa1024:
      return EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{1024});
    case KeyType::kEcP256:
      return EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
    case KeyType::kEcP384:
      return EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384");
    case KeyType::kEd25519:
      return EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
    case KeyType::kRsa3072:
      return EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{3072});
    case KeyType::kRsa4096:
      return EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{4096});
    case KeyType::kEcP521:
      return EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-521");
  }
  return nullptr;
}

constexpr int kKeyTypes = 8;

// `x` serialized and parsed back, so that x509() is exactly what a verifier
// would see.
absl::StatusOr<TestCert> ParsedBack(X509* x, TestKey key, std::string cn) {
  TestCert cert;
  cert.der = ToDer(i2d_X509, x);
  const unsigned char* p =
      reinterpret_cast<const unsigned char*>(cert.der.data());
  X509* parsed = d2i_X509(nullptr, &p, cert.der.size());
  if (parsed == nullptr) {
    return SslError("d2i_X509");
  }
  cert.parsed.reset(parsed, X509_free);
  cert.key = std::move(key);
  cert.subject_cn = std::move(cn);
  return cert;
}

ABSL_CONST_INIT absl::Mutex g_key_cache_mu(absl::kConstInit);
// Never freed: keys live for the whole process.
TestKey* g_key_cache[kKeyTypes] ABSL_GUARDED_BY(g_key_cache_mu) = {};

}  // namespace

TestKey::TestKey(EVP_PKEY* pkey) : pkey_(pkey, EVP_PKEY_free) {}

TestKey TestKey::Generate(KeyType type, bool fresh) {
  auto make = [type] {
    EVP_PKEY* pkey = GenerateKey(type);
    if (pkey == nullptr) {
      std::fprintf(stderr, "TestKey::Generate(%d) failed: %s\n",
                   static_cast<int>(type),
                   SslError("keygen").ToString().c_str());
      std::abort();
    }
    return TestKey(pkey);
  };
  if (fresh) return make();
  absl::MutexLock lock(&g_key_cache_mu);
  TestKey*& cached = g_key_cache[static_cast<int>(type)];
  if (cached == nullptr) cached = new TestKey(make());
  return *cached;
}

std::string TestKey::PrivateKeyPem() const {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, get(), nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  std::string out(data, len);
  BIO_free(bio);
  return out;
}

std::string TestKey::SpkiDer() const { return ToDer(i2d_PUBKEY, pkey_.get()); }

CertSpec RootSpec(std::string cn) {
  CertSpec spec;
  spec.common_name = std::move(cn);
  spec.is_ca = true;
  return spec;
}

CertSpec IntermediateSpec(std::string cn) { return RootSpec(std::move(cn)); }

CertSpec LeafSpec(std::string cn, std::vector<std::string> dns_names) {
  CertSpec spec;
  spec.common_name = std::move(cn);
  spec.dns_names = std::move(dns_names);
  spec.extended_key_usage = {"serverAuth", "clientAuth"};
  spec.key_usage = "critical,digitalSignature";
  return spec;
}

CertSpec WithSerial(CertSpec spec, std::string serial_hex) {
  spec.serial_hex = std::move(serial_hex);
  return spec;
}

CertSpec WithKeyUsage(CertSpec spec, std::string key_usage) {
  spec.key_usage = std::move(key_usage);
  return spec;
}

std::string TestCert::pem() const { return DerToPem(der); }

std::string TestCert::serial_hex() const {
  BignumPtr bn(ASN1_INTEGER_to_BN(X509_get0_serialNumber(x509()), nullptr));
  char* hex = BN_bn2hex(bn.get());
  std::string out(hex);
  OPENSSL_free(hex);
  return out;
}

absl::StatusOr<TestCert> Issue(const CertSpec& spec, const TestCert* issuer,
                               std::optional<TestKey> key) {
  if (issuer != nullptr &&
      (issuer->x509() == nullptr || issuer->key.get() == nullptr)) {
    return absl::InvalidArgumentError("issuer has no certificate or key");
  }
  TestKey subject_key =
      key ? *key : TestKey::Generate(spec.key_type, /*fresh=*/true);
  EVP_PKEY* signer = issuer ? issuer->key.get() : subject_key.get();
  absl::StatusOr<const EVP_MD*> md = DigestFor(signer, spec.digest);
  if (!md.ok()) return md.status();

  X509Ptr x(X509_new());
  if (spec.version != 1 && spec.version != 3) {
    return absl::InvalidArgumentError(absl::StrCat("version ", spec.version));
  }
  X509_set_version(x.get(), spec.version == 1 ? X509_VERSION_1 : X509_VERSION_3);
  absl::StatusOr<IntegerPtr> serial = MakeSerial(spec.serial_hex);
  if (!serial.ok()) return serial.status();
  X509_set_serialNumber(x.get(), serial->get());
  if (X509_set1_notBefore(x.get(), ToAsn1Time(spec.not_before).get()) != 1 ||
      X509_set1_notAfter(x.get(), ToAsn1Time(spec.not_after).get()) != 1 ||
      X509_set_pubkey(x.get(), subject_key.get()) != 1) {
    return SslError("validity or public key");
  }

  X509_NAME* subject = X509_get_subject_name(x.get());
  for (const auto& [field, value] : spec.extra_subject) {
    TEST_PKI_RETURN_IF_ERROR(AddNameEntry(subject, field, value));
  }
  if (!spec.common_name.empty()) {
    TEST_PKI_RETURN_IF_ERROR(AddNameEntry(subject, "CN", spec.common_name));
  }
  if (spec.issuer_override) {
    Ptr<X509_NAME, X509_NAME_free> name(X509_NAME_new());
    TEST_PKI_RETURN_IF_ERROR(
        AddNameEntry(name.get(), "CN", *spec.issuer_override));
    X509_set_issuer_name(x.get(), name.get());
  } else {
    X509_set_issuer_name(
        x.get(), issuer ? X509_get_subject_name(issuer->x509()) : subject);
  }

  if (spec.version == 3) {
    TEST_PKI_RETURN_IF_ERROR(
        AddExtensions(spec, x.get(), issuer ? issuer->x509() : x.get()));
  }
  if (X509_sign(x.get(), signer, *md) <= 0) {
    return SslError(absl::StrCat("X509_sign with ", spec.digest), kBadSpec);
  }

  return ParsedBack(x.get(), std::move(subject_key), spec.common_name);
}

TestCert MustIssue(const CertSpec& spec, const TestCert* issuer,
                   std::optional<TestKey> key) {
  absl::StatusOr<TestCert> cert = Issue(spec, issuer, std::move(key));
  if (!cert.ok()) {
    std::fprintf(stderr, "MustIssue(\"%s\"): %s\n", spec.common_name.c_str(),
                 cert.status().ToString().c_str());
    std::abort();
  }
  return *std::move(cert);
}

absl::StatusOr<std::string> IssueCrl(
    const TestCert& issuer, const std::vector<std::string>& revoked_serial_hex,
    absl::Time this_update, absl::Time next_update, int64_t crl_number) {
  if (issuer.x509() == nullptr || issuer.key.get() == nullptr) {
    return absl::InvalidArgumentError("issuer has no certificate or key");
  }
  Ptr<X509_CRL, X509_CRL_free> crl(X509_CRL_new());
  X509_CRL_set_version(crl.get(), X509_CRL_VERSION_2);
  X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(issuer.x509()));
  TimePtr last = ToAsn1Time(this_update);
  X509_CRL_set1_lastUpdate(crl.get(), last.get());
  X509_CRL_set1_nextUpdate(crl.get(), ToAsn1Time(next_update).get());
  for (const std::string& hex : revoked_serial_hex) {
    absl::StatusOr<IntegerPtr> serial = MakeSerial(hex);
    if (!serial.ok()) return serial.status();
    X509_REVOKED* revoked = X509_REVOKED_new();
    X509_REVOKED_set_serialNumber(revoked, serial->get());
    X509_REVOKED_set_revocationDate(revoked, last.get());
    X509_CRL_add0_revoked(crl.get(), revoked);
  }
  X509_CRL_sort(crl.get());

  IntegerPtr number(ASN1_INTEGER_new());
  ASN1_INTEGER_set_int64(number.get(), crl_number);
  if (X509_CRL_add1_ext_i2d(crl.get(), NID_crl_number, number.get(), 0,
                            X509V3_ADD_DEFAULT) != 1 ||
      X509_CRL_add1_ext_i2d(crl.get(), NID_authority_key_identifier,
                            MakeAkid(KeyIdOf(issuer.x509())).get(), 0,
                            X509V3_ADD_DEFAULT) != 1) {
    return SslError("CRL extensions");
  }
  absl::StatusOr<const EVP_MD*> md = DigestFor(issuer.key.get(), "sha256");
  if (!md.ok()) return md.status();
  if (X509_CRL_sign(crl.get(), issuer.key.get(), *md) <= 0) {
    return SslError("X509_CRL_sign");
  }
  return ToDer(i2d_X509_CRL, crl.get());
}

namespace {

X509_EXTENSION* RawExt(const CertSpec::RawExtension& raw) {
  Ptr<ASN1_OBJECT, ASN1_OBJECT_free> obj(OBJ_txt2obj(raw.oid.c_str(), 1));
  Ptr<ASN1_OCTET_STRING, ASN1_OCTET_STRING_free> value(ASN1_OCTET_STRING_new());
  ASN1_OCTET_STRING_set(value.get(),
                        reinterpret_cast<const unsigned char*>(raw.der_value.data()),
                        static_cast<int>(raw.der_value.size()));
  return X509_EXTENSION_create_by_OBJ(nullptr, obj.get(), raw.critical, value.get());
}

GENERAL_NAMES* DirNameOf(const TestCert& cert) {
  GENERAL_NAMES* names = sk_GENERAL_NAME_new_null();
  GENERAL_NAME* name = GENERAL_NAME_new();
  name->type = GEN_DIRNAME;
  name->d.directoryName = X509_NAME_dup(X509_get_subject_name(cert.x509()));
  sk_GENERAL_NAME_push(names, name);
  return names;
}

}  // namespace

namespace {

Ptr<ASN1_INTEGER, ASN1_INTEGER_free> Int64(int64_t value) {
  Ptr<ASN1_INTEGER, ASN1_INTEGER_free> out(ASN1_INTEGER_new());
  ASN1_INTEGER_set_int64(out.get(), value);
  return out;
}

// One DistributionPoint of fullName `uris` and, when given, cRLIssuer.
CRL_DIST_POINTS* DistributionPoints(const std::vector<std::string>& uris,
                                    const TestCert* crl_issuer) {
  CRL_DIST_POINTS* points = sk_DIST_POINT_new_null();
  DIST_POINT* dp = DIST_POINT_new();
  if (!uris.empty()) {
    dp->distpoint = DIST_POINT_NAME_new();
    dp->distpoint->type = 0;
    dp->distpoint->name.fullname = sk_GENERAL_NAME_new_null();
    for (const std::string& uri : uris) {
      GENERAL_NAME* name = GENERAL_NAME_new();
      ASN1_IA5STRING* ia5 = ASN1_IA5STRING_new();
      ASN1_STRING_set(ia5, uri.data(), static_cast<int>(uri.size()));
      GENERAL_NAME_set0_value(name, GEN_URI, ia5);
      sk_GENERAL_NAME_push(dp->distpoint->name.fullname, name);
    }
  }
  if (crl_issuer != nullptr) dp->CRLissuer = DirNameOf(*crl_issuer);
  sk_DIST_POINT_push(points, dp);
  return points;
}

}  // namespace

absl::StatusOr<std::string> IssueCrl(const TestCert& issuer, const CrlSpec& spec) {
  Ptr<X509_CRL, X509_CRL_free> crl(X509_CRL_new());
  X509_CRL_set_version(crl.get(), spec.version);
  X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(issuer.x509()));
  X509_CRL_set1_lastUpdate(crl.get(), ToAsn1Time(spec.this_update).get());
  if (spec.next_update) {
    X509_CRL_set1_nextUpdate(crl.get(), ToAsn1Time(*spec.next_update).get());
  }
  for (const CrlEntrySpec& e : spec.entries) {
    X509_REVOKED* revoked = X509_REVOKED_new();
    BIGNUM* bn = nullptr;
    BN_hex2bn(&bn, e.serial_hex.c_str());
    Ptr<ASN1_INTEGER, ASN1_INTEGER_free> serial(BN_to_ASN1_INTEGER(bn, nullptr));
    BN_free(bn);
    X509_REVOKED_set_serialNumber(revoked, serial.get());
    X509_REVOKED_set_revocationDate(revoked, ToAsn1Time(spec.this_update).get());
    if (e.certificate_issuer != nullptr) {
      Ptr<GENERAL_NAMES, GENERAL_NAMES_free> names(DirNameOf(*e.certificate_issuer));
      X509_REVOKED_add1_ext_i2d(revoked, NID_certificate_issuer, names.get(), 1, 0);
    }
    if (e.reason) {
      Ptr<ASN1_ENUMERATED, ASN1_ENUMERATED_free> reason(ASN1_ENUMERATED_new());
      ASN1_ENUMERATED_set(reason.get(), *e.reason);
      X509_REVOKED_add1_ext_i2d(revoked, NID_crl_reason, reason.get(), 0, 0);
    }
    for (const CertSpec::RawExtension& raw : e.extensions) {
      X509_EXTENSION* ext = RawExt(raw);
      X509_REVOKED_add_ext(revoked, ext, -1);
      X509_EXTENSION_free(ext);
    }
    X509_CRL_add0_revoked(crl.get(), revoked);
  }
  if (spec.number) {
    X509_CRL_add1_ext_i2d(crl.get(), NID_crl_number, Int64(*spec.number).get(),
                          spec.number_critical, X509V3_ADD_DEFAULT);
  }
  if (spec.delta_base) {
    X509_CRL_add1_ext_i2d(crl.get(), NID_delta_crl, Int64(*spec.delta_base).get(),
                          spec.delta_critical, X509V3_ADD_DEFAULT);
  }
  if (spec.idp) {
    Ptr<ISSUING_DIST_POINT, ISSUING_DIST_POINT_free> idp(ISSUING_DIST_POINT_new());
    idp->onlyuser = spec.idp->only_user ? 0xff : 0;
    idp->onlyCA = spec.idp->only_ca ? 0xff : 0;
    idp->onlyattr = spec.idp->only_attribute ? 0xff : 0;
    idp->indirectCRL = spec.idp->indirect ? 0xff : 0;
    if (!spec.idp->only_some_reasons.empty()) {
      idp->onlysomereasons = ASN1_BIT_STRING_new();
      for (int bit : spec.idp->only_some_reasons) {
        ASN1_BIT_STRING_set_bit(idp->onlysomereasons, bit, 1);
      }
    }
    if (!spec.idp->uris.empty()) {
      idp->distpoint = DIST_POINT_NAME_new();
      idp->distpoint->type = 0;
      idp->distpoint->name.fullname = sk_GENERAL_NAME_new_null();
      for (const std::string& uri : spec.idp->uris) {
        GENERAL_NAME* name = GENERAL_NAME_new();
        ASN1_IA5STRING* ia5 = ASN1_IA5STRING_new();
        ASN1_STRING_set(ia5, uri.data(), static_cast<int>(uri.size()));
        GENERAL_NAME_set0_value(name, GEN_URI, ia5);
        sk_GENERAL_NAME_push(idp->distpoint->name.fullname, name);
      }
    }
    X509_CRL_add1_ext_i2d(crl.get(), NID_issuing_distribution_point, idp.get(), 1,
                          X509V3_ADD_DEFAULT);
  }
  if (!spec.freshest_urls.empty()) {
    Ptr<CRL_DIST_POINTS, CRL_DIST_POINTS_free> points(DistributionPoints(spec.freshest_urls, nullptr));
    X509_CRL_add1_ext_i2d(crl.get(), NID_freshest_crl, points.get(), 0, X509V3_ADD_DEFAULT);
  }
  for (const CertSpec::RawExtension& raw : spec.extensions) {
    X509_EXTENSION* ext = RawExt(raw);
    X509_CRL_add_ext(crl.get(), ext, -1);
    X509_EXTENSION_free(ext);
  }
  const TestCert& signer = spec.signer != nullptr ? *spec.signer : issuer;
  absl::StatusOr<const EVP_MD*> md = DigestFor(signer.key.get(), "sha256");
  if (!md.ok()) return md.status();
  if (X509_CRL_sign(crl.get(), signer.key.get(), *md) <= 0) return SslError("X509_CRL_sign");
  return ToDer(i2d_X509_CRL, crl.get());
}

std::string CrlDistributionPointsDer(const std::vector<std::string>& uris,
                                     const TestCert* crl_issuer) {
  Ptr<CRL_DIST_POINTS, CRL_DIST_POINTS_free> points(DistributionPoints(uris, crl_issuer));
  unsigned char* der = nullptr;
  const int len = i2d_CRL_DIST_POINTS(points.get(), &der);
  std::string out(reinterpret_cast<char*>(der), len > 0 ? len : 0);
  OPENSSL_free(der);
  return out;
}

absl::StatusOr<KeyType> KeyTypeOf(EVP_PKEY* key) {
  const int bits = EVP_PKEY_get_bits(key);
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_RSA:
      if (bits == 1024) return KeyType::kRsa1024;
      if (bits == 2048) return KeyType::kRsa2048;
      if (bits == 3072) return KeyType::kRsa3072;
      if (bits == 4096) return KeyType::kRsa4096;
      break;
    case EVP_PKEY_EC:
      if (bits == 256) return KeyType::kEcP256;
      if (bits == 384) return KeyType::kEcP384;
      if (bits == 521) return KeyType::kEcP521;
      break;
    case EVP_PKEY_ED25519:
      return KeyType::kEd25519;
  }
  return absl::UnimplementedError(absl::StrCat("no test key like ",
                                               OBJ_nid2sn(EVP_PKEY_get_base_id(key)),
                                               " of ", bits, " bits"));
}

absl::StatusOr<TestCert> Resign(absl::string_view der, TestKey key) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  X509Ptr x(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (x == nullptr) return SslError("d2i_X509");
  int digest_nid = NID_undef;
  int pkey_nid = NID_undef;
  if (!OBJ_find_sigid_algs(X509_get_signature_nid(x.get()), &digest_nid, &pkey_nid)) {
    return absl::UnimplementedError(absl::StrCat(
        "signature algorithm ", OBJ_nid2ln(X509_get_signature_nid(x.get())),
        " has no digest + key pair"));
  }
  const EVP_MD* md = nullptr;  // Ed25519 signs without a digest.
  if (digest_nid != NID_undef) {
    md = EVP_get_digestbynid(digest_nid);
    if (md == nullptr) {
      return absl::UnimplementedError(
          absl::StrCat("digest ", OBJ_nid2sn(digest_nid), " is not available"));
    }
  }
  // X509_sign marks the TBSCertificate modified, so it is re-encoded with the
  // new key; names keep their original encoding.
  if (X509_set_pubkey(x.get(), key.get()) != 1 ||
      X509_sign(x.get(), key.get(), md) <= 0) {
    return SslError(absl::StrCat("re-signing with ", md ? EVP_MD_get0_name(md) : "no digest"));
  }
  return ParsedBack(x.get(), std::move(key), "");
}

std::string Pkcs7CertsOnly(const std::vector<const TestCert*>& certs) {
  Ptr<PKCS7, PKCS7_free> p7(PKCS7_new());
  PKCS7_set_type(p7.get(), NID_pkcs7_signed);
  PKCS7_content_new(p7.get(), NID_pkcs7_data);
  for (const TestCert* cert : certs) PKCS7_add_certificate(p7.get(), cert->x509());
  return ToDer(i2d_PKCS7, p7.get());
}

std::string DerToPem(absl::string_view der, absl::string_view label) {
  Ptr<BIO, BIO_free_all> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio(bio.get(), std::string(label).c_str(), "",
                reinterpret_cast<const unsigned char*>(der.data()),
                static_cast<long>(der.size()));
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, len);
}

}  // namespace chainverify::testing
