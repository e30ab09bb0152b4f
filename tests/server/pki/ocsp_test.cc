// Tests of OCSP response checking (RFC 6960). The PKI is built at test time
// with test_pki; OCSP responses are built here with OpenSSL's responder-side
// functions (OCSP_basic_add1_status, OCSP_basic_sign, OCSP_response_create).
// The last tests judge the delegated responder through VerifyChain.
#include "server/pki/ocsp.h"

#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "absl/strings/escaping.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "server/pki/certificate.h"
#include "server/pki/crl.h"
#include "server/pki/denylist.h"
#include "server/pki/policy_rules.h"
#include "server/pki/trust_store.h"
#include "server/pki/verifier.h"
#include "tests/testutil/parsed_certificate.h"
#include "tests/testutil/test_pki.h"

namespace chainverify::pki {
namespace {

using ::chainverify::testing::CertSpec;
using ::chainverify::testing::IntermediateSpec;
using ::chainverify::testing::LeafSpec;
using ::chainverify::testing::MustIssue;
using ::chainverify::testing::Parsed;
using ::chainverify::testing::RootSpec;
using ::chainverify::testing::TestCert;
using ::chainverify::testing::WithSerial;

const absl::Time kNow = absl::FromUnixSeconds(1750000000);  // 2025-06-15
const absl::Time kThisUpdate = kNow - absl::Hours(1);
const absl::Time kNextUpdate = kNow + absl::Hours(24 * 7);
constexpr char kLeafSerial[] = "1001";
constexpr char kOtherSerial[] = "2002";
constexpr char kOcspUrl[] = "http://ocsp.example/";
constexpr char kOcspNoCheckOid[] = "1.3.6.1.5.5.7.48.1.5";
constexpr char kResponderCrlUrl[] = "http://crl.example/responders.crl";

template <typename T, void (*Free)(T*)>
using Ptr = std::unique_ptr<T, OpenSslDeleter<T, Free>>;

// A delegated responder spec: an end entity with the given EKU.
CertSpec ResponderSpec(std::string cn,
                       std::optional<std::vector<std::string>> eku = {{"OCSPSigning"}}) {
  CertSpec spec;
  spec.common_name = std::move(cn);
  spec.extended_key_usage = std::move(eku);
  return spec;
}

// CA issues the leaf and the delegated responders; Other CA, a sibling under
// the same root, issues a responder of its own.
struct Pki {
  Pki() {
    CertSpec leaf_spec = WithSerial(LeafSpec("leaf", {"leaf.example"}), kLeafSerial);
    leaf_spec.ocsp_urls = {kOcspUrl, "https://ocsp2.example/path",
                           "ldap://ldap.example/cn=CA"};
    leaf_spec.ca_issuers_urls = {"http://ca.example/ca.crt"};
    leaf = MustIssue(leaf_spec, &ca);

    CertSpec nocheck_spec = ResponderSpec("Responder nocheck");
    nocheck_spec.raw_extensions.push_back(
        {kOcspNoCheckOid, /*critical=*/false, std::string("\x05\x00", 2)});
    responder_nocheck = MustIssue(nocheck_spec, &ca);

    CertSpec expired_spec = ResponderSpec("Responder expired");
    expired_spec.not_after = kNow - absl::Hours(24);
    responder_expired = MustIssue(expired_spec, &ca);

    CertSpec no_ds_spec = ResponderSpec("Responder keyEncipherment");
    no_ds_spec.key_usage = "critical,keyEncipherment";
    responder_no_digital_signature = MustIssue(no_ds_spec, &ca);

    CertSpec with_crl_dp_spec = ResponderSpec("Responder with CRL DP");
    with_crl_dp_spec.crl_distribution_points = {kResponderCrlUrl};
    responder_with_crl_dp = MustIssue(with_crl_dp_spec, &ca);
  }

