#include "server/pki/general_names.h"

#include <string>
#include <vector>

#include <openssl/asn1.h>
#include <openssl/x509v3.h>

#include "gtest/gtest.h"
#include "tests/server/pki/name_test_util.h"

namespace chainverify::pki {
namespace {

using name_testing::MakeGeneralNames;
using name_testing::MakeName;

TEST(ParseGeneralNamesTest, NullIsEmpty) {
  absl::StatusOr<GeneralNames> names = ParseGeneralNames(nullptr);
  ASSERT_TRUE(names.ok()) << names.status();
  EXPECT_TRUE(names->empty());
}

TEST(ParseGeneralNamesTest, CollectsEveryForm) {
  auto gens = MakeGeneralNames({
      "DNS:a.example", "DNS:*.b.example", "IP:10.0.0.1", "IP:2001:db8::1",
      "email:user@c.example", "URI:https://d.example/x",
      "dirName:C=US/O=Example", "otherName:1.2.3.4", "RID:1.2.3.5",
  });
  absl::StatusOr<GeneralNames> names = ParseGeneralNames(gens.get());
  ASSERT_TRUE(names.ok()) << names.status();
  EXPECT_EQ(names->dns_names, (std::vector<std::string>{"a.example", "*.b.example"}));
  ASSERT_EQ(names->ip_addresses.size(), 2u);
  EXPECT_EQ(names->ip_addresses[0], std::string("\x0a\x00\x00\x01", 4));
  EXPECT_EQ(names->ip_addresses[1].size(), 16u);
  EXPECT_EQ(names->emails, std::vector<std::string>{"user@c.example"});
  EXPECT_EQ(names->uris, std::vector<std::string>{"https://d.example/x"});
  ASSERT_EQ(names->directory_names.size(), 1u);
  // The DER round-trips to the same name.
  const unsigned char* p =
      reinterpret_cast<const unsigned char*>(names->directory_names[0].data());
  X509NamePtr decoded(d2i_X509_NAME(
      nullptr, &p, static_cast<long>(names->directory_names[0].size())));
  ASSERT_NE(decoded, nullptr);
  EXPECT_EQ(X509_NAME_cmp(decoded.get(), MakeName("C=US/O=Example").get()), 0);
  EXPECT_EQ(names->other_names, 1);
  EXPECT_EQ(names->registered_ids, 1);
  EXPECT_FALSE(names->empty());
}

struct RejectCase {
  const char* test_name;
  std::vector<std::string> specs;
};

class ParseGeneralNamesRejectTest : public ::testing::TestWithParam<RejectCase> {};

TEST_P(ParseGeneralNamesRejectTest, Rejects) {
  auto gens = MakeGeneralNames(GetParam().specs);
  absl::StatusOr<GeneralNames> names = ParseGeneralNames(gens.get());
  EXPECT_FALSE(names.ok());
}

INSTANTIATE_TEST_SUITE_P(
    Encodings, ParseGeneralNamesRejectTest,
    ::testing::Values(
        RejectCase{"IpFiveOctets", {"IPHEX:0a00000100"}},
        RejectCase{"IpThreeOctets", {"IPHEX:0a0000"}},
        RejectCase{"IpEmpty", {"IPHEX:"}},
        // The 8-octet address+mask form belongs to nameConstraints only.
        RejectCase{"IpAddressAndMask", {"IP:10.0.0.0/8"}},
        RejectCase{"IpAfterGoodName", {"DNS:a.example", "IPHEX:0102030405"}},
        RejectCase{"DnsWithNul", {std::string("DNS:a.example\0.evil", 19)}},
        RejectCase{"DnsNonAscii", {"DNS:\xc3\xa9.example"}},
        RejectCase{"EmailWithNul", {std::string("email:a@b\0c", 11)}},
        RejectCase{"UriNonAscii", {"URI:https://\xc3\xa9.example/"}}),
    [](const ::testing::TestParamInfo<RejectCase>& info) {
      return info.param.test_name;
    });

// dNSName, rfc822Name and URI must be IA5String (RFC 5280 4.2.1.6); OpenSSL's
// decoder always yields that type, so build the wrong type by hand.
TEST(ParseGeneralNamesTest, RejectsNonIa5StringTypes) {
  for (int type : {GEN_DNS, GEN_EMAIL, GEN_URI}) {
    GENERAL_NAMES* gens = GENERAL_NAMES_new();
    GENERAL_NAME* gen = GENERAL_NAME_new();
    ASN1_STRING* utf8 = ASN1_STRING_type_new(V_ASN1_UTF8STRING);
    ASSERT_EQ(ASN1_STRING_set(utf8, "a.example", 9), 1);
    GENERAL_NAME_set0_value(gen, type, utf8);
    sk_GENERAL_NAME_push(gens, gen);
    absl::StatusOr<GeneralNames> names = ParseGeneralNames(gens);
    EXPECT_FALSE(names.ok()) << "type " << type;
    GENERAL_NAMES_free(gens);
  }
}

}  // namespace
}  // namespace chainverify::pki
