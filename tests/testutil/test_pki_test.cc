#include "tests/testutil/test_pki.h"

#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "absl/status/status.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace chainverify::testing {
namespace {

absl::Time Utc(int y, int m, int d) {
  return absl::FromCivil(absl::CivilDay(y, m, d), absl::UTCTimeZone());
}

std::string Str(const ASN1_STRING* s) {
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     ASN1_STRING_length(s));
}

std::string Cn(const X509_NAME* name) {
  int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (i < 0) return "";
  return Str(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)));
}

// -1 when absent, else the extension's critical flag.
int Critical(X509* x, int nid) {
  int i = X509_get_ext_by_NID(x, nid, -1);
  return i < 0 ? -1 : X509_EXTENSION_get_critical(X509_get_ext(x, i));
}

// True when `x`'s signature verifies under `key`; clears errors on failure.
bool SignedBy(const TestCert& cert, const TestCert& issuer) {
  bool ok = X509_verify(cert.x509(), issuer.key.get()) == 1;
  ERR_clear_error();
  return ok;
}

struct GeneralNameValues {
  std::vector<std::string> dns, ip, email, uri;
};

GeneralNameValues Values(const GENERAL_NAMES* names) {
  GeneralNameValues out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names, i);
    switch (gn->type) {
      case GEN_DNS:
        out.dns.push_back(Str(gn->d.dNSName));
        break;
      case GEN_IPADD:
        out.ip.push_back(Str(gn->d.iPAddress));
        break;
      case GEN_EMAIL:
        out.email.push_back(Str(gn->d.rfc822Name));
        break;
      case GEN_URI:
        out.uri.push_back(Str(gn->d.uniformResourceIdentifier));
        break;
    }
  }
  return out;
}

// OpenSSL's own path validation at time `at`: X509_V_OK or the error.
int VerifyChain(const TestCert& leaf, const std::vector<TestCert>& untrusted,
                const TestCert& root, absl::Time at) {
  std::unique_ptr<X509_STORE, decltype(&X509_STORE_free)> store(
      X509_STORE_new(), X509_STORE_free);
  X509_STORE_add_cert(store.get(), root.x509());
  std::unique_ptr<STACK_OF(X509), void (*)(STACK_OF(X509)*)> chain(
      sk_X509_new_null(), [](STACK_OF(X509)* s) { sk_X509_free(s); });
  for (const TestCert& c : untrusted) sk_X509_push(chain.get(), c.x509());
  std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> ctx(
      X509_STORE_CTX_new(), X509_STORE_CTX_free);
  X509_STORE_CTX_init(ctx.get(), store.get(), leaf.x509(), chain.get());
  X509_STORE_CTX_set_time(ctx.get(), 0, absl::ToTimeT(at));
  int result = X509_verify_cert(ctx.get()) == 1
                   ? X509_V_OK
                   : X509_STORE_CTX_get_error(ctx.get());
  ERR_clear_error();
  return result;
}

const absl::Time kNow = Utc(2025, 6, 1);