  TestCert root = MustIssue(RootSpec("Root"), nullptr);
  TestCert ca = MustIssue(IntermediateSpec("CA"), &root);
  TestCert other_ca = MustIssue(IntermediateSpec("Other CA"), &root);
  TestCert leaf;
  TestCert leaf_without_aia =
      MustIssue(WithSerial(LeafSpec("leaf2", {"leaf2.example"}), kOtherSerial), &ca);
  TestCert responder = MustIssue(ResponderSpec("Responder"), &ca);
  TestCert responder_no_eku = MustIssue(ResponderSpec("Responder no EKU", std::nullopt), &ca);
  TestCert responder_server_auth =
      MustIssue(ResponderSpec("Responder serverAuth",
                              {{"serverAuth", "anyExtendedKeyUsage"}}),
                &ca);
  TestCert responder_other_ca = MustIssue(ResponderSpec("Responder of Other CA"), &other_ca);
  TestCert responder_nocheck;
  TestCert responder_expired;
  TestCert responder_no_digital_signature;
  TestCert responder_with_crl_dp;
};

const Pki& TestPki() {
  static const Pki* pki = new Pki();
  return *pki;
}

// --- Response building ------------------------------------------------------

enum class SignerKind {
  kIssuer,
  kResponder,
  kResponderNoEku,
  kResponderServerAuth,
  kResponderOtherCa,
  kResponderNoCheck,
  kResponderExpired,
  kResponderNoDigitalSignature,
  kResponderWithCrlDp,
  kOtherCa,  // A CA that did not issue the leaf, signing as itself.
};

const TestCert& SignerCert(const Pki& pki, SignerKind kind) {
  switch (kind) {
    case SignerKind::kIssuer: return pki.ca;
    case SignerKind::kResponder: return pki.responder;
    case SignerKind::kResponderNoEku: return pki.responder_no_eku;
    case SignerKind::kResponderServerAuth: return pki.responder_server_auth;
    case SignerKind::kResponderOtherCa: return pki.responder_other_ca;
    case SignerKind::kResponderNoCheck: return pki.responder_nocheck;
    case SignerKind::kResponderExpired: return pki.responder_expired;
    case SignerKind::kResponderNoDigitalSignature: return pki.responder_no_digital_signature;
    case SignerKind::kResponderWithCrlDp: return pki.responder_with_crl_dp;
    case SignerKind::kOtherCa: return pki.other_ca;
  }
  return pki.ca;
}

enum class Digest { kSha1, kSha256 };

struct SingleSpec {
  std::string serial_hex = kLeafSerial;
  bool other_issuer = false;  // issuerNameHash/issuerKeyHash of Other CA.
  Digest digest = Digest::kSha1;
  int status = V_OCSP_CERTSTATUS_GOOD;
  int reason = OCSP_REVOKED_STATUS_NOSTATUS;  // revocationReason; -1: absent.
  absl::Time this_update = kThisUpdate;
  std::optional<absl::Time> next_update = kNextUpdate;
};

struct ResponseSpec {
  int response_status = OCSP_RESPONSE_STATUS_SUCCESSFUL;
  SignerKind signer = SignerKind::kIssuer;
  // The signer's certificate is always included for a delegated responder.
  bool include_issuer_cert = false;
  bool responder_id_by_key = false;
  std::vector<SingleSpec> singles = {SingleSpec{}};
  bool unknown_critical_extension = false;
  bool add_nonce = false;
  bool tamper_signature = false;
};

Ptr<ASN1_TIME, ASN1_TIME_free> GeneralizedTime(absl::Time t) {
  return Ptr<ASN1_TIME, ASN1_TIME_free>(
      ASN1_GENERALIZEDTIME_set(nullptr, absl::ToTimeT(t)));
}

Ptr<ASN1_INTEGER, ASN1_INTEGER_free> SerialFromHex(const std::string& hex) {
  BIGNUM* bn = nullptr;
  BN_hex2bn(&bn, hex.c_str());
  Ptr<ASN1_INTEGER, ASN1_INTEGER_free> out(BN_to_ASN1_INTEGER(bn, nullptr));
  BN_free(bn);
  return out;
}

OCSP_CERTID* CertIdFor(const Pki& pki, const SingleSpec& single) {
  const TestCert& issuer = single.other_issuer ? pki.other_ca : pki.ca;
  return OCSP_cert_id_new(single.digest == Digest::kSha1 ? EVP_sha1() : EVP_sha256(),
                          X509_get_subject_name(issuer.x509()),
                          X509_get0_pubkey_bitstr(issuer.x509()),
                          SerialFromHex(single.serial_hex).get());
}

std::string ToDer(OCSP_RESPONSE* response) {
  unsigned char* der = nullptr;
  const int len = i2d_OCSP_RESPONSE(response, &der);
  EXPECT_GT(len, 0);
  std::string out(reinterpret_cast<char*>(der), len);
  OPENSSL_free(der);
  return out;
}

std::string BuildResponse(const ResponseSpec& spec) {
  const Pki& pki = TestPki();
  if (spec.response_status != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
    Ptr<OCSP_RESPONSE, OCSP_RESPONSE_free> response(
        OCSP_response_create(spec.response_status, nullptr));
    return ToDer(response.get());
  }
  Ptr<OCSP_BASICRESP, OCSP_BASICRESP_free> basic(OCSP_BASICRESP_new());
  for (const SingleSpec& single : spec.singles) {
    Ptr<OCSP_CERTID, OCSP_CERTID_free> id(CertIdFor(pki, single));
    auto this_update = GeneralizedTime(single.this_update);
    Ptr<ASN1_TIME, ASN1_TIME_free> next_update;
    if (single.next_update) next_update = GeneralizedTime(*single.next_update);
    auto revocation_time = GeneralizedTime(single.this_update - absl::Hours(48));
    EXPECT_NE(OCSP_basic_add1_status(
                  basic.get(), id.get(), single.status, single.reason,
                  single.status == V_OCSP_CERTSTATUS_REVOKED ? revocation_time.get()
                                                             : nullptr,
                  this_update.get(), next_update.get()),
              nullptr);
  }
  if (spec.unknown_critical_extension) {
    Ptr<ASN1_OBJECT, ASN1_OBJECT_free> obj(OBJ_txt2obj("1.2.3.4.5", 1));
    Ptr<ASN1_OCTET_STRING, ASN1_OCTET_STRING_free> value(ASN1_OCTET_STRING_new());
    ASN1_OCTET_STRING_set(value.get(), reinterpret_cast<const unsigned char*>("\x05\x00"), 2);
    X509_EXTENSION* ext =
        X509_EXTENSION_create_by_OBJ(nullptr, obj.get(), /*crit=*/1, value.get());
    OCSP_BASICRESP_add_ext(basic.get(), ext, -1);
    X509_EXTENSION_free(ext);
  }
  if (spec.add_nonce) OCSP_basic_add1_nonce(basic.get(), nullptr, 16);

  const TestCert& signer = SignerCert(pki, spec.signer);
  const bool is_issuer =
      spec.signer == SignerKind::kIssuer || spec.signer == SignerKind::kOtherCa;
  unsigned long flags = 0;
  if (is_issuer && !spec.include_issuer_cert) flags |= OCSP_NOCERTS;
  if (spec.responder_id_by_key) flags |= OCSP_RESPID_KEY;
  EXPECT_EQ(OCSP_basic_sign(basic.get(), signer.x509(), signer.key.get(), EVP_sha256(),
                            nullptr, flags),
            1);
  Ptr<OCSP_RESPONSE, OCSP_RESPONSE_free> response(
      OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, basic.get()));
  std::string der = ToDer(response.get());
  if (spec.tamper_signature) {
    // With no certs, the signature BIT STRING ends the encoding.
    EXPECT_TRUE(flags & OCSP_NOCERTS);
    der.back() ^= 0x01;
  }
  return der;
}

// --- Table-driven cases -----------------------------------------------------

struct Case {
  std::string name;
  ResponseSpec response;
  RevocationState want;
  int want_reason = -1;
  std::string want_diagnostic;  // A substring.
  std::string want_source;      // Exact; empty for kUnknown.
  absl::Time time = kNow;
  OcspOptions options = {};
};

// For gtest's messages (instead of the raw bytes of the struct).
void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

SingleSpec Revoked(int reason) {
  SingleSpec single;
  single.status = V_OCSP_CERTSTATUS_REVOKED;
  single.reason = reason;
  return single;
}

std::vector<Case> Cases() {
  std::vector<Case> cases;
  auto add = [&cases](Case c) { cases.push_back(std::move(c)); };
  const std::string by_ca = "ocsp:CN=CA";
  const std::string by_responder = "ocsp:CN=Responder";

  // certStatus (RFC 6960 4.2.1).
  add({"GoodSignedByIssuer", {}, RevocationState::kGood, -1, "certStatus good", by_ca});
  {
    ResponseSpec r;
    r.singles = {Revoked(OCSP_REVOKED_STATUS_KEYCOMPROMISE)};
    add({"RevokedWithReason", r, RevocationState::kRevoked, kCrlReasonKeyCompromise,
         "keyCompromise", by_ca});
  }
  {
    ResponseSpec r;
    r.singles = {Revoked(OCSP_REVOKED_STATUS_NOSTATUS)};
    add({"RevokedWithoutReasonIsUnspecified", r, RevocationState::kRevoked,
         kCrlReasonUnspecified, "unspecified", by_ca});
  }
  {
    ResponseSpec r;
    r.singles[0].status = V_OCSP_CERTSTATUS_UNKNOWN;
    add({"CertStatusUnknown", r, RevocationState::kUnknown, -1, "certStatus unknown"});
  }

  // Signers (RFC 6960 4.2.2.2).
  {
    ResponseSpec r;
    r.include_issuer_cert = true;
    add({"IssuerWithItsCertificateIncluded", r, RevocationState::kGood, -1, "issuer CN=CA",
         by_ca});
  }
  {
    ResponseSpec r;
    r.responder_id_by_key = true;
    add({"IssuerByKeyResponderId", r, RevocationState::kGood, -1, "certStatus good", by_ca});
  }
  {
    ResponseSpec r;
    r.signer = SignerKind::kResponder;
    add({"DelegatedResponderWithEku", r, RevocationState::kGood, -1,
         "delegated responder CN=Responder", by_responder});
  }
  {
    ResponseSpec r;
    r.signer = SignerKind::kResponder;
    r.responder_id_by_key = true;
    add({"DelegatedResponderByKey", r, RevocationState::kGood, -1, "delegated responder",
         by_responder});
  }
  {
    ResponseSpec r;
    r.signer = SignerKind::kResponder;
    r.singles = {Revoked(OCSP_REVOKED_STATUS_SUPERSEDED)};
    add({"DelegatedResponderRevoked", r, RevocationState::kRevoked, kCrlReasonSuperseded,
         "superseded", by_responder});
  }
  {
    ResponseSpec r;
    r.signer = SignerKind::kResponderNoCheck;
    add({"DelegatedResponderWithNoCheck", r, RevocationState::kGood, -1,
         "id-pkix-ocsp-nocheck", "ocsp:CN=Responder nocheck"});
  }
  {
    ResponseSpec r;
    r.signer = SignerKind::kResponderNoEku;
    add({"DelegatedResponderWithoutEku", r, RevocationState::kUnknown, -1,
         "no id-kp-OCSPSigning"});
  }
  {
    ResponseSpec r;
    r.signer = SignerKind::kResponderServerAuth;
    add({"DelegatedResponderWithOtherEkus", r, RevocationState::kUnknown, -1,
         "no id-kp-OCSPSigning"});
  }
  {
    ResponseSpec r;
    r.signer = SignerKind::kResponderOtherCa;
    add({"DelegatedResponderOfAnotherCa", r, RevocationState::kUnknown, -1,
         "is issued by CN=Other CA"});
  }
  {
    ResponseSpec r;
    r.signer = SignerKind::kResponderOtherCa;
    r.singles = {Revoked(OCSP_REVOKED_STATUS_KEYCOMPROMISE)};
    add({"RevokedByResponderOfAnotherCaIsIgnored", r, RevocationState::kUnknown, -1,
         "response not signed by the issuer or a delegated responder"});
  }
  {
    ResponseSpec r;
    r.signer = SignerKind::kResponderExpired;
    add({"DelegatedResponderExpired", r, RevocationState::kUnknown, -1, "expired at"});
  }
  {
    ResponseSpec r;
    r.signer = SignerKind::kResponderNoDigitalSignature;
    add({"DelegatedResponderWithoutDigitalSignature", r, RevocationState::kUnknown, -1,
         "lacks digitalSignature"});
  }
  {
    ResponseSpec r;
    r.signer = SignerKind::kOtherCa;
    add({"SignedByAnotherCa", r, RevocationState::kUnknown, -1,
         "names neither the issuer nor a certificate in the response"});
  }
  {
    ResponseSpec r;
    r.signer = SignerKind::kOtherCa;
    r.include_issuer_cert = true;
    add({"SignedByAnotherCaWithItsCertificate", r, RevocationState::kUnknown, -1,
         "response not signed by the issuer or a delegated responder"});
  }
  {
    ResponseSpec r;
    r.tamper_signature = true;
    add({"TamperedSignature", r, RevocationState::kUnknown, -1,
         "does not verify with the issuer's key"});
  }

  // CertID matching (RFC 6960 4.1.1).
  {
    ResponseSpec r;
    r.singles[0].serial_hex = kOtherSerial;
    add({"WrongSerial", r, RevocationState::kUnknown, -1, "no SingleResponse"});
  }
  {
    ResponseSpec r;
    r.singles[0].other_issuer = true;
    add({"WrongIssuerHashes", r, RevocationState::kUnknown, -1, "no SingleResponse"});
  }
  {
    ResponseSpec r;
    r.singles[0].digest = Digest::kSha256;
    add({"Sha256CertId", r, RevocationState::kGood, -1, "certStatus good", by_ca});
  }
  {
    ResponseSpec r;
    SingleSpec other;
    other.serial_hex = kOtherSerial;
    other.status = V_OCSP_CERTSTATUS_REVOKED;
    r.singles = {other, SingleSpec{}};
    add({"SeveralSingleResponses", r, RevocationState::kGood, -1, "certStatus good", by_ca});
  }
  {
    ResponseSpec r;
    r.singles = {SingleSpec{}, Revoked(OCSP_REVOKED_STATUS_CESSATIONOFOPERATION)};
    add({"RevokedWinsOverGood", r, RevocationState::kRevoked,
         kCrlReasonCessationOfOperation, "cessationOfOperation", by_ca});
  }

  // Freshness (RFC 6960 4.2.2.1).
  {
    ResponseSpec r;
    r.singles[0].this_update = kNow - absl::Hours(48);
    r.singles[0].next_update = kNow - absl::Hours(1);
    add({"StaleGood", r, RevocationState::kUnknown, -1, "stale response: nextUpdate"});
  }
  {
    ResponseSpec r;
    r.singles = {Revoked(OCSP_REVOKED_STATUS_KEYCOMPROMISE)};
    r.singles[0].this_update = kNow - absl::Hours(48);
    r.singles[0].next_update = kNow - absl::Hours(1);
    add({"StaleRevokedIsStillRevoked", r, RevocationState::kRevoked,
         kCrlReasonKeyCompromise, "revocation is final", by_ca});
  }
  {
    ResponseSpec r;
    r.singles[0].next_update = kNow - absl::Minutes(3);
    add({"NextUpdateWithinClockSkew", r, RevocationState::kGood, -1, "certStatus good",
         by_ca});
  }
  {
    ResponseSpec r;
    r.singles[0].this_update = kNow + absl::Minutes(3);
    add({"ThisUpdateWithinClockSkew", r, RevocationState::kGood, -1, "certStatus good",
         by_ca});
  }
  {
    ResponseSpec r;
    r.singles[0].this_update = kNow + absl::Hours(1);
    add({"ThisUpdateInTheFuture", r, RevocationState::kUnknown, -1, "is after the time"});
  }
  {
    ResponseSpec r;
    r.singles = {Revoked(OCSP_REVOKED_STATUS_KEYCOMPROMISE)};
    r.singles[0].this_update = kNow + absl::Hours(1);
    add({"RevokedWithThisUpdateInTheFutureIsNotUsed", r, RevocationState::kUnknown, -1,
         "is after the time"});
  }
  {
    ResponseSpec r;
    r.singles[0].this_update = kNow - absl::Hours(2);
    r.singles[0].next_update = std::nullopt;
    add({"NoNextUpdateRecent", r, RevocationState::kGood, -1, "no nextUpdate", by_ca});
  }
  {
    ResponseSpec r;
    r.singles[0].this_update = kNow - absl::Hours(30);
    r.singles[0].next_update = std::nullopt;
    add({"NoNextUpdateTooOld", r, RevocationState::kUnknown, -1,
         "no nextUpdate and thisUpdate"});
  }
  {
    ResponseSpec r;
    r.singles[0].this_update = kNow - absl::Hours(30);
    r.singles[0].next_update = std::nullopt;
    Case c{"NoNextUpdateWithinConfiguredMaxAge", r, RevocationState::kGood, -1,
           "certStatus good", by_ca};
    c.options.max_age_without_next_update = absl::Hours(48);
    add(c);
  }
  {
    ResponseSpec r;
    r.singles[0].next_update = kNow - absl::Minutes(10);
    Case c{"NoClockSkew", r, RevocationState::kUnknown, -1, "stale"};
    c.options.clock_skew = absl::ZeroDuration();
    add(c);
  }
  {
    ResponseSpec r;
    r.signer = SignerKind::kResponder;
    Case c{"DelegatedResponderNotYetValid", r, RevocationState::kUnknown, -1,
           "is not valid before"};
    c.time = absl::FromUnixSeconds(1600000000);  // Before the responder's notBefore.
    add(c);
  }

  // responseStatus (RFC 6960 4.2.1).
  {
    ResponseSpec r;
    r.response_status = OCSP_RESPONSE_STATUS_TRYLATER;
    add({"TryLater", r, RevocationState::kUnknown, -1, "trylater"});
  }
  {
    ResponseSpec r;
    r.response_status = OCSP_RESPONSE_STATUS_UNAUTHORIZED;
    add({"Unauthorized", r, RevocationState::kUnknown, -1, "unauthorized"});
  }
  {
    ResponseSpec r;
    r.response_status = OCSP_RESPONSE_STATUS_MALFORMEDREQUEST;
    add({"MalformedRequest", r, RevocationState::kUnknown, -1, "not successful"});
  }

  // Extensions (RFC 6960 4.4).
  {
    ResponseSpec r;
    r.add_nonce = true;
    add({"NonceIsAccepted", r, RevocationState::kGood, -1, "certStatus good", by_ca});
  }
  {
    ResponseSpec r;
    r.unknown_critical_extension = true;
    add({"UnknownCriticalExtension", r, RevocationState::kUnknown, -1,
         "unrecognized critical extension 1.2.3.4.5"});
  }
  return cases;
}

class OcspCaseTest : public ::testing::TestWithParam<Case> {};

TEST_P(OcspCaseTest, Check) {
  const Case& c = GetParam();
  const Pki& pki = TestPki();
  CertificatePtr leaf = Parsed(pki.leaf);
  CertificatePtr ca = Parsed(pki.ca);
  ASSERT_NE(leaf, nullptr);
  ASSERT_NE(ca, nullptr);
  const std::string der = BuildResponse(c.response);
  const RevocationCheck check = CheckOcspResponse(der, *leaf, *ca, c.time, c.options);
  EXPECT_EQ(check.state, c.want) << check.diagnostic;
  EXPECT_EQ(check.reason, c.want_reason) << check.diagnostic;
  EXPECT_NE(check.diagnostic.find(c.want_diagnostic), std::string::npos)
      << "diagnostic: " << check.diagnostic << "\nwanted: " << c.want_diagnostic;
  EXPECT_EQ(check.source, c.want_source) << check.diagnostic;
}

INSTANTIATE_TEST_SUITE_P(Ocsp, OcspCaseTest, ::testing::ValuesIn(Cases()),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return info.param.name;
                         });

