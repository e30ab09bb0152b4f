#include "server/pki/public_suffix_list.h"

#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace chainverify::pki {
namespace {

using Section = PublicSuffixList::Section;

// A small list in the real file's format, with each kind of rule. Tests never
// read the system list.
constexpr char kList[] = R"(// This Source Code Form is subject to the terms of the Mozilla Public
// License, v. 2.0.

// ===BEGIN ICANN DOMAINS===

// com : https://www.iana.org/domains/root/db/com.html
com

uk
co.uk

// ck : a wildcard with an exception
*.ck
!www.ck

// kawasaki.jp : wildcard and exception under a second-level rule
jp
*.kawasaki.jp
!city.kawasaki.jp

// A Unicode rule, stored as A-labels.
cn
公司.cn

onion   trailing text after whitespace is ignored
// ===END ICANN DOMAINS===
// ===BEGIN PRIVATE DOMAINS===

// Amazon S3
s3.amazonaws.com
*.compute.amazonaws.com

// A private rule under a TLD the ICANN section lacks.
dyn.privatetld
// ===END PRIVATE DOMAINS===
)";

std::shared_ptr<const PublicSuffixList> MustParse(const char* text) {
  absl::StatusOr<std::shared_ptr<const PublicSuffixList>> list =
      PublicSuffixList::Parse(text);
  EXPECT_TRUE(list.ok()) << list.status();
  return list.ok() ? *list : nullptr;
}

struct SuffixCase {
  const char* domain;
  std::optional<Section> section;  // nullopt: not a public suffix
};

class PublicSuffixTest : public ::testing::TestWithParam<SuffixCase> {};

TEST_P(PublicSuffixTest, Section) {
  std::shared_ptr<const PublicSuffixList> list = MustParse(kList);
  ASSERT_NE(list, nullptr);
  const SuffixCase& c = GetParam();
  EXPECT_EQ(list->PublicSuffixSection(c.domain), c.section) << c.domain;
  EXPECT_EQ(list->IsPublicSuffix(c.domain), c.section.has_value()) << c.domain;
}

INSTANTIATE_TEST_SUITE_P(
    Rules, PublicSuffixTest,
    ::testing::Values(
        // Plain rules.
        SuffixCase{"com", Section::kIcann}, SuffixCase{"example.com", std::nullopt},
        SuffixCase{"a.b.example.com", std::nullopt},
        SuffixCase{"uk", Section::kIcann}, SuffixCase{"co.uk", Section::kIcann},
        SuffixCase{"example.co.uk", std::nullopt},
        // Wildcard "*.ck" and exception "!www.ck".
        SuffixCase{"ck", Section::kIcann},  // implicit "*" (no "ck" rule)
        SuffixCase{"anything.ck", Section::kIcann},
        SuffixCase{"www.ck", std::nullopt},
        SuffixCase{"a.www.ck", std::nullopt},
        SuffixCase{"a.anything.ck", std::nullopt},
        // Wildcard and exception below a second-level rule.
        SuffixCase{"kawasaki.jp", std::nullopt},
        SuffixCase{"foo.kawasaki.jp", Section::kIcann},
        SuffixCase{"city.kawasaki.jp", std::nullopt},
        SuffixCase{"a.city.kawasaki.jp", std::nullopt},
        // Unicode rule, asked for in A-label form.
        SuffixCase{"xn--55qx5d.cn", Section::kIcann},
        SuffixCase{"example.xn--55qx5d.cn", std::nullopt},
        SuffixCase{"onion", Section::kIcann},
        // PRIVATE section.
        SuffixCase{"s3.amazonaws.com", Section::kPrivate},
        SuffixCase{"amazonaws.com", std::nullopt},
        SuffixCase{"bucket.s3.amazonaws.com", std::nullopt},
        SuffixCase{"eu-1.compute.amazonaws.com", Section::kPrivate},
        SuffixCase{"dyn.privatetld", Section::kPrivate},
        // Any single label is a suffix (implicit rule "*").
        SuffixCase{"localhost", Section::kIcann},
        SuffixCase{"example.localhost", std::nullopt},
        // Case-insensitive; malformed names are not suffixes.
        SuffixCase{"CO.UK", Section::kIcann}, SuffixCase{"", std::nullopt},
        SuffixCase{"co..uk", std::nullopt}, SuffixCase{".com", std::nullopt},
        SuffixCase{"com.", std::nullopt}));

