// `chainverify trust diff`: generated stores with every kind of difference,
// then the host's OS store against Mozilla's certdata.txt from ../shared,
// through the real CLI binary.
#include "client/trust_tool.h"

#include <cstdlib>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <google/protobuf/util/json_util.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/integration/server_process.h"
#include "tests/testutil/certdata_writer.h"
#include "tests/testutil/shared_data.h"
#include "tests/testutil/test_pki.h"

namespace chainverify::client {
namespace {

using ::chainverify::testing::CertdataEntry;
using ::chainverify::testing::CertdataFile;
using ::chainverify::testing::MustIssue;
using ::chainverify::testing::RootSpec;
using ::chainverify::testing::TestCert;

std::string Write(const std::string& name, const std::string& text) {
  const std::string path = absl::StrCat(std::getenv("TEST_TMPDIR"), "/", name);
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

std::set<std::string> Labels(const google::protobuf::RepeatedPtrField<v1::TrustDiff::Entry>& e) {
  std::set<std::string> out;
  for (const auto& entry : e) out.insert(entry.label().empty() ? entry.subject() : entry.label());
  return out;
}

TEST(TrustDiffTest, EveryKindOfDifference) {
  auto root = [](const std::string& cn, int64_t not_after) {
    auto spec = RootSpec(cn);
    spec.not_after = absl::FromUnixSeconds(not_after);
    return MustIssue(spec, nullptr);
  };
  const TestCert kept = root("Kept", 1900000000);
  const TestCert removed = root("Removed", 1900000000);
  const TestCert email_only = root("Email Only", 1900000000);
  const TestCert dated = root("Dated", 1900000000);
  const TestCert added = root("Added", 1900000000);
  const TestCert expiring = root("Expiring", 1800000000);  // 2027-01-15
  const std::string pem = Write("os.pem", kept.pem() + removed.pem() + email_only.pem() +
                                              dated.pem() + expiring.pem());
  auto entry = [](const TestCert& c, const std::string& label) {
    CertdataEntry e;
    e.der = c.der;
    e.label = label;
    return e;
  };
  CertdataEntry email = entry(email_only, "Email Only");
  email.server_auth = "CKT_NSS_MUST_VERIFY_TRUST";
  email.email_protection = "CKT_NSS_TRUSTED_DELEGATOR";
  CertdataEntry with_date = entry(dated, "Dated");
  with_date.server_distrust_after = "241130235959Z";
  const std::string certdata = Write(
      "certdata.txt", CertdataFile({entry(kept, "Kept"), email, with_date, entry(added, "Added"),
                                    entry(expiring, "Expiring")}));

  auto old_side = ParseTrustSources(absl::StrCat("pem_file:", pem));
  auto new_side = ParseTrustSources(absl::StrCat("mozilla_certdata:", certdata));
  ASSERT_TRUE(old_side.ok() && new_side.ok());
  auto diff = DiffTrustSources(*old_side, *new_side, absl::FromUnixSeconds(1850000000));
  ASSERT_TRUE(diff.ok()) << diff.status();
  EXPECT_EQ(diff->old_anchors(), 5);
  EXPECT_EQ(diff->new_anchors(), 4);
  EXPECT_EQ(diff->common_anchors(), 3);
  EXPECT_EQ(Labels(diff->only_in_old()), (std::set<std::string>{"CN=Removed", "Email Only"}));
  EXPECT_EQ(Labels(diff->only_in_new()), (std::set<std::string>{"Added"}));
  EXPECT_EQ(Labels(diff->constraints_differ()), (std::set<std::string>{"Dated"}));
  EXPECT_EQ(Labels(diff->expiring()), (std::set<std::string>{"Expiring"}));
  for (const auto& e : diff->only_in_old()) {
    EXPECT_EQ(e.new_server_auth(), e.label() == "Email Only" ? "not trusted" : "absent");
    EXPECT_EQ(e.old_server_auth(), "trusted");
  }
  EXPECT_EQ(diff->constraints_differ(0).new_server_auth(),
            "trusted, distrust after 2024-11-30T23:59:59Z");

  const std::string text = FormatTrustDiff(*diff);
  EXPECT_TRUE(absl::StrContains(text, "Only in OLD: anchors that NEW does not hold or does not "
                                      "trust (2):"))
      << text;
  EXPECT_TRUE(absl::StrContains(text, "NEW: server_auth and client_auth trusted, distrust after "
                                      "2024-11-30T23:59:59Z"))
      << text;

  // The same sides the other way round, and one side against itself.
  auto reverse = DiffTrustSources(*new_side, *old_side, absl::FromUnixSeconds(0));
  ASSERT_TRUE(reverse.ok());
  EXPECT_EQ(Labels(reverse->only_in_new()), (std::set<std::string>{"CN=Removed", "Email Only"}));
  EXPECT_TRUE(reverse->expiring().empty());
  auto same = DiffTrustSources(*old_side, *old_side, absl::FromUnixSeconds(0));
  ASSERT_TRUE(same.ok());
  EXPECT_TRUE(same->only_in_old().empty() && same->only_in_new().empty() &&
              same->constraints_differ().empty());
}

TEST(TrustDiffTest, SourceSpecs) {
  auto two = ParseTrustSources("system+pem_directory:/etc/ssl/certs");
  ASSERT_TRUE(two.ok());
  ASSERT_EQ(two->size(), 2u);
  EXPECT_TRUE((*two)[0].system());
  EXPECT_EQ((*two)[1].pem_directory(), "/etc/ssl/certs");
  for (const char* bad : {"", "pem_file:", "system:/x", "certdata:/x", "mozilla_certdata"}) {
    EXPECT_FALSE(ParseTrustSources(bad).ok()) << bad;
  }
}

// The host's OS bundle (Debian 12: ca-certificates 20230311) against the
// root program's current file, through the CLI as an operator runs it.
TEST(TrustDiffTest, OsStoreAgainstMozillaCertdata) {
  std::string why;
  const std::string certdata = ::chainverify::testing::LocateMozillaCertdata(&why);
  if (certdata.empty()) GTEST_SKIP() << "MOZILLA certdata.txt NOT FOUND, not run: " << why;
  const std::string cli = ::chainverify::testing::Runfile("client/chainverify");
  std::string json;
  const int rc = ::chainverify::testing::RunCommand(
      {cli, "trust", "diff", "--json", "system", "mozilla_certdata:" + certdata}, &json);
  EXPECT_EQ(rc, kTrustDifferent);
  v1::TrustDiff diff;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json, &diff).ok()) << json;