// --- Malformed input --------------------------------------------------------

TEST(OcspTest, GarbageIsUnknown) {
  const Pki& pki = TestPki();
  CertificatePtr leaf = Parsed(pki.leaf);
  CertificatePtr ca = Parsed(pki.ca);
  const std::string good = BuildResponse({});
  struct Input {
    std::string name;
    std::string der;
    std::string want_diagnostic;
  };
  std::vector<Input> inputs = {
      {"empty", "", "empty OCSP response"},
      {"text", "this is not an OCSP response", "not a DER OCSPResponse"},
      {"zeros", std::string(100, '\0'), "not a DER OCSPResponse"},
      {"truncated", good.substr(0, good.size() / 2), "not a DER OCSPResponse"},
      {"trailing data", good + '\0', "trailing data"},
      {"oversized", std::string(kMaxOcspResponseBytes + 1, '\x30'), "larger than the limit"},
      {"a certificate", pki.leaf.der, "not a DER OCSPResponse"},
  };
  // Truncations and bit flips anywhere: the outer encoding is checked, the rest
  // is signed, so none may give an answer.
  for (size_t n = 1; n < good.size(); n += 7) {
    inputs.push_back({"prefix", good.substr(0, n), ""});
  }
  for (size_t i = 0; i < good.size(); i += 5) {
    std::string flipped = good;
    flipped[i] ^= 0x80;
    inputs.push_back({"flipped", flipped, ""});
  }
  for (const Input& input : inputs) {
    const RevocationCheck check = CheckOcspResponse(input.der, *leaf, *ca, kNow);
    EXPECT_EQ(check.state, RevocationState::kUnknown) << input.name;
    EXPECT_TRUE(check.source.empty()) << input.name;
    EXPECT_NE(check.diagnostic.find(input.want_diagnostic), std::string::npos)
        << input.name << ": " << check.diagnostic;
  }
}