TEST(TestPkiTest, ChainSignaturesAndLinks) {
  TestCert root = MustIssue(RootSpec("Test Root"), nullptr);
  TestCert ica = MustIssue(IntermediateSpec("Test ICA"), &root);
  TestCert leaf = MustIssue(LeafSpec("leaf", {"leaf.example"}), &ica);

  EXPECT_TRUE(SignedBy(root, root));
  EXPECT_TRUE(SignedBy(ica, root));
  EXPECT_TRUE(SignedBy(leaf, ica));
  // Each certificate has its own key, so the wrong issuer must not verify.
  EXPECT_FALSE(SignedBy(leaf, root));
  EXPECT_FALSE(SignedBy(ica, ica));

  EXPECT_EQ(Cn(X509_get_subject_name(root.x509())), "Test Root");
  EXPECT_EQ(Cn(X509_get_issuer_name(root.x509())), "Test Root");
  EXPECT_EQ(Cn(X509_get_issuer_name(ica.x509())), "Test Root");
  EXPECT_EQ(Cn(X509_get_subject_name(leaf.x509())), "leaf");
  EXPECT_EQ(leaf.subject_cn, "leaf");
  EXPECT_EQ(X509_NAME_cmp(X509_get_issuer_name(leaf.x509()),
                          X509_get_subject_name(ica.x509())),
            0);
  EXPECT_EQ(X509_get_version(leaf.x509()), X509_VERSION_3);

  // AKI = issuer's SKI, and a self-signed root points at itself.
  ASSERT_NE(X509_get0_subject_key_id(ica.x509()), nullptr);
  ASSERT_NE(X509_get0_authority_key_id(leaf.x509()), nullptr);
  EXPECT_EQ(Str(X509_get0_authority_key_id(leaf.x509())),
            Str(X509_get0_subject_key_id(ica.x509())));
  EXPECT_EQ(Str(X509_get0_authority_key_id(root.x509())),
            Str(X509_get0_subject_key_id(root.x509())));
  EXPECT_EQ(X509_check_issued(ica.x509(), leaf.x509()), X509_V_OK);

  // basicConstraints critical; CA key usage by default.
  EXPECT_EQ(Critical(root.x509(), NID_basic_constraints), 1);
  EXPECT_EQ(Critical(leaf.x509(), NID_basic_constraints), 1);
  EXPECT_EQ(X509_check_ca(ica.x509()), 1);
  EXPECT_EQ(X509_check_ca(leaf.x509()), 0);
  EXPECT_EQ(Critical(ica.x509(), NID_key_usage), 1);
  EXPECT_EQ(X509_get_key_usage(ica.x509()), KU_KEY_CERT_SIGN | KU_CRL_SIGN);
  EXPECT_EQ(X509_get_key_usage(leaf.x509()), KU_DIGITAL_SIGNATURE);

  // Default validity and a positive 16-byte random serial.
  EXPECT_EQ(ASN1_TIME_cmp_time_t(X509_get0_notBefore(leaf.x509()), 1700000000),
            0);
  EXPECT_EQ(ASN1_TIME_cmp_time_t(X509_get0_notAfter(leaf.x509()), 1900000000),
            0);
  const ASN1_INTEGER* serial = X509_get0_serialNumber(leaf.x509());
  EXPECT_EQ(ASN1_STRING_type(serial), V_ASN1_INTEGER);  // not NEG_INTEGER
  EXPECT_EQ(ASN1_STRING_length(serial), 16);
  EXPECT_NE(leaf.serial_hex(), ica.serial_hex());

  EXPECT_EQ(VerifyChain(leaf, {ica}, root, kNow), X509_V_OK);
}