TEST(PublicSuffixListTest, IcannTlds) {
  std::shared_ptr<const PublicSuffixList> list = MustParse(kList);
  ASSERT_NE(list, nullptr);
  for (const char* tld : {"com", "uk", "ck", "jp", "cn", "onion", "COM"}) {
    EXPECT_TRUE(list->IsIcannTld(tld)) << tld;
  }
  // Only in the PRIVATE section, or nowhere.
  for (const char* tld : {"privatetld", "localhost", "corp", "amazonaws", ""}) {
    EXPECT_FALSE(list->IsIcannTld(tld)) << tld;
  }
}

TEST(PublicSuffixListTest, WithoutSectionMarkersRulesAreIcann) {
  std::shared_ptr<const PublicSuffixList> list = MustParse("com\n*.ck\n");
  ASSERT_NE(list, nullptr);
  EXPECT_EQ(list->size(), 2u);
  EXPECT_EQ(list->PublicSuffixSection("com"), Section::kIcann);
  EXPECT_EQ(list->PublicSuffixSection("x.ck"), Section::kIcann);
  EXPECT_TRUE(list->IsIcannTld("ck"));
}

TEST(PublicSuffixListTest, RejectsMalformedLists) {
  for (const char* text : {
           "",                       // no rule
           "// only a comment\n",    // no rule
           "com\nco..uk\n",          // empty label
           "com\n.com\n",            // empty label
           "com\nfoo.*.com\n",       // '*' not left-most
           "com\n*foo.com\n",        // '*' not a whole label
           "com\n!com\n",            // exception of a single label
           "com\n!\n",               // empty exception
           "com\n\xff\xfe.com\n",    // invalid UTF-8
       }) {
    EXPECT_FALSE(PublicSuffixList::Parse(text).ok()) << text;
  }
}

TEST(PublicSuffixListTest, LoadReadsAFile) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string path = std::string(tmp != nullptr ? tmp : "/tmp") +
                           "/public_suffix_list_test.dat";
  {
    std::ofstream out(path, std::ios::binary);
    out << kList;
  }
  absl::StatusOr<std::shared_ptr<const PublicSuffixList>> list =
      PublicSuffixList::Load(path);
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_TRUE((*list)->IsPublicSuffix("co.uk"));
  EXPECT_FALSE((*list)->IsPublicSuffix("example.co.uk"));
}

TEST(PublicSuffixListTest, LoadOfAMissingFileIsNotFound) {
  absl::StatusOr<std::shared_ptr<const PublicSuffixList>> list =
      PublicSuffixList::Load("/nonexistent/public_suffix_list.dat");
  EXPECT_EQ(list.status().code(), absl::StatusCode::kNotFound);
}

TEST(PublicSuffixListTest, DefaultIsLoadedOnce) {
  // Whether the system has a list is not this test's business; only that the
  // answer is stable and usable. Under --config=asan this is also the
  // regression test for the fuzzers' first finding: LeakSanitizer reported the
  // never-destroyed default list as leaked at exit.
  const PublicSuffixList* first = PublicSuffixList::Default();
  EXPECT_EQ(PublicSuffixList::Default(), first);
  if (first != nullptr) {
    EXPECT_GT(first->size(), 0u);
  }
}

struct AsciiCase {
  const char* utf8;
  std::optional<std::string> ascii;
};

class DomainToAsciiTest : public ::testing::TestWithParam<AsciiCase> {};

TEST_P(DomainToAsciiTest, Converts) {
  EXPECT_EQ(DomainToAscii(GetParam().utf8), GetParam().ascii) << GetParam().utf8;
}

INSTANTIATE_TEST_SUITE_P(
    Rfc3492, DomainToAsciiTest,
    ::testing::Values(
        AsciiCase{"example.com", "example.com"},
        AsciiCase{"Example.COM", "example.com"},
        AsciiCase{"bücher.example", "xn--bcher-kva.example"},
        AsciiCase{"Bücher.example", "xn--bcher-kva.example"},
        AsciiCase{"münchen", "xn--mnchen-3ya"},
        AsciiCase{"公司.cn", "xn--55qx5d.cn"},
        AsciiCase{"test-測試.com", "xn--test--gs1lv54n.com"},
        // RFC 3492 7.1 (B), Chinese (simplified).
        AsciiCase{"他们为什么不说中文", "xn--ihqwcrb4cv8a8dqg056pqjye"},
        AsciiCase{"ü-ü", "xn----dhab"},
        AsciiCase{"", ""},
        // Invalid UTF-8: a stray continuation byte, a truncated sequence, an
        // overlong '/', a surrogate.
        AsciiCase{"\x80.com", std::nullopt}, AsciiCase{"\xc3", std::nullopt},
        AsciiCase{"\xc0\xaf", std::nullopt},
        AsciiCase{"\xed\xa0\x80", std::nullopt}));

}  // namespace
}  // namespace chainverify::pki