TEST(OcspTest, ResponseAboutAnotherIssuersCertificateDoesNotMatch) {
  // The response is authentic (signed by CA) but is checked for a certificate
  // of Other CA: the signer is not authorized for that issuer.
  const Pki& pki = TestPki();
  const TestCert other_leaf =
      MustIssue(WithSerial(LeafSpec("other", {"other.example"}), kLeafSerial), &pki.other_ca);
  CertificatePtr leaf = Parsed(other_leaf);
  CertificatePtr other_ca = Parsed(pki.other_ca);
  const RevocationCheck check = CheckOcspResponse(BuildResponse({}), *leaf, *other_ca, kNow);
  EXPECT_EQ(check.state, RevocationState::kUnknown) << check.diagnostic;
}

// --- The delegated responder, judged by the chain's validator ---------------

TEST(OcspTest, AnswerCarriesItsDelegatedResponder) {
  const Pki& pki = TestPki();
  CertificatePtr leaf = Parsed(pki.leaf);
  CertificatePtr ca = Parsed(pki.ca);
  auto check = [&](SignerKind signer) {
    ResponseSpec spec;
    spec.signer = signer;
    return CheckOcspResponse(BuildResponse(spec), *leaf, *ca, kNow);
  };
  const RevocationCheck delegated = check(SignerKind::kResponder);
  ASSERT_NE(delegated.delegated_responder, nullptr);
  EXPECT_EQ(delegated.delegated_responder->der(), pki.responder.der);
  EXPECT_FALSE(delegated.responder_nocheck);
  const RevocationCheck nocheck = check(SignerKind::kResponderNoCheck);
  ASSERT_NE(nocheck.delegated_responder, nullptr);
  EXPECT_EQ(nocheck.delegated_responder->der(), pki.responder_nocheck.der);
  EXPECT_TRUE(nocheck.responder_nocheck);
  EXPECT_EQ(check(SignerKind::kIssuer).delegated_responder, nullptr);
}

