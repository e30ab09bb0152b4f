#include "server/pki/hostname_match.h"

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"
#include "tests/server/pki/name_test_util.h"

namespace chainverify::pki {
namespace {

using name_testing::CertSpec;
using name_testing::MakeCert;
using Kind = PeerName::Kind;

// --- ParsePeerName ---------------------------------------------------------

// A valid host name of exactly `length` characters: 63-character labels.
std::string LongName(size_t length) {
  std::string out;
  while (out.size() < length) {
    if (!out.empty()) out += '.';
    out += std::string(std::min<size_t>(63, length - out.size()), 'a');
  }
  return out;
}

struct ParseCase {
  const char* test_name;
  std::string input;
  bool ok;
  Kind kind = Kind::kNone;
  std::string value;  // for kIpAddress: hex of the bytes
};

class ParsePeerNameTest : public ::testing::TestWithParam<ParseCase> {};

TEST_P(ParsePeerNameTest, Parses) {
  const ParseCase& c = GetParam();
  absl::StatusOr<PeerName> name = ParsePeerName(c.input);
  if (!c.ok) {
    ASSERT_FALSE(name.ok()) << "accepted as " << name->value;
    EXPECT_EQ(name.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_FALSE(name.status().message().empty());
    return;
  }
  ASSERT_TRUE(name.ok()) << name.status();
  EXPECT_EQ(name->kind, c.kind);
  if (c.kind == Kind::kIpAddress) {
    EXPECT_EQ(absl::BytesToHexString(name->value), c.value);
  } else {
    EXPECT_EQ(name->value, c.value);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Inputs, ParsePeerNameTest,
    ::testing::Values(
        ParseCase{"Empty", "", true, Kind::kNone, ""},
        ParseCase{"Dns", "www.example.com", true, Kind::kDns, "www.example.com"},
        ParseCase{"DnsLowercased", "WWW.Example.COM", true, Kind::kDns,
                  "www.example.com"},
        ParseCase{"DnsTrailingDotStripped", "example.com.", true, Kind::kDns,
                  "example.com"},
        ParseCase{"DnsSingleLabel", "localhost", true, Kind::kDns, "localhost"},
        ParseCase{"DnsUnderscore", "_srv.internal_host.corp", true, Kind::kDns,
                  "_srv.internal_host.corp"},
        ParseCase{"DnsALabel", "xn--bcher-kva.example", true, Kind::kDns,
                  "xn--bcher-kva.example"},
        ParseCase{"DnsLabel63", std::string(63, 'a') + ".com", true, Kind::kDns,
                  std::string(63, 'a') + ".com"},
        ParseCase{"Ipv4", "127.0.0.1", true, Kind::kIpAddress, "7f000001"},
        ParseCase{"Ipv6", "2001:db8::1", true, Kind::kIpAddress,
                  "20010db8000000000000000000000001"},
        ParseCase{"Ipv6Bracketed", "[::1]", true, Kind::kIpAddress,
                  "00000000000000000000000000000001"},
        ParseCase{"Ipv4MappedIpv6", "::ffff:10.0.0.1", true, Kind::kIpAddress,
                  "00000000000000000000ffff0a000001"},
        ParseCase{"Email", "User@Example.com", true, Kind::kEmail,
                  "User@Example.com"},
        ParseCase{"TwoTrailingDots", "example.com..", false},
        ParseCase{"OnlyDot", ".", false},
        ParseCase{"LeadingDot", ".example.com", false},
        ParseCase{"EmptyLabel", "a..example.com", false},
        ParseCase{"Wildcard", "*.example.com", false},
        ParseCase{"PartialWildcard", "f*.example.com", false},
        ParseCase{"Space", "exa mple.com", false},
        ParseCase{"LeadingSpace", " example.com", false},
        ParseCase{"LeadingHyphen", "-a.example.com", false},
        ParseCase{"TrailingHyphen", "a-.example.com", false},
        ParseCase{"Label64", std::string(64, 'a') + ".com", false},
        ParseCase{"MaxLength", LongName(253), true, Kind::kDns, LongName(253)},
        ParseCase{"TooLong", LongName(254), false},
        ParseCase{"NonAscii", "b\xc3\xbc" "cher.example", false},
        ParseCase{"Slash", "example.com/path", false},
        ParseCase{"Colon", "example.com:443", false},
        ParseCase{"ShortIpv4", "127.1", false},
        ParseCase{"Ipv4LeadingZero", "127.000.000.001", false},
        ParseCase{"Ipv4OutOfRange", "256.0.0.1", false},
        ParseCase{"Ipv6Zone", "fe80::1%eth0", false},
        ParseCase{"BracketedIpv4", "[127.0.0.1]", false},
        ParseCase{"UnclosedBracket", "[::1", false},
        ParseCase{"EmailTwoAt", "a@b@example.com", false},
        ParseCase{"EmailNoLocal", "@example.com", false},
        ParseCase{"EmailBadDomain", "a@exa mple.com", false},
        ParseCase{"EmailNoDomain", "a@", false}),
    [](const ::testing::TestParamInfo<ParseCase>& info) {
      return info.param.test_name;
    });

// --- MatchesDnsPattern -----------------------------------------------------

struct PatternCase {
  const char* test_name;
  const char* san;
  const char* host;
  bool matches;
};

class MatchesDnsPatternTest : public ::testing::TestWithParam<PatternCase> {};

TEST_P(MatchesDnsPatternTest, Matches) {
  const PatternCase& c = GetParam();
  EXPECT_EQ(MatchesDnsPattern(c.san, c.host), c.matches)
      << c.san << " vs " << c.host;
}

INSTANTIATE_TEST_SUITE_P(
    Patterns, MatchesDnsPatternTest,
    ::testing::Values(
        PatternCase{"Exact", "example.com", "example.com", true},
        PatternCase{"CaseInsensitive", "EXAMPLE.com", "example.COM", true},
        PatternCase{"TrailingDotSan", "example.com.", "example.com", true},
        PatternCase{"TrailingDotHost", "example.com", "example.com.", true},
        PatternCase{"DifferentName", "example.com", "example2.com", false},
        PatternCase{"SubdomainOfSan", "example.com", "abc.example.com", false},
        PatternCase{"ApexOfSan", "abc.example.com", "example.com", false},
        PatternCase{"Sibling", "abc.example.com", "def.example.com", false},
        PatternCase{"Wildcard", "*.example.com", "foo.example.com", true},
        PatternCase{"WildcardCase", "*.EXAMPLE.com", "Foo.example.COM", true},
        PatternCase{"WildcardTrailingDots", "*.example.com.", "foo.example.com.",
                    true},
        PatternCase{"WildcardNotApex", "*.example.com", "example.com", false},
        PatternCase{"WildcardOneLabelOnly", "*.example.com",
                    "foo.bar.example.com", false},
        PatternCase{"WildcardPublicSuffix", "*.com", "example.com", false},
        PatternCase{"WildcardBare", "*", "example", false},
        PatternCase{"WildcardPartialPrefix", "f*.example.com", "foo.example.com",
                    false},
        PatternCase{"WildcardPartialSuffix", "*o.example.com", "foo.example.com",
                    false},
        PatternCase{"WildcardEmbeddedInALabel", "xn--*-1b3c148a.example.com",
                    "xn--bliss-1b3c148a.example.com", false},
        PatternCase{"WildcardNeverMatchesALabel", "*.example.com",
                    "xn--bcher-kva.example.com", false},
        PatternCase{"WildcardNeverMatchesALabelUpper", "*.example.com",
                    "XN--bcher-kva.example.com", false},
        PatternCase{"WildcardNotLeftmost", "foo.*.example.com",
                    "foo.bar.example.com", false},
        PatternCase{"TwoWildcards", "*.*.example.com", "a.b.example.com", false},
        PatternCase{"WildcardEmptyLabelInSuffix", "*.example..com",
                    "a.example..com", false},
        PatternCase{"HostLiteralStar", "*.example.com", "*.example.com", false},
        PatternCase{"EmptySan", "", "example.com", false},
        PatternCase{"EmptyHost", "example.com", "", false},
        PatternCase{"HostEmptyFirstLabel", "*.example.com", ".example.com",
                    false}),
    [](const ::testing::TestParamInfo<PatternCase>& info) {
      return info.param.test_name;
    });

// --- LeafMatchesPeerName ---------------------------------------------------

struct LeafCase {
  const char* test_name;
  std::string subject;
  std::optional<std::vector<std::string>> sans;
  std::string peer;  // ParsePeerName input
  bool matches;
};

class LeafMatchesPeerNameTest : public ::testing::TestWithParam<LeafCase> {};

TEST_P(LeafMatchesPeerNameTest, Matches) {
  const LeafCase& c = GetParam();
  CertificatePtr leaf = MakeCert(CertSpec{c.subject, c.sans});
  absl::StatusOr<PeerName> peer = ParsePeerName(c.peer);
  ASSERT_TRUE(peer.ok()) << peer.status();
  for (Profile profile : {Profile::kRfc5280, Profile::kWebPki}) {
    EXPECT_EQ(LeafMatchesPeerName(*leaf, *peer, profile), c.matches)
        << "profile " << static_cast<int>(profile);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Leaves, LeafMatchesPeerNameTest,
    ::testing::Values(
        LeafCase{"DnsExact", "CN=x", {{"DNS:example.com"}}, "example.com", true},
        LeafCase{"DnsSecondSan", "CN=x", {{"DNS:a.example", "DNS:example.com"}},
                 "Example.COM", true},
        LeafCase{"DnsWildcard", "CN=x", {{"DNS:*.example.com"}},
                 "www.example.com", true},
        LeafCase{"DnsMismatch", "CN=x", {{"DNS:example.com"}}, "example.org",
                 false},
        LeafCase{"DnsIgnoresIpSan", "CN=x", {{"IP:127.0.0.1"}}, "localhost",
                 false},
        // No Common Name fallback, with or without SAN.
        LeafCase{"NoCnFallbackWithoutSan", "CN=example.com", std::nullopt,
                 "example.com", false},
        LeafCase{"NoCnFallbackWithSan", "CN=example.com", {{"DNS:other.example"}},
                 "example.com", false},
        LeafCase{"IpCnNotUsed", "CN=127.0.0.1", {{"DNS:example.com"}},
                 "127.0.0.1", false},
        LeafCase{"Ipv4", "CN=x", {{"IP:127.0.0.1"}}, "127.0.0.1", true},
        LeafCase{"Ipv4Mismatch", "CN=x", {{"IP:127.0.0.2"}}, "127.0.0.1", false},
        LeafCase{"Ipv6", "CN=x", {{"IP:2001:db8::1"}}, "[2001:db8::1]", true},
        LeafCase{"Ipv4VsMappedIpv6San", "CN=x", {{"IP:::ffff:127.0.0.1"}},
                 "127.0.0.1", false},
        LeafCase{"MappedIpv6VsIpv4San", "CN=x", {{"IP:127.0.0.1"}},
                 "::ffff:127.0.0.1", false},
        LeafCase{"IpNotMatchedByDnsSan", "CN=x", {{"DNS:127.0.0.1"}},
                 "127.0.0.1", false},
        LeafCase{"Email", "CN=x", {{"email:user@example.com"}},
                 "user@example.com", true},
        LeafCase{"EmailDomainCaseInsensitive", "CN=x",
                 {{"email:user@EXAMPLE.com"}}, "user@example.COM", true},
        LeafCase{"EmailLocalCaseSensitive", "CN=x", {{"email:User@example.com"}},
                 "user@example.com", false},
        LeafCase{"EmailSubjectNotUsed", "emailAddress=user@example.com",
                 {{"DNS:example.com"}}, "user@example.com", false},
        LeafCase{"NoneAlwaysMatches", "CN=x", {{"DNS:example.com"}}, "", true}),
    [](const ::testing::TestParamInfo<LeafCase>& info) {
      return info.param.test_name;
    });

}  // namespace
}  // namespace chainverify::pki