TEST(TestPkiTest, SubjectAltNames) {
  CertSpec spec = LeafSpec("svc", {"a.example", "*.b.example"});
  spec.ip_addresses = {"10.0.0.1", "::1"};
  spec.emails = {"ops@example.com"};
  spec.uris = {"spiffe://fleet/ns/billing/sa/api"};
  spec.extra_subject = {{"C", "US"}, {"O", "Example"}};
  TestCert root = MustIssue(RootSpec("Root"), nullptr);
  TestCert leaf = MustIssue(spec, &root);

  int crit = -1;
  std::unique_ptr<GENERAL_NAMES, decltype(&GENERAL_NAMES_free)> san(
      static_cast<GENERAL_NAMES*>(
          X509_get_ext_d2i(leaf.x509(), NID_subject_alt_name, &crit, nullptr)),
      GENERAL_NAMES_free);
  ASSERT_NE(san, nullptr);
  EXPECT_EQ(crit, 0);
  GeneralNameValues v = Values(san.get());
  EXPECT_EQ(v.dns, (std::vector<std::string>{"a.example", "*.b.example"}));
  EXPECT_EQ(v.ip, (std::vector<std::string>{
                      std::string("\x0a\x00\x00\x01", 4),
                      std::string(15, '\0') + std::string(1, '\x01')}));
  EXPECT_EQ(v.email, std::vector<std::string>{"ops@example.com"});
  EXPECT_EQ(v.uri, std::vector<std::string>{"spiffe://fleet/ns/billing/sa/api"});
  EXPECT_EQ(X509_check_host(leaf.x509(), "x.b.example", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_host(leaf.x509(), "c.example", 0, 0, nullptr), 0);
  EXPECT_EQ(X509_check_ip_asc(leaf.x509(), "::1", 0), 1);

  // Subject attribute order: extra_subject first, then CN.
  char buf[256];
  X509_NAME_oneline(X509_get_subject_name(leaf.x509()), buf, sizeof(buf));
  EXPECT_STREQ(buf, "/C=US/O=Example/CN=svc");
}

TEST(TestPkiTest, ExpiredLeafHasRequestedDates) {
  TestCert root = MustIssue(RootSpec("Root"), nullptr);
  CertSpec spec = LeafSpec("old", {"old.example"});
  spec.not_before = Utc(2020, 1, 1);
  spec.not_after = Utc(2021, 1, 1);
  TestCert leaf = MustIssue(spec, &root);

  EXPECT_EQ(ASN1_TIME_cmp_time_t(X509_get0_notBefore(leaf.x509()),
                                 absl::ToTimeT(Utc(2020, 1, 1))),
            0);
  EXPECT_EQ(ASN1_TIME_cmp_time_t(X509_get0_notAfter(leaf.x509()),
                                 absl::ToTimeT(Utc(2021, 1, 1))),
            0);
  EXPECT_LT(X509_cmp_current_time(X509_get0_notAfter(leaf.x509())), 0);
  EXPECT_EQ(VerifyChain(leaf, {}, root, kNow), X509_V_ERR_CERT_HAS_EXPIRED);

  // Past 2049 RFC 5280 needs GeneralizedTime; the date must still round-trip.
  spec.not_after = Utc(2060, 2, 29);
  TestCert far = MustIssue(spec, &root);
  EXPECT_EQ(ASN1_STRING_type(X509_get0_notAfter(far.x509())),
            V_ASN1_GENERALIZEDTIME);
  EXPECT_EQ(ASN1_TIME_cmp_time_t(X509_get0_notAfter(far.x509()),
                                 absl::ToTimeT(Utc(2060, 2, 29))),
            0);
}

TEST(TestPkiTest, CrossSignedSameSubjectAndKey) {
  TestCert root_a = MustIssue(RootSpec("Root A"), nullptr);
  TestCert root_b = MustIssue(RootSpec("Root B"), nullptr);
  TestKey key = TestKey::Generate(KeyType::kEcP256, /*fresh=*/true);
  TestCert by_a = MustIssue(IntermediateSpec("Cross ICA"), &root_a, key);
  TestCert by_b = MustIssue(IntermediateSpec("Cross ICA"), &root_b, key);

  unsigned char* spki = nullptr;
  int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(by_a.x509()), &spki);
  std::string spki_a(reinterpret_cast<char*>(spki), len);
  OPENSSL_free(spki);
  EXPECT_EQ(spki_a, key.SpkiDer());
  EXPECT_NE(X509_cmp(by_a.x509(), by_b.x509()), 0);
  EXPECT_EQ(
      EVP_PKEY_eq(X509_get0_pubkey(by_a.x509()), X509_get0_pubkey(by_b.x509())),
      1);
  EXPECT_EQ(X509_NAME_cmp(X509_get_subject_name(by_a.x509()),
                          X509_get_subject_name(by_b.x509())),
            0);
  EXPECT_EQ(Str(X509_get0_subject_key_id(by_a.x509())),
            Str(X509_get0_subject_key_id(by_b.x509())));
  EXPECT_EQ(Cn(X509_get_issuer_name(by_a.x509())), "Root A");
  EXPECT_EQ(Cn(X509_get_issuer_name(by_b.x509())), "Root B");
  EXPECT_TRUE(SignedBy(by_a, root_a));
  EXPECT_TRUE(SignedBy(by_b, root_b));
  EXPECT_FALSE(SignedBy(by_a, root_b));

  // A leaf under the shared key chains to either root.
  TestCert leaf = MustIssue(LeafSpec("leaf", {"leaf.example"}), &by_a);
  EXPECT_EQ(VerifyChain(leaf, {by_a}, root_a, kNow), X509_V_OK);
  EXPECT_EQ(VerifyChain(leaf, {by_b}, root_b, kNow), X509_V_OK);
  EXPECT_NE(VerifyChain(leaf, {by_a}, root_b, kNow), X509_V_OK);
}