struct Judged {
  VerifyResult result;
  RevocationNote leaf;  // The leaf's revocation note.
};

// VerifyChain of leaf <- CA <- Root with a stapled response about the leaf
// signed by `signer`, under `rules` made hard-fail.
Judged VerifyStapled(SignerKind signer, PolicyRules rules) {
  const Pki& pki = TestPki();
  ResponseSpec spec;
  spec.signer = signer;
  VerifyInput input;
  input.certificates = {pki.leaf.der, pki.ca.der};
  input.time = kNow;
  input.stapled_ocsp_response = BuildResponse(spec);
  VerifyPolicy policy;
  auto store = std::make_shared<TrustStore>();
  store->Add(Parsed(pki.root), "test");
  policy.trust_store = store;
  rules.revocation_hard_fail = true;
  policy.rules = std::move(rules);
  Judged out;
  out.result = VerifyChain(input, policy);
  for (const RevocationNote& note : out.result.revocation) {
    if (note.chain_index == 0) out.leaf = note;
  }
  return out;
}

std::shared_ptr<const Denylist> Blocking(const TestCert& cert) {
  auto denylist = std::make_shared<Denylist>();
  EXPECT_TRUE(denylist->BlockSpki(absl::Base64Escape(Parsed(cert)->spki_sha256())).ok());
  return denylist;
}

