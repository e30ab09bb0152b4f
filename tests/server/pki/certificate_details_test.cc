// Rendering of certificates into API messages. Proto3 `string` fields must
// hold UTF-8 or clients cannot parse the response; the names rendered come
// from parsed DER, where OpenSSL refuses name strings that do not decode
// (x509_name_canon), so NameToString never sees raw non-UTF-8 bytes. These
// tests pin that assumption down, which the fuzz targets' response round-trip
// check (fuzz/proto_check.h) also relies on.
#include "server/pki/certificate_details.h"

#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "server/pki/certificate.h"
#include "server/pki/trust_store.h"
#include "server/pki/verifier.h"
#include "tests/testutil/test_pki.h"

namespace chainverify::pki {
namespace {

// `der` with every occurrence of `from` replaced by `to` (same length).
std::string Patch(std::string der, const std::string& from, const std::string& to) {
  for (size_t at = der.find(from); at != std::string::npos; at = der.find(from, at)) {
    der.replace(at, from.size(), to);
  }
  return der;
}

TEST(CertificateDetailsTest, NameThatIsNotUtf8DoesNotParse) {
  testing::CertSpec spec = testing::RootSpec("Utf8 Root");
  spec.extra_subject = {{"O", "Z\xc3\xbcrich"}};  // UTF8String
  const testing::TestCert root = testing::MustIssue(spec, nullptr);
  ParseError error;
  ASSERT_NE(Certificate::Parse(root.der, &error), nullptr);
  // The same certificate with 0xFF (never UTF-8) in the UTF8String.
  const std::string bad = Patch(root.der, "Z\xc3\xbcrich", "Z\xff\xbcrich");
  ASSERT_NE(bad, root.der);
  EXPECT_EQ(Certificate::Parse(bad, &error), nullptr);
  EXPECT_EQ(error.id, &kCertMalformed);
}

TEST(CertificateDetailsTest, Utf8NamesRoundTripThroughTheResponse) {
  testing::CertSpec spec = testing::RootSpec("Utf8 Root");
  spec.extra_subject = {{"O", "Z\xc3\xbcrich"}};
  const testing::TestCert root = testing::MustIssue(spec, nullptr);
  VerifyInput input;
  input.certificates.push_back(root.der);
  input.time = absl::FromUnixSeconds(1735689600);
  VerifyPolicy policy;
  policy.trust_store = std::make_shared<TrustStore>();
  const VerifyResult result = VerifyChain(input, policy);
  v1::VerifyResponse response;
  FillVerdict(result, &response);
  ASSERT_EQ(response.best_attempted_chain_size(), 1);
  EXPECT_NE(response.best_attempted_chain(0).subject().find("O=Z\xc3\xbcrich"),
            std::string::npos)
      << response.best_attempted_chain(0).subject();
  v1::VerifyResponse parsed;
  ASSERT_TRUE(parsed.ParseFromString(response.SerializeAsString()));
  EXPECT_EQ(parsed.best_attempted_chain(0).subject(),
            response.best_attempted_chain(0).subject());
}

// The verdict for a certificate whose cRLDistributionPoints URI holds a byte
// outside ASCII must still parse (fuzz/certificate_fuzzer's first finding).
TEST(CertificateDetailsTest, NonAsciiDistributionPointLeavesTheResponseParsable) {
  const testing::TestCert root = testing::MustIssue(testing::RootSpec("Root"), nullptr);
  testing::CertSpec spec = testing::LeafSpec("leaf", {"leaf.example"});
  spec.crl_distribution_points = {"http://crl.example/aXb.crl"};
  const testing::TestCert leaf = testing::MustIssue(spec, &root);
  const std::string der = Patch(leaf.der, "aXb.crl", "a\xff" "b.crl");
  VerifyInput input;
  input.certificates.push_back(der);
  input.time = absl::FromUnixSeconds(1735689600);
  VerifyPolicy policy;
  policy.trust_store = std::make_shared<TrustStore>();
  const VerifyResult result = VerifyChain(input, policy);
  ASSERT_FALSE(result.chain.empty());
  v1::VerifyResponse response;
  FillVerdict(result, &response);
  EXPECT_EQ(response.best_attempted_chain(0).crl_distribution_points_size(), 0);
  v1::VerifyResponse parsed;
  EXPECT_TRUE(parsed.ParseFromString(response.SerializeAsString()));
}

}  // namespace
}  // namespace chainverify::pki