TEST(TestPkiTest, NameConstraintsAndExtendedKeyUsage) {
  CertSpec ca_spec = IntermediateSpec("Constrained");
  ca_spec.permitted_dns = {"good.example"};
  ca_spec.excluded_dns = {"bad.good.example"};
  ca_spec.permitted_ip = {"10.0.0.0/8"};
  ca_spec.excluded_ip = {"10.9.0.0/16"};
  ca_spec.extended_key_usage =
      std::vector<std::string>{"serverAuth", "1.2.3.4"};
  TestCert root = MustIssue(RootSpec("Root"), nullptr);
  TestCert ca = MustIssue(ca_spec, &root);

  EXPECT_EQ(Critical(ca.x509(), NID_name_constraints), 1);
  std::unique_ptr<NAME_CONSTRAINTS, decltype(&NAME_CONSTRAINTS_free)> nc(
      static_cast<NAME_CONSTRAINTS*>(
          X509_get_ext_d2i(ca.x509(), NID_name_constraints, nullptr, nullptr)),
      NAME_CONSTRAINTS_free);
  ASSERT_NE(nc, nullptr);
  auto subtree_values = [](STACK_OF(GENERAL_SUBTREE)* subtrees) {
    std::unique_ptr<GENERAL_NAMES, decltype(&GENERAL_NAMES_free)> names(
        sk_GENERAL_NAME_new_null(), GENERAL_NAMES_free);
    for (int i = 0; i < sk_GENERAL_SUBTREE_num(subtrees); ++i) {
      sk_GENERAL_NAME_push(
          names.get(),
          GENERAL_NAME_dup(sk_GENERAL_SUBTREE_value(subtrees, i)->base));
    }
    return Values(names.get());
  };
  GeneralNameValues permitted = subtree_values(nc->permittedSubtrees);
  GeneralNameValues excluded = subtree_values(nc->excludedSubtrees);
  EXPECT_EQ(permitted.dns, std::vector<std::string>{"good.example"});
  EXPECT_EQ(permitted.ip,
            std::vector<std::string>{std::string("\x0a\0\0\0\xff\0\0\0", 8)});
  EXPECT_EQ(excluded.dns, std::vector<std::string>{"bad.good.example"});
  EXPECT_EQ(excluded.ip, std::vector<std::string>{
                             std::string("\x0a\x09\0\0\xff\xff\0\0", 8)});

  EXPECT_EQ(Critical(ca.x509(), NID_ext_key_usage), 0);
  std::unique_ptr<EXTENDED_KEY_USAGE, decltype(&EXTENDED_KEY_USAGE_free)> eku(
      static_cast<EXTENDED_KEY_USAGE*>(
          X509_get_ext_d2i(ca.x509(), NID_ext_key_usage, nullptr, nullptr)),
      EXTENDED_KEY_USAGE_free);
  ASSERT_NE(eku, nullptr);
  ASSERT_EQ(sk_ASN1_OBJECT_num(eku.get()), 2);
  EXPECT_EQ(OBJ_obj2nid(sk_ASN1_OBJECT_value(eku.get(), 0)), NID_server_auth);
  char oid[64];
  OBJ_obj2txt(oid, sizeof(oid), sk_ASN1_OBJECT_value(eku.get(), 1), 1);
  EXPECT_STREQ(oid, "1.2.3.4");

  // No EKU extension unless asked; LeafSpec asks for server+client auth.
  EXPECT_EQ(Critical(root.x509(), NID_ext_key_usage), -1);
  TestCert inside = MustIssue(LeafSpec("in", {"www.good.example"}), &ca);
  EXPECT_EQ(X509_get_extended_key_usage(inside.x509()),
            static_cast<uint32_t>(XKU_SSL_SERVER | XKU_SSL_CLIENT));

  // OpenSSL enforces the constraints as encoded.
  EXPECT_EQ(VerifyChain(inside, {ca}, root, kNow), X509_V_OK);
  TestCert outside = MustIssue(LeafSpec("out", {"www.other.example"}), &ca);
  EXPECT_EQ(VerifyChain(outside, {ca}, root, kNow),
            X509_V_ERR_PERMITTED_VIOLATION);
  CertSpec bad_ip = LeafSpec("ip", {"www.good.example"});
  bad_ip.ip_addresses = {"10.9.1.1"};
  EXPECT_EQ(VerifyChain(MustIssue(bad_ip, &ca), {ca}, root, kNow),
            X509_V_ERR_EXCLUDED_VIOLATION);
}