TEST(OcspTest, DenylistedDelegatedResponderIsNoAnswer) {
  const Pki& pki = TestPki();
  PolicyRules rules;
  rules.revocation_leaf_only = true;
  Judged good = VerifyStapled(SignerKind::kResponder, rules);
  EXPECT_TRUE(good.result.trusted) << good.leaf.detail;
  EXPECT_EQ(good.leaf.state, RevocationNote::State::kGood) << good.leaf.detail;

  rules.denylist = Blocking(pki.responder);
  Judged refused = VerifyStapled(SignerKind::kResponder, rules);
  EXPECT_FALSE(refused.result.trusted);
  EXPECT_EQ(refused.result.status, v1::REVOCATION_UNKNOWN);
  EXPECT_EQ(refused.leaf.state, RevocationNote::State::kUnknown);
  EXPECT_NE(refused.leaf.detail.find("delegated responder is refused (revocation.denylisted"),
            std::string::npos)
      << refused.leaf.detail;
}

TEST(OcspTest, DenylistAppliesToResponderWithNoCheck) {
  // id-pkix-ocsp-nocheck waives the responder's revocation check, not the
  // fleet's denylist: the one recourse against its compromised key.
  const Pki& pki = TestPki();
  PolicyRules rules;
  rules.denylist = Blocking(pki.responder_nocheck);
  Judged refused = VerifyStapled(SignerKind::kResponderNoCheck, rules);
  EXPECT_EQ(refused.leaf.state, RevocationNote::State::kUnknown) << refused.leaf.detail;
  EXPECT_FALSE(refused.result.trusted);
}

