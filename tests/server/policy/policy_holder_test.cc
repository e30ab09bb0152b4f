#include "server/policy/policy_holder.h"

#include <sys/stat.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/testutil/test_pki.h"

namespace chainverify::policy {
namespace {

using ::chainverify::testing::MustIssue;
using ::chainverify::testing::RootSpec;

// A fresh directory per test holding r1.pem and r2.pem (two unrelated roots).
std::string TestDir() {
  std::string dir = absl::StrCat(
      std::getenv("TEST_TMPDIR"), "/",
      ::testing::UnitTest::GetInstance()->current_test_info()->name());
  mkdir(dir.c_str(), 0755);
  static const std::string* const r1 =
      new std::string(MustIssue(RootSpec("Holder Test Root 1"), nullptr).pem());
  static const std::string* const r2 =
      new std::string(MustIssue(RootSpec("Holder Test Root 2"), nullptr).pem());
  std::ofstream(dir + "/r1.pem") << *r1;
  std::ofstream(dir + "/r2.pem") << *r2;
  return dir;
}

// Written beside and renamed into place, as a ConfigMap or an editor would:
// a reader never sees half a file.
void WriteAtomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  std::ofstream(tmp, std::ios::binary) << text;
  ASSERT_EQ(std::rename(tmp.c_str(), path.c_str()), 0);
}

std::string PolicyText(const std::string& version, const std::vector<std::string>& pems) {
  std::string text = absl::StrCat("version: \"", version, "\"\ndefault_policy: \"fleet\"\n",
                                  "policies { name: \"fleet\"");
  for (const std::string& pem : pems) {
    absl::StrAppend(&text, " trust_stores { pem_file: \"", pem, "\" }");
  }
  absl::StrAppend(&text, " }\n");
  return text;
}

std::unique_ptr<PolicyHolder> MustCreate(const std::string& path) {
  auto holder = PolicyHolder::Create(path, pki::SearchLimits());
  EXPECT_TRUE(holder.ok()) << holder.status();
  return holder.ok() ? *std::move(holder) : nullptr;
}

// Polls `done` until it holds or `timeout` passes.
template <typename Fn>
bool Eventually(Fn done, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (done()) return true;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return done();
}

TEST(PolicyHolderTest, ReloadSwapsThePolicy) {
  const std::string dir = TestDir();
  const std::string path = dir + "/policy.textproto";
  WriteAtomically(path, PolicyText("v1", {"r1.pem"}));
  std::unique_ptr<PolicyHolder> holder = MustCreate(path);
  ASSERT_NE(holder, nullptr);
  EXPECT_TRUE(holder->reloadable());
  const std::string v1 = holder->Current()->version();
  EXPECT_EQ(holder->Current()->Find("")->verify.trust_store->size(), 1u);
  EXPECT_EQ(holder->last_reload_time(), absl::InfinitePast());

  WriteAtomically(path, PolicyText("v2", {"r1.pem", "r2.pem"}));
  PolicyHolder::ReloadOutcome outcome;
  ASSERT_TRUE(holder->ReloadFromFile(&outcome).ok());
  EXPECT_NE(holder->Current()->version(), v1);
  EXPECT_EQ(outcome.previous_version, v1);
  EXPECT_EQ(outcome.version, holder->Current()->version());
  EXPECT_EQ(holder->Current()->Find("")->verify.trust_store->size(), 2u);
  EXPECT_TRUE(holder->last_error().ok());
  EXPECT_EQ(holder->reload_failures(), 0);
  EXPECT_NE(holder->last_reload_time(), absl::InfinitePast());
  EXPECT_EQ(holder->loaded_at(), holder->last_reload_time());
}

TEST(PolicyHolderTest, BrokenFileKeepsServingTheOldPolicyAndIsRecorded) {
  const std::string dir = TestDir();
  const std::string path = dir + "/policy.textproto";
  WriteAtomically(path, PolicyText("v1", {"r1.pem"}));
  std::unique_ptr<PolicyHolder> holder = MustCreate(path);
  ASSERT_NE(holder, nullptr);
  const std::shared_ptr<const PolicySet> before = holder->Current();
  const absl::Time loaded_at = holder->loaded_at();

  // Syntax error.
  WriteAtomically(path, "version: \"v2\" policies {");
  absl::Status status = holder->ReloadFromFile();
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(holder->Current(), before);
  EXPECT_EQ(holder->last_error(), status);
  EXPECT_EQ(holder->reload_failures(), 1);
  EXPECT_EQ(holder->loaded_at(), loaded_at);
  EXPECT_GE(holder->last_reload_time(), loaded_at);

  // Parses, but a trust store does not load: checked before the swap too.
  WriteAtomically(path, PolicyText("v3", {"r1.pem", "missing.pem"}));
  status = holder->ReloadFromFile();
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("missing.pem"), absl::string_view::npos) << status;
  EXPECT_EQ(holder->Current(), before);
  EXPECT_EQ(holder->reload_failures(), 2);