TEST(TestPkiTest, CrlListsRevokedSerials) {
  TestCert root = MustIssue(RootSpec("Root"), nullptr);
  TestCert revoked = MustIssue(LeafSpec("revoked", {"r.example"}), &root);
  TestCert good = MustIssue(LeafSpec("good", {"g.example"}), &root);
  absl::StatusOr<std::string> der = IssueCrl(
      root, {revoked.serial_hex(), "01"}, Utc(2025, 1, 1), Utc(2025, 2, 1), 7);
  ASSERT_TRUE(der.ok()) << der.status();

  const unsigned char* p = reinterpret_cast<const unsigned char*>(der->data());
  std::unique_ptr<X509_CRL, decltype(&X509_CRL_free)> crl(
      d2i_X509_CRL(nullptr, &p, der->size()), X509_CRL_free);
  ASSERT_NE(crl, nullptr);
  EXPECT_EQ(X509_CRL_verify(crl.get(), root.key.get()), 1);
  EXPECT_EQ(X509_CRL_get_version(crl.get()), X509_CRL_VERSION_2);
  EXPECT_EQ(X509_NAME_cmp(X509_CRL_get_issuer(crl.get()),
                          X509_get_subject_name(root.x509())),
            0);
  EXPECT_EQ(ASN1_TIME_cmp_time_t(X509_CRL_get0_lastUpdate(crl.get()),
                                 absl::ToTimeT(Utc(2025, 1, 1))),
            0);
  EXPECT_EQ(ASN1_TIME_cmp_time_t(X509_CRL_get0_nextUpdate(crl.get()),
                                 absl::ToTimeT(Utc(2025, 2, 1))),
            0);
  EXPECT_EQ(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl.get())), 2);

  X509_REVOKED* entry = nullptr;
  EXPECT_EQ(
      X509_CRL_get0_by_serial(
          crl.get(), &entry,
          const_cast<ASN1_INTEGER*>(X509_get0_serialNumber(revoked.x509()))),
      1);
  EXPECT_EQ(X509_CRL_get0_by_serial(
                crl.get(), &entry,
                const_cast<ASN1_INTEGER*>(X509_get0_serialNumber(good.x509()))),
            0);

  std::unique_ptr<ASN1_INTEGER, decltype(&ASN1_INTEGER_free)> number(
      static_cast<ASN1_INTEGER*>(
          X509_CRL_get_ext_d2i(crl.get(), NID_crl_number, nullptr, nullptr)),
      ASN1_INTEGER_free);
  ASSERT_NE(number, nullptr);
  EXPECT_EQ(ASN1_INTEGER_get(number.get()), 7);

  EXPECT_EQ(IssueCrl(root, {"not hex"}, kNow, kNow).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(TestPkiTest, KeyTypesAndDigests) {
  CertSpec ed_spec = RootSpec("Ed Root");
  ed_spec.key_type = KeyType::kEd25519;
  TestCert ed_root = MustIssue(ed_spec, nullptr);
  EXPECT_EQ(X509_get_signature_nid(ed_root.x509()), NID_ED25519);
  EXPECT_TRUE(SignedBy(ed_root, ed_root));
  TestCert under_ed = MustIssue(LeafSpec("l", {"l.example"}), &ed_root);
  EXPECT_EQ(X509_get_signature_nid(under_ed.x509()), NID_ED25519);
  EXPECT_TRUE(SignedBy(under_ed, ed_root));
  EXPECT_TRUE(IssueCrl(ed_root, {}, kNow, kNow + absl::Hours(24)).ok());

  CertSpec rsa_spec = RootSpec("RSA-1024 Root");
  rsa_spec.key_type = KeyType::kRsa1024;
  rsa_spec.digest = "sha1";
  TestCert rsa_root = MustIssue(rsa_spec, nullptr);
  EXPECT_EQ(EVP_PKEY_get_id(rsa_root.key.get()), EVP_PKEY_RSA);
  EXPECT_EQ(EVP_PKEY_get_bits(X509_get0_pubkey(rsa_root.x509())), 1024);
  EXPECT_EQ(X509_get_signature_nid(rsa_root.x509()), NID_sha1WithRSAEncryption);
  EXPECT_TRUE(SignedBy(rsa_root, rsa_root));

  CertSpec md5 = LeafSpec("md5", {"m.example"});
  md5.digest = "md5";
  TestCert md5_leaf = MustIssue(md5, &rsa_root);
  EXPECT_EQ(X509_get_signature_nid(md5_leaf.x509()), NID_md5WithRSAEncryption);
  EXPECT_TRUE(SignedBy(md5_leaf, rsa_root));

  CertSpec p384 = LeafSpec("p384", {"p.example"});
  p384.key_type = KeyType::kEcP384;
  p384.digest = "sha384";
  TestCert ec_root = MustIssue(RootSpec("EC Root"), nullptr);
  TestCert p384_leaf = MustIssue(p384, &ec_root);
  EXPECT_EQ(EVP_PKEY_get_bits(X509_get0_pubkey(p384_leaf.x509())), 384);
  EXPECT_EQ(X509_get_signature_nid(p384_leaf.x509()), NID_ecdsa_with_SHA384);
  EXPECT_TRUE(SignedBy(p384_leaf, ec_root));

  CertSpec sha1 = LeafSpec("sha1", {"s.example"});
  sha1.digest = "sha1";
  EXPECT_EQ(X509_get_signature_nid(MustIssue(sha1, &ec_root).x509()),
            NID_ecdsa_with_SHA1);
}

TEST(TestPkiTest, KeyCacheSharesUnlessFresh) {
  TestKey a = TestKey::Generate(KeyType::kRsa2048);
  TestKey b = TestKey::Generate(KeyType::kRsa2048);
  TestKey c = TestKey::Generate(KeyType::kRsa2048, /*fresh=*/true);
  EXPECT_EQ(a.get(), b.get());
  EXPECT_NE(a.get(), c.get());
  EXPECT_NE(EVP_PKEY_eq(a.get(), c.get()), 1);
  EXPECT_EQ(EVP_PKEY_get_bits(a.get()), 2048);
}

TEST(TestPkiTest, SpecOptions) {
  TestCert root = MustIssue(RootSpec("Root"), nullptr);
  CertSpec spec = LeafSpec("opts", {});
  spec.include_basic_constraints = false;
  spec.include_subject_key_id = false;
  spec.include_authority_key_id = false;
  spec.key_usage = "";
  spec.serial_hex = "0123456789ABCDEF";
  spec.issuer_override = "Somebody Else";
  spec.crl_distribution_points = {"http://crl.example/root.crl"};
  spec.ocsp_urls = {"http://ocsp.example"};
  spec.certificate_policies = {"2.23.140.1.2.1", "anyPolicy"};
  // An unknown critical extension holding DER NULL.
  spec.raw_extensions = {
      {"1.3.6.1.4.1.99999.1", true, std::string("\x05\x00", 2)}};
  TestCert cert = MustIssue(spec, &root);
  X509* x = cert.x509();

  EXPECT_EQ(Critical(x, NID_basic_constraints), -1);
  EXPECT_EQ(Critical(x, NID_key_usage), -1);
  EXPECT_EQ(Critical(x, NID_subject_key_identifier), -1);
  EXPECT_EQ(Critical(x, NID_authority_key_identifier), -1);
  EXPECT_EQ(Critical(x, NID_subject_alt_name), -1);
  EXPECT_EQ(Critical(x, NID_crl_distribution_points), 0);
  EXPECT_EQ(Critical(x, NID_info_access), 0);
  EXPECT_EQ(Critical(x, NID_certificate_policies), 0);
  EXPECT_EQ(cert.serial_hex(), "0123456789ABCDEF");
  EXPECT_EQ(Cn(X509_get_issuer_name(x)), "Somebody Else");
  EXPECT_TRUE(SignedBy(cert, root));

  std::unique_ptr<CERTIFICATEPOLICIES, decltype(&CERTIFICATEPOLICIES_free)>
      policies(static_cast<CERTIFICATEPOLICIES*>(X509_get_ext_d2i(
                   x, NID_certificate_policies, nullptr, nullptr)),
               CERTIFICATEPOLICIES_free);
  ASSERT_EQ(sk_POLICYINFO_num(policies.get()), 2);
  char policy[64];
  OBJ_obj2txt(policy, sizeof(policy),
              sk_POLICYINFO_value(policies.get(), 0)->policyid, 1);
  EXPECT_STREQ(policy, "2.23.140.1.2.1");
  EXPECT_EQ(OBJ_obj2nid(sk_POLICYINFO_value(policies.get(), 1)->policyid),
            NID_any_policy);

  std::unique_ptr<ASN1_OBJECT, decltype(&ASN1_OBJECT_free)> raw_oid(
      OBJ_txt2obj("1.3.6.1.4.1.99999.1", 1), ASN1_OBJECT_free);
  int i = X509_get_ext_by_OBJ(x, raw_oid.get(), -1);
  ASSERT_GE(i, 0);
  X509_EXTENSION* raw = X509_get_ext(x, i);
  EXPECT_EQ(X509_EXTENSION_get_critical(raw), 1);
  EXPECT_EQ(Str(X509_EXTENSION_get_data(raw)), std::string("\x05\x00", 2));
  // OpenSSL marks certificates with unknown critical extensions.
  EXPECT_NE(X509_get_extension_flags(x) & EXFLAG_CRITICAL, 0u);

  std::unique_ptr<AUTHORITY_INFO_ACCESS, decltype(&AUTHORITY_INFO_ACCESS_free)>
      aia(static_cast<AUTHORITY_INFO_ACCESS*>(
              X509_get_ext_d2i(x, NID_info_access, nullptr, nullptr)),
          AUTHORITY_INFO_ACCESS_free);
  ASSERT_EQ(sk_ACCESS_DESCRIPTION_num(aia.get()), 1);
  ACCESS_DESCRIPTION* ad = sk_ACCESS_DESCRIPTION_value(aia.get(), 0);
  EXPECT_EQ(OBJ_obj2nid(ad->method), NID_ad_OCSP);
  EXPECT_EQ(Str(ad->location->d.uniformResourceIdentifier),
            "http://ocsp.example");

  std::unique_ptr<CRL_DIST_POINTS, decltype(&CRL_DIST_POINTS_free)> dps(
      static_cast<CRL_DIST_POINTS*>(
          X509_get_ext_d2i(x, NID_crl_distribution_points, nullptr, nullptr)),
      CRL_DIST_POINTS_free);
  ASSERT_EQ(sk_DIST_POINT_num(dps.get()), 1);
  EXPECT_EQ(
      Values(sk_DIST_POINT_value(dps.get(), 0)->distpoint->name.fullname).uri,
      std::vector<std::string>{"http://crl.example/root.crl"});
}

TEST(TestPkiTest, PemRoundTrip) {
  TestCert root = MustIssue(RootSpec("Root"), nullptr);
  std::string pem = root.pem();
  EXPECT_EQ(pem.rfind("-----BEGIN CERTIFICATE-----\n", 0), 0u);
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  std::unique_ptr<X509, decltype(&X509_free)> x(
      PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), X509_free);
  ASSERT_NE(x, nullptr);
  EXPECT_EQ(X509_cmp(x.get(), root.x509()), 0);
}

TEST(TestPkiTest, BadInputsAreErrors) {
  CertSpec spec = LeafSpec("bad", {"a.example"});
  spec.ip_addresses = {"300.1.1.1"};
  EXPECT_EQ(Issue(spec, nullptr).status().code(),
            absl::StatusCode::kInvalidArgument);

  spec = RootSpec("bad");
  spec.permitted_ip = {"10.0.0.0/33"};
  EXPECT_EQ(Issue(spec, nullptr).status().code(),
            absl::StatusCode::kInvalidArgument);

  spec = RootSpec("bad");
  spec.digest = "nosuchdigest";
  EXPECT_EQ(Issue(spec, nullptr).status().code(),
            absl::StatusCode::kInvalidArgument);

  spec = RootSpec("bad");
  spec.extended_key_usage = std::vector<std::string>{"notAnEku"};
  EXPECT_EQ(Issue(spec, nullptr).status().code(),
            absl::StatusCode::kInvalidArgument);

  spec = RootSpec("bad");
  spec.certificate_policies = {"not.an.oid"};
  EXPECT_EQ(Issue(spec, nullptr).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace chainverify::testing
