#include "server/pki/name_constraints.h"

#include <optional>
#include <string>
#include <vector>

#include <openssl/asn1.h>
#include <openssl/x509v3.h>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "server/pki/hostname_match.h"
#include "tests/server/pki/name_test_util.h"

namespace chainverify::pki {
namespace {

using name_testing::CertSpec;
using name_testing::MakeCert;
using name_testing::MakeNameConstraints;
using name_testing::NameConstraintsPtr;

// --- Create: malformed constraints -----------------------------------------

struct MalformedCase {
  const char* test_name;
  std::vector<std::string> permitted;
  std::vector<std::string> excluded;
};

class NameConstraintsMalformedTest
    : public ::testing::TestWithParam<MalformedCase> {};

TEST_P(NameConstraintsMalformedTest, CreateFails) {
  NameConstraintsPtr nc =
      MakeNameConstraints(GetParam().permitted, GetParam().excluded);
  absl::StatusOr<NameConstraints> constraints = NameConstraints::Create(nc.get());
  ASSERT_FALSE(constraints.ok());
  EXPECT_EQ(constraints.status().code(), absl::StatusCode::kInvalidArgument);
}

INSTANTIATE_TEST_SUITE_P(
    Constraints, NameConstraintsMalformedTest,
    ::testing::Values(
        MalformedCase{"BothAbsent", {}, {}},
        // x509-limbo rfc5280::nc::invalid-ipv4-address / invalid-ipv6-address:
        // an address without a mask.
        MalformedCase{"Ipv4WithoutMask", {"IP:127.0.0.1"}, {}},
        MalformedCase{"Ipv6WithoutMask", {"IP:::1"}, {}},
        MalformedCase{"IpNineOctets", {}, {"IPHEX:0a0000000000000000"}},
        MalformedCase{"IpEmpty", {"IPHEX:"}, {}},
        MalformedCase{"Ipv4MaskNotContiguous", {"IPHEX:0a000000ff00ff00"}, {}},
        MalformedCase{"Ipv4MaskHole", {"IPHEX:0a000000fffffeff"}, {}},
        MalformedCase{"Ipv6MaskNotContiguous",
                      {"IPHEX:20010db8000000000000000000000000"
                       "ffffffff0000000000000000000000ff"},
                      {}},
        // x509-limbo rfc5280::nc::invalid-dnsname-wildcard.
        MalformedCase{"DnsWildcard", {"DNS:*.example.com"}, {}},
        MalformedCase{"DnsSpace", {"DNS:exa mple.com"}, {}},
        MalformedCase{"DnsEmptyLabel", {"DNS:a..example.com"}, {}},
        MalformedCase{"DnsOnlyDot", {"DNS:."}, {}},
        MalformedCase{"DnsTwoLeadingDots", {}, {"DNS:..example.com"}},
        MalformedCase{"DnsNonAscii", {"DNS:\xc3\xa9.example"}, {}},
        MalformedCase{"DnsSlash", {"DNS:example.com/x"}, {}},
        // x509-limbo rfc5280::nc::invalid-email-address.
        MalformedCase{"EmailTwoAt", {"email:invalid@invalid@example.com"}, {}},
        MalformedCase{"EmailNoLocalPart", {"email:@example.com"}, {}},
        MalformedCase{"EmailBadDomain", {}, {"email:a@exa mple.com"}},
        MalformedCase{"EmailBadHost", {"email:exa mple.com"}, {}},
        MalformedCase{"UriWithScheme", {"URI:https://example.com"}, {}},
        MalformedCase{"UriWildcard", {"URI:*.example.com"}, {}},
        MalformedCase{"BadSecondSubtree", {"DNS:example.com", "IP:10.0.0.1"},
                      {}}),
    [](const ::testing::TestParamInfo<MalformedCase>& info) {
      return info.param.test_name;
    });

TEST(NameConstraintsCreateTest, RejectsNull) {
  EXPECT_FALSE(NameConstraints::Create(nullptr).ok());
}

// RFC 5280 4.2.1.10: GeneralSubtrees ::= SEQUENCE SIZE (1..MAX); x509-limbo
// webpki::nc::intermediate-permitted-excluded-subtrees-both-empty-sequences.
TEST(NameConstraintsCreateTest, RejectsEmptySequences) {
  NameConstraintsPtr both_empty(NAME_CONSTRAINTS_new());
  both_empty->permittedSubtrees = sk_GENERAL_SUBTREE_new_null();
  both_empty->excludedSubtrees = sk_GENERAL_SUBTREE_new_null();
  EXPECT_FALSE(NameConstraints::Create(both_empty.get()).ok());

  NameConstraintsPtr permitted_empty = MakeNameConstraints({}, {"DNS:a.example"});
  permitted_empty->permittedSubtrees = sk_GENERAL_SUBTREE_new_null();
  EXPECT_FALSE(NameConstraints::Create(permitted_empty.get()).ok());
}

// RFC 5280 4.2.1.10: minimum MUST be zero and maximum MUST be absent.
TEST(NameConstraintsCreateTest, RejectsMinimumAndMaximum) {
  NameConstraintsPtr minimum = MakeNameConstraints({"DNS:example.com"}, {});
  GENERAL_SUBTREE* subtree = sk_GENERAL_SUBTREE_value(minimum->permittedSubtrees, 0);
  subtree->minimum = ASN1_INTEGER_new();
  ASN1_INTEGER_set(subtree->minimum, 1);
  EXPECT_FALSE(NameConstraints::Create(minimum.get()).ok());

  NameConstraintsPtr maximum = MakeNameConstraints({"DNS:example.com"}, {});
  subtree = sk_GENERAL_SUBTREE_value(maximum->permittedSubtrees, 0);
  subtree->maximum = ASN1_INTEGER_new();
  ASN1_INTEGER_set(subtree->maximum, 5);
  EXPECT_FALSE(NameConstraints::Create(maximum.get()).ok());

  // An explicit minimum of zero is tolerated.
  NameConstraintsPtr zero = MakeNameConstraints({"DNS:example.com"}, {});
  subtree = sk_GENERAL_SUBTREE_value(zero->permittedSubtrees, 0);
  subtree->minimum = ASN1_INTEGER_new();
  ASN1_INTEGER_set(subtree->minimum, 0);
  EXPECT_TRUE(NameConstraints::Create(zero.get()).ok());
}

TEST(NameConstraintsCreateTest, AcceptsWellFormedForms) {
  NameConstraintsPtr nc = MakeNameConstraints(
      {"DNS:example.com", "DNS:.example.org", "DNS:", "DNS:example.net.",
       "DNS:_internal.corp", "IP:10.0.0.0/8", "IP:2001:db8::/32",
       "IP:0.0.0.0/0", "IP:::/0", "IP:192.0.2.1/32", "email:a@example.com",
       "email:example.com", "email:.example.com", "email:", "URI:example.com",
       "URI:.example.com", "dirName:C=US/O=Example", "dirName:",
       "otherName:1.2.3.4", "RID:1.2.3.4"},
      {"DNS:bad.example.com", "IP:10.1.0.0/16"});
  absl::StatusOr<NameConstraints> constraints = NameConstraints::Create(nc.get());
  EXPECT_TRUE(constraints.ok()) << constraints.status();
}

// --- IsPermitted -----------------------------------------------------------

struct PermitCase {
  const char* test_name;
  std::vector<std::string> permitted;
  std::vector<std::string> excluded;
  std::string subject;
  std::optional<std::vector<std::string>> sans;
  bool permitted_result;
  bool is_leaf = true;
};

class NameConstraintsPermitTest : public ::testing::TestWithParam<PermitCase> {};

TEST_P(NameConstraintsPermitTest, IsPermitted) {
  const PermitCase& c = GetParam();
  NameConstraintsPtr nc = MakeNameConstraints(c.permitted, c.excluded);
  absl::StatusOr<NameConstraints> constraints = NameConstraints::Create(nc.get());
  ASSERT_TRUE(constraints.ok()) << constraints.status();
  CertificatePtr cert = MakeCert(CertSpec{c.subject, c.sans});
  for (Profile profile : {Profile::kRfc5280, Profile::kWebPki}) {
    absl::Status status = constraints->IsPermitted(*cert, c.is_leaf, profile);
    if (c.permitted_result) {
      EXPECT_TRUE(status.ok()) << status;
    } else {
      EXPECT_EQ(status.code(), absl::StatusCode::kPermissionDenied) << status;
      EXPECT_FALSE(status.message().empty());
    }
  }
}

// Shorthand for a SAN list.
std::optional<std::vector<std::string>> San(std::vector<std::string> names) {
  return names;
}
constexpr std::nullopt_t kNoSan = std::nullopt;

INSTANTIATE_TEST_SUITE_P(
    Dns, NameConstraintsPermitTest,
    ::testing::Values(
        PermitCase{"PermittedExact", {"DNS:example.com"}, {}, "CN=x",
                   San({"DNS:example.com"}), true},
        PermitCase{"PermittedSubdomain", {"DNS:example.com"}, {}, "CN=x",
                   San({"DNS:foo.bar.example.com"}), true},
        PermitCase{"PermittedCaseInsensitive", {"DNS:Example.COM"}, {}, "CN=x",
                   San({"DNS:FOO.example.com"}), true},
        PermitCase{"PermittedTrailingDot", {"DNS:example.com"}, {}, "CN=x",
                   San({"DNS:foo.example.com."}), true},
        PermitCase{"PermittedNotSuffixOfLabel", {"DNS:example.com"}, {}, "CN=x",
                   San({"DNS:badexample.com"}), false},
        PermitCase{"PermittedOtherDomain", {"DNS:example.com"}, {}, "CN=x",
                   San({"DNS:not-example.com"}), false},
        PermitCase{"PermittedParentOfConstraint", {"DNS:a.example.com"}, {},
                   "CN=x", San({"DNS:example.com"}), false},
        PermitCase{"PermittedAnyOfSeveral", {"DNS:a.example", "DNS:b.example"},
                   {}, "CN=x", San({"DNS:x.b.example"}), true},
        PermitCase{"PermittedEveryNameMustMatch", {"DNS:example.com"}, {},
                   "CN=x", San({"DNS:example.com", "DNS:example.org"}), false},
        PermitCase{"PermittedEmptyMatchesAll", {"DNS:"}, {}, "CN=x",
                   San({"DNS:anything.example"}), true},
        PermitCase{"PermittedWildcardWithin", {"DNS:example.com"}, {}, "CN=x",
                   San({"DNS:*.example.com"}), true},
        // "*.example.com" could expand outside "foo.example.com".
        PermitCase{"PermittedWildcardWider", {"DNS:foo.example.com"}, {}, "CN=x",
                   San({"DNS:*.example.com"}), false},
        // x509-limbo rfc5280::nc::nc-permits-invalid-dns-san.
        PermitCase{"PermittedMalformedSan", {"DNS:example.com"}, {}, "CN=x",
                   San({"DNS:.example.com", "DNS:foo.example.com"}), false},
        PermitCase{"PermittedEmptySan", {"DNS:example.com"}, {}, "CN=x",
                   San({"DNS:"}), false},
        PermitCase{"PermittedSanWithSpace", {"DNS:"}, {}, "CN=x",
                   San({"DNS:a b.example"}), false},
        PermitCase{"ExcludedExact", {}, {"DNS:example.com"}, "CN=x",
                   San({"DNS:example.com"}), false},
        PermitCase{"ExcludedSubdomain", {}, {"DNS:example.com"}, "CN=x",
                   San({"DNS:www.example.com"}), false},
        PermitCase{"ExcludedOther", {}, {"DNS:example.com"}, "CN=x",
                   San({"DNS:example.org"}), true},
        PermitCase{"ExcludedSecondSan", {}, {"DNS:not-allowed.example.com"},
                   "CN=x",
                   San({"DNS:example.com", "DNS:not-allowed.example.com"}),
                   false},
        // A wildcard is excluded when one of its expansions would be.
        PermitCase{"ExcludedWildcardPartial", {}, {"DNS:foo.example.com"}, "CN=x",
                   San({"DNS:*.example.com"}), false},
        PermitCase{"ExcludedWildcardUnrelated", {}, {"DNS:foo.bar.example.com"},
                   "CN=x", San({"DNS:*.example.com"}), true},
        PermitCase{"ExcludedBeatsPermitted", {"DNS:example.com"},
                   {"DNS:example.com"}, "CN=x", San({"DNS:example.com"}), false},
        PermitCase{"ExcludedEmptyExcludesAll", {}, {"DNS:"}, "CN=x",
                   San({"DNS:a.example"}), false},
        PermitCase{"ExcludedLenientHyphenLabel", {}, {"DNS:example.com"},
                   "CN=x", San({"DNS:-"}), true},
        PermitCase{"ExcludedMalformedSanEmptyLabel", {}, {"DNS:example.com"},
                   "CN=x", San({"DNS:a..example.com"}), false},
        // Constraints of one type leave other types alone (x509-limbo
        // rfc5280::nc::permitted-different-constraint-type).
        PermitCase{"IpConstraintIgnoresDns", {"IP:192.0.2.0/24"}, {}, "CN=x",
                   San({"DNS:example.com"}), true},
        PermitCase{"DnsConstraintIgnoresMalformedUri", {"DNS:example.com"}, {},
                   "CN=x", San({"DNS:example.com", "URI:not a uri"}), true}),
    [](const ::testing::TestParamInfo<PermitCase>& info) {
      return info.param.test_name;
    });

INSTANTIATE_TEST_SUITE_P(
    Ip, NameConstraintsPermitTest,
    ::testing::Values(
        PermitCase{"PermittedV4", {"IP:192.0.2.0/24"}, {}, "CN=x",
                   San({"IP:192.0.2.1"}), true},
        PermitCase{"PermittedV4Outside", {"IP:192.0.2.0/24"}, {}, "CN=x",
                   San({"IP:192.0.3.1"}), false},
        PermitCase{"PermittedV4OddPrefix", {"IP:10.0.0.0/9"}, {}, "CN=x",
                   San({"IP:10.127.255.255"}), true},
        PermitCase{"PermittedV4OddPrefixOutside", {"IP:10.0.0.0/9"}, {}, "CN=x",
                   San({"IP:10.128.0.0"}), false},
        PermitCase{"PermittedV4HostBitsInBase", {"IPHEX:c0000201ffffff00"}, {},
                   "CN=x", San({"IP:192.0.2.77"}), true},
        PermitCase{"PermittedV6", {"IP:::1/128"}, {}, "CN=x", San({"IP:::1"}),
                   true},
        PermitCase{"PermittedV6Prefix", {"IP:2001:db8::/32"}, {}, "CN=x",
                   San({"IP:2001:db8:ffff::1"}), true},
        PermitCase{"PermittedV6Outside", {"IP:2001:db8::/32"}, {}, "CN=x",
                   San({"IP:2001:db9::1"}), false},
        PermitCase{"PermittedV4DoesNotMatchV6", {"IP:0.0.0.0/0"}, {}, "CN=x",
                   San({"IP:::1"}), false},
        PermitCase{"PermittedV4DoesNotMatchMappedV6", {"IP:10.0.0.0/8"}, {},
                   "CN=x", San({"IP:::ffff:10.0.0.1"}), false},
        PermitCase{"PermittedV6DoesNotMatchV4", {"IP:::/0"}, {}, "CN=x",
                   San({"IP:10.0.0.1"}), false},
        PermitCase{"PermittedBothFamilies", {"IP:10.0.0.0/8", "IP:::/0"}, {},
                   "CN=x", San({"IP:10.0.0.1", "IP:::1"}), true},
        PermitCase{"ExcludedV4", {}, {"IP:192.0.2.0/24"}, "CN=x",
                   San({"IP:192.0.2.1"}), false},
        PermitCase{"ExcludedV6", {}, {"IP:::1/128"}, "CN=x", San({"IP:::1"}),
                   false},
        PermitCase{"ExcludedV4LeavesV6", {}, {"IP:0.0.0.0/0"}, "CN=x",
                   San({"IP:::1"}), true},
        PermitCase{"ExcludedOutside", {}, {"IP:10.0.0.0/8"}, "CN=x",
                   San({"IP:11.0.0.1"}), true},
        PermitCase{"DnsConstraintIgnoresIp", {"DNS:example.com"}, {}, "CN=x",
                   San({"IP:10.0.0.1"}), true}),
    [](const ::testing::TestParamInfo<PermitCase>& info) {
      return info.param.test_name;
    });

INSTANTIATE_TEST_SUITE_P(
    Email, NameConstraintsPermitTest,
    ::testing::Values(
        PermitCase{"MailboxExact", {"email:foo@example.com"}, {}, "CN=x",
                   San({"email:foo@example.com"}), true},
        PermitCase{"MailboxDomainCase", {"email:foo@EXAMPLE.com"}, {}, "CN=x",
                   San({"email:foo@example.COM"}), true},
        PermitCase{"MailboxLocalCase", {"email:foo@example.com"}, {}, "CN=x",
                   San({"email:Foo@example.com"}), false},
        PermitCase{"MailboxOther", {"email:foo@example.com"}, {}, "CN=x",
                   San({"email:bar@example.com"}), false},
        PermitCase{"Host", {"email:example.com"}, {}, "CN=x",
                   San({"email:foo@example.com"}), true},
        PermitCase{"HostNotSubdomain", {"email:example.com"}, {}, "CN=x",
                   San({"email:foo@mail.example.com"}), false},
        PermitCase{"Domain", {"email:.example.com"}, {}, "CN=x",
                   San({"email:foo@mail.example.com"}), true},
        PermitCase{"DomainNotApex", {"email:.example.com"}, {}, "CN=x",
                   San({"email:foo@example.com"}), false},
        PermitCase{"DomainNotSuffixOfLabel", {"email:.example.com"}, {}, "CN=x",
                   San({"email:foo@badexample.com"}), false},
        // x509-limbo rfc5280::nc::nc-permits-invalid-email-san.
        PermitCase{"MalformedSan", {"email:example.com"}, {}, "CN=x",
                   San({"email:good@example.com",
                        "email:invalid@address@example.com"}),
                   false},
        PermitCase{"ExcludedMailboxCaseInsensitive", {},
                   {"email:foo@example.com"}, "CN=x",
                   San({"email:FOO@example.com"}), false},
        PermitCase{"ExcludedHost", {}, {"email:example.com"}, "CN=x",
                   San({"email:a@example.com"}), false},
        PermitCase{"ExcludedHostLeavesSubdomain", {}, {"email:example.com"},
                   "CN=x", San({"email:a@sub.example.com"}), true},
        // RFC 5280 4.2.1.10: rfc822Name constraints apply to the subject's
        // emailAddress attributes.
        PermitCase{"SubjectEmailWithoutSan", {"email:example.com"}, {},
                   "CN=x/emailAddress=a@evil.com", kNoSan, false},
        PermitCase{"SubjectEmailWithSan", {"email:example.com"}, {},
                   "CN=x/emailAddress=a@evil.com", San({"email:a@example.com"}),
                   false},
        PermitCase{"SubjectEmailPermitted", {"email:example.com"}, {},
                   "CN=x/emailAddress=a@example.com", San({"DNS:example.com"}),
                   true},
        PermitCase{"SubjectEmailExcluded", {}, {"email:evil.com"},
                   "emailAddress=a@evil.com", kNoSan, false},
        PermitCase{"DnsConstraintIgnoresEmail", {"DNS:example.com"}, {},
                   "CN=x/emailAddress=a@evil.com", San({"email:b@evil.com"}),
                   true}),
    [](const ::testing::TestParamInfo<PermitCase>& info) {
      return info.param.test_name;
    });

INSTANTIATE_TEST_SUITE_P(
    Uri, NameConstraintsPermitTest,
    ::testing::Values(
        PermitCase{"Host", {"URI:example.com"}, {}, "CN=x",
                   San({"URI:https://example.com/path?q#f"}), true},
        PermitCase{"HostWithUserinfoAndPort", {"URI:example.com"}, {}, "CN=x",
                   San({"URI:https://user@EXAMPLE.com:8443/"}), true},
        PermitCase{"HostIsNotADomain", {"URI:example.com"}, {}, "CN=x",
                   San({"URI:https://www.example.com/"}), false},
        PermitCase{"Domain", {"URI:.example.com"}, {}, "CN=x",
                   San({"URI:https://www.example.com/"}), true},
        PermitCase{"DomainNotApex", {"URI:.example.com"}, {}, "CN=x",
                   San({"URI:https://example.com/"}), false},
        PermitCase{"NoAuthority", {"URI:example.com"}, {}, "CN=x",
                   San({"URI:urn:example.com"}), false},
        PermitCase{"Ipv4Host", {"URI:example.com"}, {}, "CN=x",
                   San({"URI:https://10.0.0.1/"}), false},
        PermitCase{"Ipv6Host", {}, {"URI:example.com"}, "CN=x",
                   San({"URI:https://[::1]/"}), false},
        PermitCase{"ExcludedDomain", {}, {"URI:.example.com"}, "CN=x",
                   San({"URI:https://www.example.com/"}), false},
        PermitCase{"ExcludedOther", {}, {"URI:.example.com"}, "CN=x",
                   San({"URI:https://example.org/"}), true}),
    [](const ::testing::TestParamInfo<PermitCase>& info) {
      return info.param.test_name;
    });

INSTANTIATE_TEST_SUITE_P(
    DirectoryName, NameConstraintsPermitTest,
    ::testing::Values(
        PermitCase{"SubjectPrefix", {"dirName:C=US/O=Example"}, {},
                   "C=US/O=Example/CN=leaf", San({"DNS:a.example"}), true},
        PermitCase{"SubjectEqual", {"dirName:C=US/O=Example"}, {},
                   "C=US/O=Example", San({"DNS:a.example"}), true},
        PermitCase{"SubjectCaseAndSpaces", {"dirName:C=US/O=Example  Corp"}, {},
                   "C=us/O=example corp/CN=leaf", San({"DNS:a.example"}), true},
        PermitCase{"SubjectDifferentValue", {"dirName:C=US/O=Example"}, {},
                   "C=US/O=Other/CN=leaf", San({"DNS:a.example"}), false},
        PermitCase{"SubjectShorter", {"dirName:C=US/O=Example"}, {}, "C=US",
                   San({"DNS:a.example"}), false},
        PermitCase{"SubjectNotPrefix", {"dirName:O=Example"}, {},
                   "C=US/O=Example", San({"DNS:a.example"}), false},
        PermitCase{"MultiValuedRdnOrder", {"dirName:O=Example+OU=Unit"}, {},
                   "OU=Unit+O=Example/CN=leaf", San({"DNS:a.example"}), true},
        PermitCase{"MultiValuedRdnPartial", {"dirName:O=Example"}, {},
                   "O=Example+OU=Unit/CN=leaf", San({"DNS:a.example"}), false},
        // x509-limbo rfc5280::nc::permitted-dn-match-subject-san-mismatch.
        PermitCase{"SanMatchesSubjectDoesNot", {"dirName:CN=foo"}, {},
                   "CN=not-foo", San({"dirName:CN=foo"}), false},
        PermitCase{"SanAndSubjectMatch", {"dirName:CN=foo"}, {}, "CN=foo",
                   San({"dirName:CN=foo"}), true},
        PermitCase{"SanDoesNotMatch", {"dirName:C=US"}, {}, "C=US/CN=a",
                   San({"dirName:C=DE/CN=a"}), false},
        PermitCase{"EmptySubjectNotChecked", {"dirName:C=US"}, {}, "",
                   San({"DNS:a.example"}), true},
        PermitCase{"EmptyConstraintMatchesAll", {"dirName:"}, {}, "C=DE",
                   San({"DNS:a.example"}), true},
        PermitCase{"ExcludedSubject", {}, {"dirName:CN=foo"}, "CN=foo",
                   San({"dirName:CN=not-foo"}), false},
        PermitCase{"ExcludedSan", {}, {"dirName:C=US/O=Evil"}, "C=US/O=Good",
                   San({"dirName:C=US/O=Evil/CN=x"}), false},
        PermitCase{"ExcludedOther", {}, {"dirName:C=US/O=Evil"},
                   "C=US/O=Good/CN=x", San({"DNS:a.example"}), true}),
    [](const ::testing::TestParamInfo<PermitCase>& info) {
      return info.param.test_name;
    });

INSTANTIATE_TEST_SUITE_P(
    UnsupportedForms, NameConstraintsPermitTest,
    ::testing::Values(
        // x509-limbo rfc5280::nc::nc-forbids-othername(-noop).
        PermitCase{"ExcludedOtherNameWithOtherNameSan", {"DNS:example.com"},
                   {"otherName:1.3.6.1.4.1.55738.666.3"}, "CN=x",
                   San({"DNS:example.com", "otherName:1.3.6.1.4.1.55738.666.3"}),
                   false},
        PermitCase{"ExcludedOtherNameWithoutOtherNameSan", {"DNS:example.com"},
                   {"otherName:1.3.6.1.4.1.55738.666.3"}, "CN=x",
                   San({"DNS:example.com"}), true},
        PermitCase{"PermittedOtherNameWithOtherNameSan",
                   {"otherName:1.2.3.4"}, {}, "CN=x",
                   San({"otherName:1.2.3.4"}), false},
        PermitCase{"RegisteredIdConstrained", {}, {"RID:1.2.3.4"}, "CN=x",
                   San({"RID:1.2.3.5"}), false},
        PermitCase{"RegisteredIdNotConstrained", {"DNS:example.com"}, {},
                   "CN=x", San({"DNS:example.com", "RID:1.2.3.5"}), true}),
    [](const ::testing::TestParamInfo<PermitCase>& info) {
      return info.param.test_name;
    });

INSTANTIATE_TEST_SUITE_P(
    CommonName, NameConstraintsPermitTest,
    ::testing::Values(
        PermitCase{"LeafNoSanCnOutside", {"DNS:localhost"}, {},
                   "O=Org/CN=bad.example.com", kNoSan, false},
        PermitCase{"LeafNoSanCnInside", {"DNS:localhost"}, {},
                   "O=Org/CN=test.localhost", kNoSan, true},
        PermitCase{"LeafNoSanCnExcluded", {}, {"DNS:bad.example.com"},
                   "CN=bad.example.com", kNoSan, false},
        PermitCase{"LeafNoSanCnWildcard", {"DNS:localhost"}, {},
                   "CN=*.example.com", kNoSan, false},
        PermitCase{"LeafNoSanCnIpOutside", {"IP:127.0.0.0/24"}, {},
                   "CN=1.1.1.1", kNoSan, false},
        PermitCase{"LeafNoSanCnIpInside", {"IP:127.0.0.0/24"}, {},
                   "CN=127.0.0.1", kNoSan, true},
        PermitCase{"LeafNoSanCnIpVsDnsConstraint", {"DNS:localhost"}, {},
                   "CN=1.1.1.1", kNoSan, true},
        PermitCase{"LeafNoSanCnNotHostname", {"DNS:localhost"}, {},
                   "CN=Example Leaf", kNoSan, true},
        PermitCase{"LeafNoSanCnSingleLabel", {"DNS:localhost"}, {},
                   "CN=local_ica", kNoSan, true},
        // With a SAN, the CN names nothing usable (BetterTLS "soft pass").
        PermitCase{"LeafWithDnsSanCnIgnored", {"DNS:localhost"}, {},
                   "CN=bad.example.com", San({"DNS:test.localhost"}), true},
        PermitCase{"LeafWithIpSanCnIgnored", {"DNS:localhost"}, {},
                   "CN=bad.example.com", San({"IP:127.0.0.1"}), true},
        PermitCase{"IntermediateCnIgnored", {"DNS:localhost"}, {},
                   "CN=bad.example.com", kNoSan, true, /*is_leaf=*/false}),
    [](const ::testing::TestParamInfo<PermitCase>& info) {
      return info.param.test_name;
    });

// A leading '.' on a dNSName constraint is a browser convention, not RFC 5280
// (x509-limbo rfc5280::nc::invalid-dnsname-leading-period): the constraints are
// unusable under either profile.
TEST(NameConstraintsTest, LeadingDotDnsIsInvalid) {
  NameConstraintsPtr nc = MakeNameConstraints({"DNS:.example.com"}, {});
  absl::StatusOr<NameConstraints> constraints = NameConstraints::Create(nc.get());
  ASSERT_TRUE(constraints.ok()) << constraints.status();
  CertificatePtr sub = MakeCert(CertSpec{"CN=x", San({"DNS:foo.example.com"})});
  EXPECT_EQ(constraints->IsPermitted(*sub, true, Profile::kWebPki).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(constraints->IsPermitted(*sub, true, Profile::kRfc5280).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(NameConstraintsTest, ViolationNamesTheOffendingName) {
  NameConstraintsPtr nc = MakeNameConstraints({"DNS:example.com"}, {});
  absl::StatusOr<NameConstraints> constraints = NameConstraints::Create(nc.get());
  ASSERT_TRUE(constraints.ok());
  CertificatePtr cert = MakeCert(
      CertSpec{"CN=x", San({"DNS:www.example.com", "DNS:evil.example.org"})});
  absl::Status status = constraints->IsPermitted(*cert, true, Profile::kWebPki);
  EXPECT_NE(status.message().find("evil.example.org"), absl::string_view::npos)
      << status;
}

// The constraints as certificate.cc decodes them from a real CA certificate.
TEST(NameConstraintsTest, FromParsedCaCertificate) {
  NameConstraintsPtr nc =
      MakeNameConstraints({"DNS:example.com", "IP:10.0.0.0/8"}, {"DNS:bad.example.com"});
  CertificatePtr ca = MakeCert(
      CertSpec{"CN=Constrained CA", kNoSan, nc.get(), /*is_ca=*/true});
  ASSERT_NE(ca->name_constraints(), nullptr);
  absl::StatusOr<NameConstraints> constraints =
      NameConstraints::Create(ca->name_constraints());
  ASSERT_TRUE(constraints.ok()) << constraints.status();

  CertificatePtr good =
      MakeCert(CertSpec{"CN=x", San({"DNS:www.example.com", "IP:10.1.1.1"})});
  CertificatePtr bad = MakeCert(CertSpec{"CN=x", San({"DNS:bad.example.com"})});
  EXPECT_TRUE(constraints->IsPermitted(*good, true, Profile::kRfc5280).ok());
  EXPECT_FALSE(constraints->IsPermitted(*bad, true, Profile::kRfc5280).ok());
}

// --- BetterTLS name-constraints suite --------------------------------------
//
// A port of the expected results of Netflix BetterTLS's nameconstraints suite
// (test-suites/nameconstraints/test_cases.go), as x509-limbo imports it:
// "soft pass" counts as ACCEPT, "soft fail" as REJECT. The constrained ICA's
// subtrees and the leaf's names are rebuilt here, and our verdict is
// LeafMatchesPeerName && IsPermitted. This covers the name logic of the
// ~8,750 bettertls::nameconstraints cases.

enum Tri { kNone, kValid, kInvalid };

struct BetterTlsCase {
  bool client_dns;  // else IP
  bool cn_dns;      // else IP
  Tri cn, dns_san, ip_san, dns_permit, ip_permit, dns_exclude, ip_exclude;
};

bool BetterTlsExpectsAccept(const BetterTlsCase& c) {
  bool soft_fail = false;
  if (c.client_dns) {
    if (c.dns_san != kValid) {
      if (!c.cn_dns || c.cn != kValid) return false;
      soft_fail = true;
    }
    if (c.dns_permit == kInvalid || c.dns_exclude == kValid) return false;
  } else {
    if (c.ip_san != kValid) {
      if (c.cn_dns || c.cn != kValid) return false;
      soft_fail = true;
    }
    if (c.ip_permit == kInvalid || c.ip_exclude == kValid) return false;
  }
  auto violates = [](Tri name, Tri permit, Tri exclude) {
    return (name == kValid && (permit == kInvalid || exclude == kValid)) ||
           (name == kInvalid && (permit == kValid || exclude == kInvalid));
  };
  const bool san_violation = violates(c.dns_san, c.dns_permit, c.dns_exclude) ||
                             violates(c.ip_san, c.ip_permit, c.ip_exclude);
  if (san_violation) soft_fail = true;
  // A CN-only violation is a "soft pass": ACCEPT.
  return !soft_fail;
}

std::string Describe(const BetterTlsCase& c) {
  const char* tri[] = {"NONE", "VALID", "INVALID"};
  return absl::StrCat("client=", c.client_dns ? "DNS" : "IP",
                      " cn_type=", c.cn_dns ? "DNS" : "IP", " cn=", tri[c.cn],
                      " dns_san=", tri[c.dns_san], " ip_san=", tri[c.ip_san],
                      " dns_permit=", tri[c.dns_permit],
                      " ip_permit=", tri[c.ip_permit],
                      " dns_exclude=", tri[c.dns_exclude],
                      " ip_exclude=", tri[c.ip_exclude]);
}

TEST(NameConstraintsBetterTlsTest, AgreesWithSuiteExpectations) {
  const Tri all[] = {kNone, kValid, kInvalid};
  int cases = 0;
  int mismatches = 0;
  for (bool client_dns : {true, false}) {
    for (bool cn_dns : {true, false}) {
      for (Tri cn : all) {
        for (Tri dns_san : all) {
          for (Tri ip_san : all) {
            for (Tri dns_permit : all) {
              for (Tri ip_permit : all) {
                for (Tri dns_exclude : all) {
                  for (Tri ip_exclude : all) {
                    const BetterTlsCase c{client_dns, cn_dns,     cn,
                                          dns_san,    ip_san,     dns_permit,
                                          ip_permit,  dns_exclude, ip_exclude};
                    std::vector<std::string> permitted, excluded;
                    if (dns_permit != kNone) {
                      permitted.push_back(dns_permit == kValid ? "DNS:localhost"
                                                               : "DNS:example.com");
                    }
                    if (ip_permit != kNone) {
                      permitted.push_back(ip_permit == kValid ? "IP:127.0.0.0/24"
                                                              : "IP:1.1.1.0/24");
                    }
                    if (dns_exclude != kNone) {
                      excluded.push_back(dns_exclude == kValid
                                             ? "DNS:localhost"
                                             : "DNS:bad.example.com");
                    }
                    if (ip_exclude != kNone) {
                      excluded.push_back(ip_exclude == kValid ? "IP:127.0.0.0/24"
                                                              : "IP:1.1.1.0/24");
                    }
                    std::string subject = "O=BetterTLS/serialNumber=1234";
                    if (cn != kNone) {
                      const char* value =
                          cn_dns ? (cn == kValid ? "test.localhost" : "bad.example.com")
                                 : (cn == kValid ? "127.0.0.1" : "1.1.1.1");
                      subject = absl::StrCat("CN=", value, "/", subject);
                    }
                    std::vector<std::string> sans;
                    if (dns_san != kNone) {
                      sans.push_back(dns_san == kValid ? "DNS:test.localhost"
                                                       : "DNS:bad.example.com");
                    }
                    if (ip_san != kNone) {
                      sans.push_back(ip_san == kValid ? "IP:127.0.0.1" : "IP:1.1.1.1");
                    }
                    CertificatePtr leaf = MakeCert(CertSpec{
                        subject, sans.empty() ? kNoSan : San(sans)});
                    absl::StatusOr<PeerName> peer =
                        ParsePeerName(client_dns ? "test.localhost" : "127.0.0.1");
                    ASSERT_TRUE(peer.ok());

                    for (Profile profile : {Profile::kRfc5280, Profile::kWebPki}) {
                      bool accept = LeafMatchesPeerName(*leaf, *peer, profile);
                      if (!permitted.empty() || !excluded.empty()) {
                        NameConstraintsPtr nc =
                            MakeNameConstraints(permitted, excluded);
                        absl::StatusOr<NameConstraints> constraints =
                            NameConstraints::Create(nc.get());
                        ASSERT_TRUE(constraints.ok()) << constraints.status();
                        accept = accept &&
                                 constraints->IsPermitted(*leaf, true, profile).ok();
                      }
                      ++cases;
                      if (accept != BetterTlsExpectsAccept(c)) {
                        ++mismatches;
                        ADD_FAILURE() << Describe(c) << " profile "
                                      << static_cast<int>(profile) << ": got "
                                      << (accept ? "ACCEPT" : "REJECT");
                        if (mismatches > 20) return;
                      }
                    }
                  }
                }
              }
            }
          }
        }
      }
    }
  }
  EXPECT_EQ(cases, 2 * 2 * 3 * 3 * 3 * 3 * 3 * 3 * 3 * 2);
}

}  // namespace
}  // namespace chainverify::pki
