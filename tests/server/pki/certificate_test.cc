// Certificate::Parse decodes the public key itself (legacy decoders for RSA
// and NIST-curve EC keys, the generic decoder for the rest) instead of
// letting d2i_X509 do it. These tests hold it to d2i_X509's answers.
#include "server/pki/certificate.h"

#include <string>
#include <vector>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "tests/testutil/test_pki.h"

namespace chainverify::pki {
namespace {

using ::chainverify::testing::CertSpec;
using ::chainverify::testing::KeyType;
using ::chainverify::testing::LeafSpec;
using ::chainverify::testing::MustIssue;
using ::chainverify::testing::RootSpec;
using ::chainverify::testing::TestCert;
using ::chainverify::testing::TestKey;

// What the parser did before: d2i_X509, all input consumed, key decoded.
bool OpenSslAccepts(const std::string& der) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  X509* x = d2i_X509(nullptr, &p, static_cast<long>(der.size()));
  const bool ok = x != nullptr &&
                  p == reinterpret_cast<const unsigned char*>(der.data()) + der.size() &&
                  X509_get0_pubkey(x) != nullptr;
  X509_free(x);
  ERR_clear_error();
  return ok;
}

// Failures Parse reports for the DER structure or the key, as opposed to its
// own RFC 5280 checks on what d2i_X509 accepts (validity times, extensions).
bool IsStructuralFailure(const ParseError& error) {
  return error.id == &kPublicKeyInvalid ||
         (error.id == &kCertMalformed &&
          (absl::StartsWith(error.diagnostic, "not a DER") ||
           absl::StartsWith(error.diagnostic, "trailing data")));
}

class KeyTypeTest : public ::testing::TestWithParam<KeyType> {};

TEST_P(KeyTypeTest, DecodesTheSameKeyAsD2iX509AndVerifiesSignatures) {
  CertSpec root_spec = RootSpec("Root");
  root_spec.key_type = GetParam();
  const TestCert root = MustIssue(root_spec, nullptr);
  CertSpec leaf_spec = LeafSpec("leaf", {"a.example"});
  leaf_spec.key_type = GetParam();
  const TestCert leaf = MustIssue(leaf_spec, &root);

  ParseError error;
  CertificatePtr parsed_root = Certificate::Parse(root.der, &error);
  ASSERT_NE(parsed_root, nullptr) << error.diagnostic;
  CertificatePtr parsed_leaf = Certificate::Parse(leaf.der, &error);
  ASSERT_NE(parsed_leaf, nullptr) << error.diagnostic;

  for (const auto& [cert, test] : {std::pair{parsed_root, &root}, {parsed_leaf, &leaf}}) {
    ASSERT_NE(cert->public_key(), nullptr);
    EXPECT_EQ(EVP_PKEY_eq(cert->public_key(), X509_get0_pubkey(test->x509())), 1);
    EXPECT_EQ(EVP_PKEY_get_base_id(cert->public_key()),
              EVP_PKEY_get_base_id(X509_get0_pubkey(test->x509())));
    EXPECT_EQ(EVP_PKEY_get_bits(cert->public_key()),
              EVP_PKEY_get_bits(X509_get0_pubkey(test->x509())));
  }
  // The parsed X509 still verifies (its own library context is the default).
  EXPECT_EQ(X509_verify(parsed_leaf->x509(), parsed_root->public_key()), 1);
  EXPECT_EQ(X509_verify(parsed_root->x509(), parsed_root->public_key()), 1);
  // And a key that did not sign it does not.
  EXPECT_NE(X509_verify(parsed_root->x509(), parsed_leaf->public_key()), 1);
  ERR_clear_error();
}

INSTANTIATE_TEST_SUITE_P(AllKeyTypes, KeyTypeTest,
                         ::testing::Values(KeyType::kRsa2048, KeyType::kRsa1024,
                                           KeyType::kEcP256, KeyType::kEcP384,
                                           KeyType::kEd25519));

TEST(CertificateParseTest, RejectsTruncationAndTrailingData) {
  const TestCert root = MustIssue(RootSpec("Root"), nullptr);
  ParseError error;
  EXPECT_EQ(Certificate::Parse(root.der.substr(0, root.der.size() - 1), &error), nullptr);
  EXPECT_EQ(error.id, &kCertMalformed);
  EXPECT_EQ(Certificate::Parse(root.der + std::string(1, '\0'), &error), nullptr);
  EXPECT_EQ(error.id, &kCertMalformed);
  EXPECT_EQ(Certificate::Parse("", &error), nullptr);
  EXPECT_EQ(Certificate::Parse("\x30\x00", &error), nullptr);
}

// Replaces the first occurrence of `from` in `der` (which must exist).
std::string Patch(std::string der, const std::string& from, const std::string& to) {
  const size_t at = der.find(from);
  EXPECT_NE(at, std::string::npos);
  if (at != std::string::npos) der.replace(at, from.size(), to);
  return der;
}

TEST(CertificateParseTest, RejectsMalformedRsaKey) {
  CertSpec spec = RootSpec("Root");
  spec.key_type = KeyType::kRsa2048;
  const TestCert root = MustIssue(spec, nullptr);
  // BIT STRING (271 bytes, 0 unused bits) holding SEQUENCE: make it a SET.
  const std::string der = Patch(root.der, std::string("\x03\x82\x01\x0f\x00\x30", 6),
                                std::string("\x03\x82\x01\x0f\x00\x31", 6));
  ASSERT_FALSE(OpenSslAccepts(der));
  ParseError error;
  EXPECT_EQ(Certificate::Parse(der, &error), nullptr);
  EXPECT_EQ(error.id, &kPublicKeyInvalid);
}

TEST(CertificateParseTest, RejectsEcPointNotOnTheCurve) {
  const TestKey key = TestKey::Generate(KeyType::kEcP256);
  const TestCert root = MustIssue(RootSpec("Root"), nullptr, key);
  const std::string spki = key.SpkiDer();
  std::string bad_spki = spki;
  bad_spki.back() ^= 0x01;  // Changes y: the point leaves the curve.
  const std::string der = Patch(root.der, spki, bad_spki);
  ASSERT_FALSE(OpenSslAccepts(der));
  ParseError error;
  EXPECT_EQ(Certificate::Parse(der, &error), nullptr);
  EXPECT_EQ(error.id, &kPublicKeyInvalid);
}

// Every single-byte change of a certificate: whatever d2i_X509 (with its key
// decode) refuses, Parse refuses too, and whatever it accepts, Parse does not
// refuse for its structure or key.
void ExpectSameVerdictsAsD2iX509(const std::string& der) {
  int rejected = 0;
  for (size_t i = 0; i < der.size(); ++i) {
    for (unsigned char flip : {0x01, 0x80, 0xff}) {
      std::string mutated = der;
      mutated[i] = static_cast<char>(mutated[i] ^ flip);
      ParseError error;
      CertificatePtr cert = Certificate::Parse(mutated, &error);
      if (!OpenSslAccepts(mutated)) {
        ++rejected;
        EXPECT_EQ(cert, nullptr) << "byte " << i << " ^ " << int{flip};
      } else if (cert == nullptr) {
        EXPECT_FALSE(IsStructuralFailure(error))
            << "byte " << i << " ^ " << int{flip} << ": " << error.diagnostic;
      }
    }
  }
  EXPECT_GT(rejected, 0);
}

TEST(CertificateParseTest, SingleByteMutationsRsa) {
  CertSpec spec = LeafSpec("leaf", {"a.example"});
  spec.key_type = KeyType::kRsa2048;
  CertSpec root_spec = RootSpec("Root");
  root_spec.key_type = KeyType::kRsa2048;
  const TestCert root = MustIssue(root_spec, nullptr, TestKey::Generate(KeyType::kRsa2048));
  ExpectSameVerdictsAsD2iX509(MustIssue(spec, &root, TestKey::Generate(KeyType::kRsa2048)).der);
}

TEST(CertificateParseTest, SingleByteMutationsEc) {
  const TestCert root = MustIssue(RootSpec("Root"), nullptr);
  ExpectSameVerdictsAsD2iX509(MustIssue(LeafSpec("leaf", {"a.example"}), &root).der);
}

}  // namespace
}  // namespace chainverify::pki
