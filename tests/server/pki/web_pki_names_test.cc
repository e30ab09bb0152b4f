#include "server/pki/web_pki_names.h"

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "gtest/gtest.h"
#include "server/pki/cert_errors.h"
#include "server/pki/certificate.h"
#include "server/pki/public_suffix_list.h"
#include "tests/testutil/test_pki.h"

namespace chainverify::pki {
namespace {

using ::chainverify::testing::CertSpec;
using ::chainverify::testing::LeafSpec;
using ::chainverify::testing::MustIssue;
using ::chainverify::testing::RootSpec;
using ::chainverify::testing::TestCert;

// A small list: tests never read the system one.
constexpr char kTestList[] = R"(// ===BEGIN ICANN DOMAINS===
com
net
io
uk
co.uk
*.ck
!www.ck
// ===END ICANN DOMAINS===
// ===BEGIN PRIVATE DOMAINS===
s3.amazonaws.com
github.io
// ===END PRIVATE DOMAINS===
)";

const PublicSuffixList* TestList() {
  static const std::shared_ptr<const PublicSuffixList>* const list =
      new std::shared_ptr<const PublicSuffixList>(
          *PublicSuffixList::Parse(kTestList));
  return list->get();
}

const TestCert& Root() {
  static const TestCert* const root =
      new TestCert(MustIssue(RootSpec("Web PKI Names Test Root"), nullptr));
  return *root;
}

enum class Psl { kTestList, kNone };

struct NameCase {
  const char* test_name;
  const CertErrorId* want;  // nullptr: accepted
  std::string cn;           // "": no commonName
  std::vector<std::string> dns;
  std::vector<std::string> ips;
  Psl psl = Psl::kTestList;
  // More subject attributes, before the CN.
  std::vector<std::pair<std::string, std::string>> extra_subject = {};
  std::vector<std::string> emails = {};
};

std::string TestName(const ::testing::TestParamInfo<NameCase>& info) {
  return info.param.test_name;
}

CertificatePtr Leaf(const NameCase& c) {
  CertSpec spec = LeafSpec(c.cn, c.dns);
  spec.ip_addresses = c.ips;
  spec.emails = c.emails;
  spec.extra_subject = c.extra_subject;
  TestCert issued = MustIssue(spec, &Root());
  ParseError error;
  CertificatePtr cert = Certificate::Parse(issued.der, &error);
  EXPECT_NE(cert, nullptr) << error.diagnostic;
  return cert;
}

void ExpectResult(const absl::Status& status, const CertErrorId* want) {
  if (want == nullptr) {
    EXPECT_TRUE(status.ok()) << status;
    return;
  }
  ASSERT_FALSE(status.ok()) << "expected " << want->name;
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  const CertErrorId* got = WebPkiNameErrorId(status);
  ASSERT_NE(got, nullptr) << status;
  EXPECT_EQ(got->name, std::string(want->name)) << status;
}

// --- CheckSanDnsSyntax (RFC 5280 4.2.1.6) -------------------------------------

class SanDnsSyntaxTest : public ::testing::TestWithParam<NameCase> {};

TEST_P(SanDnsSyntaxTest, Check) {
  CertificatePtr leaf = Leaf(GetParam());
  ASSERT_NE(leaf, nullptr);
  ExpectResult(CheckSanDnsSyntax(*leaf), GetParam().want);
  // CheckWebPkiLeafNames starts with the same check.
  if (GetParam().want != nullptr) {
    ExpectResult(CheckWebPkiLeafNames(*leaf, TestList()), GetParam().want);
  }
}

const std::string kLabel63(63, 'a');
// 253 characters: three 63-character labels, then 61.
const std::string kName253 = kLabel63 + "." + kLabel63 + "." + kLabel63 + "." +
                             std::string(61, 'b');

INSTANTIATE_TEST_SUITE_P(
    Rfc5280, SanDnsSyntaxTest,
    ::testing::Values(
        NameCase{"Plain", nullptr, "", {"example.com"}, {}},
        NameCase{"UpperCase", nullptr, "", {"WWW.Example.COM"}, {}},
        NameCase{"DigitsAndHyphens", nullptr, "", {"1a-b2.example.com"}, {}},
        NameCase{"ALabel", nullptr, "", {"xn--bcher-kva.example"}, {}},
        NameCase{"SingleLabel", nullptr, "", {"localhost"}, {}},
        NameCase{"LeftMostWildcard", nullptr, "", {"*.example.com"}, {}},
        NameCase{"Label63", nullptr, "", {kLabel63 + ".com"}, {}},
        NameCase{"Name253", nullptr, "", {kName253}, {}},
        NameCase{"NoSan", nullptr, "example.com", {}, {}},
        // RFC 1034 3.5 letters, digits, hyphen: no underscore (x509-limbo
        // rfc5280::san::underscore-dns).
        NameCase{"Underscore", &kNameSanDnsSyntax, "", {"foo_bar.example.com"}, {}},
        NameCase{"Space", &kNameSanDnsSyntax, "", {"foo bar.example.com"}, {}},
        NameCase{"Empty", &kNameSanDnsSyntax, "", {""}, {}},
        NameCase{"EmptyLabel", &kNameSanDnsSyntax, "", {"a..example.com"}, {}},
        NameCase{"LeadingDot", &kNameSanDnsSyntax, "", {".example.com"}, {}},
        NameCase{"TrailingDot", &kNameSanDnsSyntax, "", {"example.com."}, {}},
        NameCase{"LeadingHyphen", &kNameSanDnsSyntax, "", {"-a.example.com"}, {}},
        NameCase{"TrailingHyphen", &kNameSanDnsSyntax, "", {"a-.example.com"}, {}},
        NameCase{"Label64", &kNameSanDnsSyntax, "", {kLabel63 + "a.com"}, {}},
        NameCase{"Name254", &kNameSanDnsSyntax, "", {kName253 + "b"}, {}},
        // RFC 1123 2.1: a dotted quad is an address (x509-limbo
        // rfc5280::san::ip-in-dns).
        NameCase{"DottedQuad", &kNameSanDnsSyntax, "", {"8.8.8.8"}, {}},
        NameCase{"NumericTld", &kNameSanDnsSyntax, "", {"example.123"}, {}},
        // Wildcards: only "*." as the whole left-most label, with a name after.
        NameCase{"BareWildcard", &kNameSanDnsSyntax, "", {"*"}, {}},
        NameCase{"WildcardDot", &kNameSanDnsSyntax, "", {"*."}, {}},
        NameCase{"PartialWildcard", &kNameSanDnsSyntax, "", {"ba*.example.com"}, {}},
        NameCase{"InnerWildcard", &kNameSanDnsSyntax, "", {"foo.*.example.com"}, {}},
        NameCase{"TwoWildcards", &kNameSanDnsSyntax, "", {"*.*.example.com"}, {}},
        NameCase{"WildcardInALabel", &kNameSanDnsSyntax, "",
                 {"xn--*-1b3c148a.example.com"}, {}},
        NameCase{"SecondNameBad", &kNameSanDnsSyntax, "",
                 {"ok.example.com", "bad_name.example.com"}, {}}),
    TestName);

// --- CheckWebPkiLeafNames: wildcards (BR 3.2.2.6) -----------------------------

class WildcardTest : public ::testing::TestWithParam<NameCase> {};

TEST_P(WildcardTest, Check) {
  CertificatePtr leaf = Leaf(GetParam());
  ASSERT_NE(leaf, nullptr);
  ExpectResult(CheckWebPkiLeafNames(
                   *leaf, GetParam().psl == Psl::kNone ? nullptr : TestList()),
               GetParam().want);
}

INSTANTIATE_TEST_SUITE_P(
    Br3226, WildcardTest,
    ::testing::Values(
        NameCase{"UnderRegistrableDomain", nullptr, "", {"*.example.com"}, {}},
        NameCase{"UnderSecondLevelRegistration", nullptr, "", {"*.example.co.uk"}, {}},
        NameCase{"OverTld", &kNameWildcardPublicSuffix, "", {"*.com"}, {}},
        NameCase{"OverTldUpperCase", &kNameWildcardPublicSuffix, "", {"*.COM"}, {}},
        NameCase{"OverSecondLevelSuffix", &kNameWildcardPublicSuffix, "",
                 {"*.co.uk"}, {}},
        NameCase{"OverWildcardRule", &kNameWildcardPublicSuffix, "",
                 {"*.anything.ck"}, {}},
        NameCase{"UnderExceptionRule", nullptr, "", {"*.www.ck"}, {}},
        NameCase{"OverUnknownTld", &kNameWildcardPublicSuffix, "", {"*.corp"}, {}},
        // PRIVATE section: refused, unless the certificate also names the
        // suffix itself, which only its operator can have validated.
        NameCase{"OverPrivateSuffix", &kNameWildcardPublicSuffix, "",
                 {"*.s3.amazonaws.com"}, {}},
        NameCase{"OverPrivateSuffixWithApex", nullptr, "",
                 {"s3.amazonaws.com", "*.s3.amazonaws.com"}, {}},
        NameCase{"OverPrivateSuffixWithOtherName", &kNameWildcardPublicSuffix, "",
                 {"amazonaws.com", "*.s3.amazonaws.com"}, {}},
        NameCase{"OverIcannSuffixWithApex", &kNameWildcardPublicSuffix, "",
                 {"co.uk", "*.co.uk"}, {}},
        NameCase{"UnderPrivateSuffix", nullptr, "", {"*.bucket.s3.amazonaws.com"}, {}},
        // Without a list: at least two labels after the wildcard.
        NameCase{"NoListOverTld", &kNameWildcardPublicSuffix, "", {"*.com"}, {},
                 Psl::kNone},
        NameCase{"NoListTwoLabels", nullptr, "", {"*.co.uk"}, {}, Psl::kNone},
        NameCase{"NoListUnderDomain", nullptr, "", {"*.example.com"}, {},
                 Psl::kNone}),
    TestName);

// --- CheckWebPkiLeafNames: subject commonName (BR 7.1.4.3) --------------------

class CommonNameTest : public ::testing::TestWithParam<NameCase> {};

TEST_P(CommonNameTest, Check) {
  CertificatePtr leaf = Leaf(GetParam());
  ASSERT_NE(leaf, nullptr);
  ExpectResult(CheckWebPkiLeafNames(
                   *leaf, GetParam().psl == Psl::kNone ? nullptr : TestList()),
               GetParam().want);
}

const CertErrorId* const kCn = &kNameCommonNameMismatch;

INSTANTIATE_TEST_SUITE_P(
    Br7143, CommonNameTest,
    ::testing::Values(
        NameCase{"NoCommonName", nullptr, "", {"example.com"}, {}},
        NameCase{"CopyOfDnsSan", nullptr, "example.com", {"example.com"}, {}},
        NameCase{"CopyOfSecondDnsSan", nullptr, "b.example.com",
                 {"a.example.com", "b.example.com"}, {}},
        NameCase{"CopyOfWildcardSan", nullptr, "*.example.com", {"*.example.com"}, {}},
        NameCase{"CopyOfUpperCaseSan", nullptr, "WWW.Example.com",
                 {"WWW.Example.com"}, {}},
        NameCase{"TwoCommonNames", kCn, "example.com", {"example.com"}, {},
                 Psl::kTestList, {{"CN", "example.com"}}},
        NameCase{"OtherAttributesAreFine", nullptr, "example.com", {"example.com"},
                 {}, Psl::kTestList, {{"O", "Example"}, {"serialNumber", "1"}}},

        // (1) A CN naming a SAN identity must be its exact canonical text.
        NameCase{"CaseDiffers", kCn, "Example.COM", {"example.com"}, {}},
        NameCase{"TrailingDot", kCn, "example.com.", {"example.com"}, {}},
        NameCase{"ULabelOfALabelSan", kCn, "bücher.example.com",
                 {"xn--bcher-kva.example.com"}, {}},
        NameCase{"ULabelOfALabelSanPrivatePki", kCn, "bücher.test",
                 {"xn--bcher-kva.test"}, {}},
        NameCase{"Ipv4", nullptr, "8.8.8.8", {}, {"8.8.8.8"}},
        NameCase{"Ipv4LeadingZeros", kCn, "008.008.008.008", {}, {"8.8.8.8"}},
        NameCase{"Ipv4Hex", kCn, "0x08080808", {}, {"8.8.8.8"}},
        NameCase{"Ipv4Octal", kCn, "010.010.010.010", {}, {"8.8.8.8"}},
        NameCase{"Ipv4LeadingZerosPrivateAddress", kCn, "192.168.001.001", {},
                 {"192.168.1.1"}},
        NameCase{"Ipv6", nullptr, "2001:4860:4860::8888", {},
                 {"2001:4860:4860::8888"}},
        NameCase{"Ipv6UpperCase", kCn, "2001:4860:4860::8A88", {},
                 {"2001:4860:4860::8a88"}},
        NameCase{"Ipv6Uncompressed", kCn, "2001:4860:4860:0:0:0:0:8888", {},
                 {"2001:4860:4860::8888"}},
        NameCase{"Ipv6LeadingZeros", kCn, "2001:4860:4860::0888", {},
                 {"2001:4860:4860::888"}},
        NameCase{"Ipv6ShorterRunCompressed", kCn, "2001:db8:0:0:1::1", {},
                 {"2001:db8::1:0:0:1"}},
        NameCase{"Ipv6LongestRunFirstOfEqual", nullptr, "2001:db8::1:0:0:1", {},
                 {"2001:db8::1:0:0:1"}},
        NameCase{"Ipv6SingleZeroGroupNotCompressed", nullptr, "2001:db8:0:1:1:1:1:1",
                 {}, {"2001:db8:0:1:1:1:1:1"}},
        NameCase{"Ipv6SingleZeroGroupCompressed", kCn, "2001:db8::1:1:1:1:1", {},
                 {"2001:db8:0:1:1:1:1:1"}},

        // (2) A host-like CN names something in a public SAN.
        NameCase{"DnsNotInSan", kCn, "notinsan.example.com",
                 {"valid.example.com", "another.example.com"}, {}},
        NameCase{"ALabelNotInSan", kCn, "xn--nxasmq6b.com", {"xn--n3h.com"}, {}},
        NameCase{"SubdomainOfSan", kCn, "www.example.com", {"example.com"}, {}},
        NameCase{"ParentOfWildcardSan", nullptr, "example.com", {"*.example.com"}, {}},
        NameCase{"AncestorOfSan", nullptr, "example.com", {"foo.bar.example.com"}, {}},
        NameCase{"ParentOfSan", nullptr, "bar.example.com", {"foo.bar.example.com"},
                 {}},
        NameCase{"AncestorCaseDiffers", kCn, "Example.com", {"*.example.com"}, {}},
        NameCase{"PublicSuffixAboveSan", kCn, "co.uk", {"example.co.uk"}, {}},
        NameCase{"PrivateSuffixAboveSan", kCn, "s3.amazonaws.com",
                 {"bucket.s3.amazonaws.com"}, {}},
        NameCase{"AboveBaseDomain", kCn, "amazonaws.com",
                 {"bucket.s3.amazonaws.com"}, {}},
        NameCase{"NoListAncestorOfSan", nullptr, "example.co.uk",
                 {"www.example.co.uk"}, {}, Psl::kNone},
        NameCase{"NoListNotInSan", kCn, "other.example.com", {"www.example.com"},
                 {}, Psl::kNone},
        NameCase{"IpNotInSan", kCn, "1.1.1.1", {}, {"8.8.8.8"}},
        NameCase{"IpWithOnlyDnsSan", kCn, "8.8.8.8", {"example.com"}, {}},
        NameCase{"DnsWithOnlyIpSan", kCn, "example.com", {}, {"8.8.8.8"}},
        NameCase{"EmbeddedNul", kCn, std::string("evil.com\0.example.com", 21),
                 {"example.com"}, {}},
        // ... but not a CN that is no host name at all.
        NameCase{"SingleLabel", nullptr, "EE", {"example.com"}, {}},
        NameCase{"HostLikeWithSpace", nullptr, "Example Inc. Web Server",
                 {"example.com"}, {}},
        NameCase{"ProductName", nullptr, "x509-limbo-intermediate-pathlen-0",
                 {"example.com"}, {}},
        // ... nor in a leaf whose SAN has no DNS or IP identity.
        NameCase{"EmailOnlySan", nullptr, "example.com", {}, {}, Psl::kTestList,
                 {}, {"a@example.com"}},
        // ... nor in a private PKI's leaf: an Internal Name or a Reserved IP
        // Address in the SAN (BR 1.6.1) means the BR did not govern it.
        NameCase{"InternalNameSan", nullptr, "bad.example.com", {"test.localhost"}, {}},
        NameCase{"SingleLabelSan", nullptr, "bad.example.com", {"localhost"}, {}},
        NameCase{"UnlistedTldSan", nullptr, "bad.example.com",
                 {"www.example.com", "host.corp"}, {}},
        NameCase{"UnlistedTldSanNoList", kCn, "bad.example.com",
                 {"www.example.com", "host.corp"}, {}, Psl::kNone},
        NameCase{"LoopbackSan", nullptr, "1.1.1.1", {}, {"127.0.0.1"}},
        NameCase{"LoopbackSanDnsCn", nullptr, "example.com", {}, {"127.0.0.1"}},
        NameCase{"PrivateAddressSan", nullptr, "bad.example.com", {"example.com"},
                 {"10.1.2.3"}},
        NameCase{"DocumentationV6San", nullptr, "example.com", {}, {"2001:db8::1"}},
        NameCase{"UniqueLocalV6San", nullptr, "example.com", {}, {"fd00::1"}},
        NameCase{"PublicV6San", kCn, "example.com", {}, {"2606:4700::1111"}}),
    TestName);

TEST(WebPkiNameErrorIdTest, OnlyForThisModulesErrors) {
  EXPECT_EQ(WebPkiNameErrorId(absl::OkStatus()), nullptr);
  EXPECT_EQ(WebPkiNameErrorId(absl::InvalidArgumentError("x")), nullptr);
}

// --- CanonicalIpText (RFC 3986 3.2.2, RFC 5952 4) -----------------------------

struct IpCase {
  const char* hex;
  std::optional<std::string> text;
};

class CanonicalIpTextTest : public ::testing::TestWithParam<IpCase> {};

TEST_P(CanonicalIpTextTest, Formats) {
  EXPECT_EQ(CanonicalIpText(absl::HexStringToBytes(GetParam().hex)),
            GetParam().text);
}

INSTANTIATE_TEST_SUITE_P(
    Rfc5952, CanonicalIpTextTest,
    ::testing::Values(
        IpCase{"c0a80101", "192.168.1.1"}, IpCase{"00000000", "0.0.0.0"},
        IpCase{"20010db8000000000000000000000001", "2001:db8::1"},
        IpCase{"00000000000000000000000000000000", "::"},
        IpCase{"00000000000000000000000000000001", "::1"},
        IpCase{"20010db8000000000000000000000000", "2001:db8::"},
        IpCase{"20010db8000000010001000100010001", "2001:db8:0:1:1:1:1:1"},
        IpCase{"20010db8000000000001000000000001", "2001:db8::1:0:0:1"},
        IpCase{"20010000000000010000000000000001", "2001:0:0:1::1"},
        IpCase{"20010db8abcd00120000000000000000", "2001:db8:abcd:12::"},
        IpCase{"00000000000000000000ffffc0000201", "::ffff:c000:201"},
        IpCase{"", std::nullopt}, IpCase{"0102", std::nullopt}));

}  // namespace
}  // namespace chainverify::pki