  // Roots the program removed for cause, still in Debian 12's bundle.
  int removed = 0;
  for (const auto& e : diff.only_in_old()) {
    if (absl::StrContains(e.subject(), "TrustCor") || absl::StrContains(e.subject(), "E-Tugra")) {
      EXPECT_EQ(e.new_server_auth(), "absent") << e.subject();
      ++removed;
    }
  }
  EXPECT_GE(removed, 6) << "expected the 3 TrustCor and 3 E-Tugra roots of Debian 12's "
                           "ca-certificates among the anchors only in the OS store";
  // Entrust Root Certification Authority: trusted by both, with Mozilla's date.
  bool entrust = false;
  for (const auto& e : diff.constraints_differ()) {
    if (e.label() == "Entrust Root Certification Authority") {
      entrust = true;
      EXPECT_EQ(e.new_server_auth(), "trusted, distrust after 2024-11-30T23:59:59Z");
      EXPECT_EQ(e.old_server_auth(), "trusted");
    }
  }
  EXPECT_TRUE(entrust) << json;
  EXPECT_EQ(diff.new_anchors(), 121);
  EXPECT_EQ(diff.new_anchors(), diff.common_anchors() + diff.only_in_new_size());
  EXPECT_EQ(diff.old_anchors(), diff.common_anchors() + diff.only_in_old_size());

  // Human output and exit codes.
  std::string text;
  EXPECT_EQ(::chainverify::testing::RunCommand(
                {cli, "trust", "diff", "system", "mozilla_certdata:" + certdata}, &text),
            kTrustDifferent);
  EXPECT_TRUE(absl::StrContains(text, "CN=TrustCor RootCert CA-1")) << text;
  EXPECT_EQ(::chainverify::testing::RunCommand(
                {cli, "trust", "diff", "mozilla_certdata:" + certdata, "mozilla_certdata:" + certdata},
                nullptr),
            kTrustSame);
  EXPECT_EQ(::chainverify::testing::RunCommand({cli, "trust", "diff", "system"}, nullptr),
            kTrustError);
}

}  // namespace
}  // namespace chainverify::client