TEST(OcspTest, DelegatedResponderRevokedByItsIssuerIsNoAnswer) {
  const Pki& pki = TestPki();
  // CA's CRL, scoped by its issuingDistributionPoint to where the responder
  // certificates point (so it says nothing of the leaf), revokes the
  // responder; Root's CRL covers CA. The whole chain is checked.
  auto rules_with = [&](std::vector<std::string> revoked) {
    testing::CrlSpec scoped;
    scoped.idp.emplace().uris = {kResponderCrlUrl};
    for (std::string& serial : revoked) scoped.entries.push_back({std::move(serial)});
    std::vector<std::string> errors;
    PolicyRules rules;
    rules.revocation_leaf_only = false;
    rules.crls = CrlSet::Parse(
        {*testing::IssueCrl(pki.ca, scoped), *testing::IssueCrl(pki.root, testing::CrlSpec{})},
        &errors);
    EXPECT_TRUE(errors.empty());
    return rules;
  };
  Judged refused = VerifyStapled(SignerKind::kResponderWithCrlDp,
                                 rules_with({pki.responder_with_crl_dp.serial_hex()}));
  EXPECT_FALSE(refused.result.trusted);
  EXPECT_EQ(refused.leaf.state, RevocationNote::State::kUnknown);
  EXPECT_NE(refused.leaf.detail.find("(revocation.revoked"), std::string::npos)
      << refused.leaf.detail;

  Judged good = VerifyStapled(SignerKind::kResponderWithCrlDp, rules_with({"ABCD"}));
  EXPECT_TRUE(good.result.trusted) << good.leaf.detail;
  EXPECT_EQ(good.leaf.state, RevocationNote::State::kGood) << good.leaf.detail;

  // A leaf-only policy checks no CA-side certificate, the responder included.
  PolicyRules leaf_only = rules_with({pki.responder_with_crl_dp.serial_hex()});
  leaf_only.revocation_leaf_only = true;
  EXPECT_TRUE(VerifyStapled(SignerKind::kResponderWithCrlDp, leaf_only).result.trusted);
}

