// The loader against hand-written JSON: the shapes the real suite uses (nulls,
// unknown keys) without needing the suite itself.
#include "tests/conformance/limbo_suite.h"

#include <cstdio>
#include <fstream>
#include <string>

#include <zlib.h>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace chainverify::conformance {
namespace {

constexpr char kCase[] = R"json({
  "version": 1,
  "testcases": [{
    "id": "pathlen::max-chain-depth-1",
    "conflicts_with": [],
    "features": ["max-chain-depth"],
    "importance": "undetermined",
    "description": "d",
    "validation_kind": "SERVER",
    "trusted_certs": ["-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n"],
    "untrusted_intermediates": [],
    "peer_certificate": "p",
    "peer_certificate_key": null,
    "validation_time": "2024-01-01T00:00:00+00:00",
    "signature_algorithms": [],
    "key_usage": ["digitalSignature"],
    "extended_key_usage": ["serverAuth"],
    "expected_result": "SUCCESS",
    "expected_peer_name": {"kind": "DNS", "value": "example.com"},
    "expected_peer_names": [],
    "max_chain_depth": 1,
    "crls": [],
    "a_key_from_a_newer_schema": {"x": [1, 2]}
  }, {
    "id": "rfc5280::nc::nc-permits-email-exact",
    "validation_kind": "CLIENT",
    "peer_certificate_key": null,
    "validation_time": null,
    "expected_result": "FAILURE",
    "expected_peer_name": null,
    "expected_peer_names": [{"kind": "RFC822", "value": "foo@example.com"}],
    "max_chain_depth": null
  }]
})json";

TEST(ParseSuiteTest, ReadsFieldsAndNulls) {
  absl::StatusOr<Limbo> suite = ParseSuite(kCase);
  ASSERT_TRUE(suite.ok()) << suite.status();
  ASSERT_EQ(suite->testcases_size(), 2);

  const Testcase& server = suite->testcases(0);
  EXPECT_EQ(server.id(), "pathlen::max-chain-depth-1");
  EXPECT_EQ(server.validation_kind(), SERVER);
  EXPECT_EQ(server.expected_result(), SUCCESS);
  EXPECT_EQ(server.expected_peer_name().kind(), PeerName::DNS);
  EXPECT_EQ(server.expected_peer_name().value(), "example.com");
  ASSERT_TRUE(server.has_max_chain_depth());
  EXPECT_EQ(server.max_chain_depth(), 1);
  EXPECT_EQ(server.validation_time(), "2024-01-01T00:00:00+00:00");
  ASSERT_EQ(server.key_usage_size(), 1);
  ASSERT_EQ(server.trusted_certs_size(), 1);

  // JSON null must read as "absent", not as zero: max_chain_depth 0 is a real
  // limit (no intermediates at all).
  const Testcase& client = suite->testcases(1);
  EXPECT_EQ(client.validation_kind(), CLIENT);
  EXPECT_FALSE(client.has_max_chain_depth());
  EXPECT_FALSE(client.has_expected_peer_name());
  EXPECT_TRUE(client.validation_time().empty());
  ASSERT_EQ(client.expected_peer_names_size(), 1);
  EXPECT_EQ(client.expected_peer_names(0).kind(), PeerName::RFC822);
}

TEST(ParseSuiteTest, UnknownEnumValueReadsAsUnspecified) {
  // A newer suite may add a validation kind; the harness must see it as
  // unknown (and skip the case), not fail to load the whole suite.
  absl::StatusOr<Limbo> suite = ParseSuite(
      R"({"version": 1, "testcases": [{"id": "x", "validation_kind": "BOTH"}]})");
  ASSERT_TRUE(suite.ok()) << suite.status();
  EXPECT_EQ(suite->testcases(0).validation_kind(), VALIDATION_KIND_UNSPECIFIED);
}

TEST(ParseSuiteTest, RejectsOtherSchemaVersions) {
  EXPECT_FALSE(ParseSuite(R"({"version": 2, "testcases": []})").ok());
  EXPECT_FALSE(ParseSuite("not json").ok());
}

TEST(ReadMaybeGzippedTest, ReadsPlainAndGzip) {
  const std::string dir =
      getenv("TEST_TMPDIR") ? getenv("TEST_TMPDIR") : "/tmp";
  const std::string plain = absl::StrCat(dir, "/suite.json");
  const std::string packed = absl::StrCat(dir, "/suite.json.gz");
  { std::ofstream(plain) << kCase; }
  gzFile out = gzopen(packed.c_str(), "wb");
  ASSERT_NE(out, nullptr);
  ASSERT_EQ(gzwrite(out, kCase, sizeof(kCase) - 1),
            static_cast<int>(sizeof(kCase) - 1));
  ASSERT_EQ(gzclose(out), Z_OK);

  for (const std::string& path : {plain, packed}) {
    absl::StatusOr<Limbo> suite = LoadSuite(path);
    ASSERT_TRUE(suite.ok()) << path << ": " << suite.status();
    EXPECT_EQ(suite->testcases_size(), 2) << path;
  }
  EXPECT_EQ(LoadSuite(absl::StrCat(dir, "/missing.json")).status().code(),
            absl::StatusCode::kNotFound);
}

TEST(NamespaceTest, PrefixBeforeDoubleColon) {
  EXPECT_EQ(Namespace("rfc5280::nc::permitted-dn-match"), "rfc5280");
  EXPECT_EQ(Namespace("plain"), "plain");
}

}  // namespace
}  // namespace chainverify::conformance