  // File gone.
  std::remove(path.c_str());
  EXPECT_EQ(holder->ReloadFromFile().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(holder->Current(), before);
  EXPECT_EQ(holder->reload_failures(), 3);

  // A good file again clears the error; the failure count stays.
  WriteAtomically(path, PolicyText("v4", {"r2.pem"}));
  ASSERT_TRUE(holder->ReloadFromFile().ok());
  EXPECT_NE(holder->Current()->version(), before->version());
  EXPECT_TRUE(holder->last_error().ok());
  EXPECT_EQ(holder->reload_failures(), 3);
}

TEST(PolicyHolderTest, EmbeddedDefaultCannotBeReloaded) {
  auto holder = PolicyHolder::Create("", pki::SearchLimits());
  if (!holder.ok()) GTEST_SKIP() << "no OS trust store here: " << holder.status();
  EXPECT_FALSE((*holder)->reloadable());
  const std::shared_ptr<const PolicySet> before = (*holder)->Current();
  absl::Status status = (*holder)->ReloadFromFile();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(status.message().find("embedded default"), absl::string_view::npos) << status;
  EXPECT_EQ((*holder)->Current(), before);
  EXPECT_EQ((*holder)->reload_failures(), 0);  // Not a failed reload: there was none.
  EXPECT_EQ((*holder)->StartWatching(absl::Milliseconds(100)).code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(PolicyHolderTest, CreateFailsOnABadInitialFile) {
  const std::string dir = TestDir();
  WriteAtomically(dir + "/bad.textproto", "not a policy");
  EXPECT_FALSE(PolicyHolder::Create(dir + "/bad.textproto", pki::SearchLimits()).ok());
  EXPECT_FALSE(PolicyHolder::Create(dir + "/absent.textproto", pki::SearchLimits()).ok());
}

TEST(PolicyHolderTest, WatcherPicksUpAChangedFile) {
  const std::string dir = TestDir();
  const std::string path = dir + "/policy.textproto";
  WriteAtomically(path, PolicyText("v1", {"r1.pem"}));
  std::unique_ptr<PolicyHolder> holder = MustCreate(path);
  ASSERT_NE(holder, nullptr);
  ASSERT_TRUE(holder->StartWatching(absl::Milliseconds(100)).ok());
  EXPECT_EQ(holder->StartWatching(absl::Milliseconds(100)).code(),
            absl::StatusCode::kFailedPrecondition);
  const std::string v1 = holder->Current()->version();

  // No change, no reload.
  absl::SleepFor(absl::Milliseconds(350));
  EXPECT_EQ(holder->last_reload_time(), absl::InfinitePast());

  WriteAtomically(path, PolicyText("v2", {"r2.pem"}));
  ASSERT_TRUE(Eventually([&] { return holder->Current()->version() != v1; }, absl::Seconds(5)));
  const std::string v2 = holder->Current()->version();

  // A broken file is refused once, not on every poll.
  WriteAtomically(path, "version: \"v3\" policies {");
  ASSERT_TRUE(Eventually([&] { return holder->reload_failures() == 1; }, absl::Seconds(5)));
  absl::SleepFor(absl::Milliseconds(350));
  EXPECT_EQ(holder->reload_failures(), 1);
  EXPECT_FALSE(holder->last_error().ok());
  EXPECT_EQ(holder->Current()->version(), v2);

  // Fixing it is picked up.
  WriteAtomically(path, PolicyText("v4", {"r1.pem"}));
  ASSERT_TRUE(Eventually([&] { return holder->last_error().ok(); }, absl::Seconds(5)));
  EXPECT_NE(holder->Current()->version(), v2);
}

TEST(PolicyHolderTest, WatcherFollowsASwappedSymlink) {
  // Kubernetes ConfigMap volumes: policy.textproto -> ..data/policy.textproto,
  // and an update repoints ..data at a new directory.
  const std::string dir = TestDir();
  ASSERT_EQ(mkdir((dir + "/a").c_str(), 0755), 0);
  ASSERT_EQ(mkdir((dir + "/b").c_str(), 0755), 0);
  // pem_file paths are relative to the path given, not the link target.
  WriteAtomically(dir + "/a/policy.textproto", PolicyText("a", {"r1.pem"}));
  WriteAtomically(dir + "/b/policy.textproto", PolicyText("b", {"r2.pem"}));
  ASSERT_EQ(symlink("a", (dir + "/..data").c_str()), 0);
  ASSERT_EQ(symlink("..data/policy.textproto", (dir + "/policy.textproto").c_str()), 0);

  std::unique_ptr<PolicyHolder> holder = MustCreate(dir + "/policy.textproto");
  ASSERT_NE(holder, nullptr);
  ASSERT_TRUE(holder->StartWatching(absl::Milliseconds(100)).ok());
  const std::string before = holder->Current()->version();

  ASSERT_EQ(symlink("b", (dir + "/..data_tmp").c_str()), 0);
  ASSERT_EQ(std::rename((dir + "/..data_tmp").c_str(), (dir + "/..data").c_str()), 0);
  ASSERT_TRUE(
      Eventually([&] { return holder->Current()->version() != before; }, absl::Seconds(5)));
  EXPECT_TRUE(holder->last_error().ok()) << holder->last_error();
}

// A ConfigMap volume as the kubelet writes it: each version in its own
// ..<timestamp> directory, ..data -> that directory, and every key a symlink
// through ..data. An update writes the whole new version, renames a fresh
// ..data link over the old one and deletes the old directory.
void WriteConfigMapVersion(const std::string& dir, const std::string& stamp,
                           const std::vector<std::pair<std::string, std::string>>& files) {
  const std::string version_dir = dir + "/" + stamp;
  ASSERT_EQ(mkdir(version_dir.c_str(), 0755), 0);
  for (const auto& [name, text] : files) {
    std::ofstream(version_dir + "/" + name, std::ios::binary) << text;
    const std::string link = dir + "/" + name;
    struct stat st;
    if (lstat(link.c_str(), &st) != 0) {
      ASSERT_EQ(symlink(("..data/" + name).c_str(), link.c_str()), 0);
    }
  }
  ASSERT_EQ(symlink(stamp.c_str(), (dir + "/..data_tmp").c_str()), 0);
  ASSERT_EQ(std::rename((dir + "/..data_tmp").c_str(), (dir + "/..data").c_str()), 0);
}

TEST(PolicyHolderTest, WatcherSeesAConfigMapUpdateThatChangesOnlyATrustFile) {
  // The policy text is the same in both versions: only fleet-root.pem, a key
  // of the same ConfigMap, changes. The kubelet still writes a new
  // policy.textproto, so the watcher must notice the new file, not new text.
  const std::string dir = TestDir() + "/configmap";
  ASSERT_EQ(mkdir(dir.c_str(), 0755), 0);
  const std::string policy = PolicyText("fleet", {"fleet-root.pem"});
  const std::string r1 = MustIssue(RootSpec("ConfigMap Root 1"), nullptr).pem();
  const std::string r2 = MustIssue(RootSpec("ConfigMap Root 2"), nullptr).pem();
  WriteConfigMapVersion(dir, "..2026_11_27_03_00_00.000000001",
                        {{"policy.textproto", policy}, {"fleet-root.pem", r1}});

  std::unique_ptr<PolicyHolder> holder = MustCreate(dir + "/policy.textproto");
  ASSERT_NE(holder, nullptr);
  ASSERT_TRUE(holder->StartWatching(absl::Milliseconds(50)).ok());
  const std::string before = holder->Current()->version();

  // Immediately, with no pause: the new file may carry the same mtime tick.
  WriteConfigMapVersion(dir, "..2026_11_27_03_05_00.000000002",
                        {{"policy.textproto", policy}, {"fleet-root.pem", r2}});
  ASSERT_EQ(std::remove((dir + "/..2026_11_27_03_00_00.000000001/policy.textproto").c_str()), 0);
  ASSERT_EQ(std::remove((dir + "/..2026_11_27_03_00_00.000000001/fleet-root.pem").c_str()), 0);
  ASSERT_EQ(rmdir((dir + "/..2026_11_27_03_00_00.000000001").c_str()), 0);

  ASSERT_TRUE(
      Eventually([&] { return holder->Current()->version() != before; }, absl::Seconds(5)));
  EXPECT_TRUE(holder->last_error().ok()) << holder->last_error();
  // The version names the bundle's text plus every anchor, so it moved with the PEM.
  EXPECT_EQ(holder->Current()->Find("")->verify.trust_store->size(), 1u);
  const std::string after = holder->Current()->version();
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_EQ(holder->Current()->version(), after) << "reloaded again without a change";
}

TEST(PolicyHolderTest, DestructorStopsTheWatcherPromptly) {
  const std::string dir = TestDir();
  WriteAtomically(dir + "/policy.textproto", PolicyText("v1", {"r1.pem"}));
  std::unique_ptr<PolicyHolder> holder = MustCreate(dir + "/policy.textproto");
  ASSERT_NE(holder, nullptr);
  ASSERT_TRUE(holder->StartWatching(absl::Hours(1)).ok());
  const absl::Time start = absl::Now();
  holder.reset();
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
}

TEST(PolicyHolderTest, RequestKeepsItsPolicyAcrossASwap) {
  const std::string dir = TestDir();
  const std::string path = dir + "/policy.textproto";
  WriteAtomically(path, PolicyText("v1", {"r1.pem"}));
  std::unique_ptr<PolicyHolder> holder = MustCreate(path);
  ASSERT_NE(holder, nullptr);

  // A request in flight took its snapshot before the reload.
  std::shared_ptr<const PolicySet> in_flight = holder->Current();
  const CompiledPolicy* policy = in_flight->Find("");
  const std::string old_version = in_flight->version();

  WriteAtomically(path, PolicyText("v2", {"r1.pem", "r2.pem"}));
  ASSERT_TRUE(holder->ReloadFromFile().ok());
  ASSERT_NE(holder->Current(), in_flight);

  // The holder dropped its reference; the request's is still whole.
  EXPECT_EQ(in_flight.use_count(), 1);
  EXPECT_EQ(in_flight->version(), old_version);
  EXPECT_EQ(policy->version, old_version);
  ASSERT_NE(policy->verify.trust_store, nullptr);
  EXPECT_EQ(policy->verify.trust_store->size(), 1u);
  EXPECT_EQ(holder->Current()->Find("")->verify.trust_store->size(), 2u);
}

TEST(PolicyHolderTest, ConcurrentReadersDuringReloads) {
  const std::string dir = TestDir();
  const std::string path = dir + "/policy.textproto";
  WriteAtomically(path, PolicyText("v0", {"r1.pem"}));
  std::unique_ptr<PolicyHolder> holder = MustCreate(path);
  ASSERT_NE(holder, nullptr);

  std::atomic<bool> stop{false};
  std::atomic<int> bad{0};
  std::vector<std::thread> readers;
  for (int i = 0; i < 4; ++i) {
    readers.emplace_back([&] {
      while (!stop.load()) {
        std::shared_ptr<const PolicySet> set = holder->Current();
        const CompiledPolicy* p = set->Find("");
        // Every snapshot is one whole policy: its compiled entry matches it.
        if (p == nullptr || p->version != set->version() ||
            p->verify.trust_store->size() == 0) {
          ++bad;
        }
      }
    });
  }
  for (int i = 1; i <= 20; ++i) {
    WriteAtomically(path, PolicyText(absl::StrCat("v", i), {i % 2 ? "r2.pem" : "r1.pem"}));
    EXPECT_TRUE(holder->ReloadFromFile().ok());
  }
  stop.store(true);
  for (std::thread& t : readers) t.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(holder->reload_failures(), 0);
}

}  // namespace
}  // namespace chainverify::policy