// --- Requests and responder URLs --------------------------------------------

TEST(OcspTest, BuildOcspRequestParsesWithSha1CertId) {
  const Pki& pki = TestPki();
  CertificatePtr leaf = Parsed(pki.leaf);
  CertificatePtr ca = Parsed(pki.ca);
  absl::StatusOr<std::string> der = BuildOcspRequest(*leaf, *ca);
  ASSERT_TRUE(der.ok()) << der.status();

  const unsigned char* p = reinterpret_cast<const unsigned char*>(der->data());
  Ptr<OCSP_REQUEST, OCSP_REQUEST_free> request(
      d2i_OCSP_REQUEST(nullptr, &p, static_cast<long>(der->size())));
  ASSERT_NE(request, nullptr);
  EXPECT_EQ(p, reinterpret_cast<const unsigned char*>(der->data()) + der->size());
  EXPECT_FALSE(OCSP_request_is_signed(request.get()));
  ASSERT_EQ(OCSP_request_onereq_count(request.get()), 1);
  OCSP_CERTID* id = OCSP_onereq_get0_id(OCSP_request_onereq_get0(request.get(), 0));
  ASN1_OBJECT* md = nullptr;
  ASN1_INTEGER* serial = nullptr;
  ASSERT_EQ(OCSP_id_get0_info(nullptr, &md, nullptr, &serial, id), 1);
  EXPECT_EQ(OBJ_obj2nid(md), NID_sha1);
  EXPECT_EQ(ASN1_INTEGER_get(serial), 0x1001);
  Ptr<OCSP_CERTID, OCSP_CERTID_free> expected(
      OCSP_cert_to_id(EVP_sha1(), pki.leaf.x509(), pki.ca.x509()));
  EXPECT_EQ(OCSP_id_cmp(id, expected.get()), 0);

  // A responder answering exactly this CertID is understood.
  Ptr<OCSP_BASICRESP, OCSP_BASICRESP_free> basic(OCSP_BASICRESP_new());
  auto this_update = GeneralizedTime(kThisUpdate);
  auto next_update = GeneralizedTime(kNextUpdate);
  ASSERT_NE(OCSP_basic_add1_status(basic.get(), id, V_OCSP_CERTSTATUS_GOOD, 0, nullptr,
                                   this_update.get(), next_update.get()),
            nullptr);
  ASSERT_EQ(OCSP_basic_sign(basic.get(), pki.ca.x509(), pki.ca.key.get(), EVP_sha256(),
                            nullptr, OCSP_NOCERTS),
            1);
  Ptr<OCSP_RESPONSE, OCSP_RESPONSE_free> response(
      OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, basic.get()));
  const RevocationCheck check = CheckOcspResponse(ToDer(response.get()), *leaf, *ca, kNow);
  EXPECT_EQ(check.state, RevocationState::kGood) << check.diagnostic;
}

TEST(OcspTest, BuildOcspRequestRejectsWrongIssuer) {
  const Pki& pki = TestPki();
  CertificatePtr leaf = Parsed(pki.leaf);
  CertificatePtr other_ca = Parsed(pki.other_ca);
  absl::StatusOr<std::string> der = BuildOcspRequest(*leaf, *other_ca);
  EXPECT_EQ(der.status().code(), absl::StatusCode::kInvalidArgument) << der.status();
}

TEST(OcspTest, OcspResponderUrls) {
  const Pki& pki = TestPki();
  CertificatePtr leaf = Parsed(pki.leaf);
  // The ldap:// location and the caIssuers one are left out.
  EXPECT_EQ(OcspResponderUrls(*leaf),
            (std::vector<std::string>{kOcspUrl, "https://ocsp2.example/path"}));
  CertificatePtr no_aia = Parsed(pki.leaf_without_aia);
  EXPECT_TRUE(OcspResponderUrls(*no_aia).empty());
}

TEST(OcspTest, OcspResponderUrlsLeavesOutUrisThatAreNotAscii) {
  const Pki& pki = TestPki();
  testing::CertSpec spec = testing::LeafSpec("leaf", {"leaf.example"});
  spec.ocsp_urls = {"http://ocsp.example/aXb", "http://ocsp.example/ok"};
  std::string der = testing::MustIssue(spec, &pki.ca).der;
  const size_t at = der.find("aXb");
  ASSERT_NE(at, std::string::npos);
  der[at + 1] = '\xff';  // IA5String is 7-bit (RFC 5280 7.2).
  ParseError error;
  CertificatePtr leaf = Certificate::Parse(der, &error);
  ASSERT_NE(leaf, nullptr);
  EXPECT_EQ(OcspResponderUrls(*leaf), (std::vector<std::string>{"http://ocsp.example/ok"}));
}

}  // namespace
}  // namespace chainverify::pki
