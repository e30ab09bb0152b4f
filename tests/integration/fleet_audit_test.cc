// A fleet's audit trail end to end: three real chainverifyd replicas on
// loopback, each with its own log (its own lineage), under concurrent load,
// their stdout (--audit_stdout) merged and shuffled as a log pipeline would,
// part of it behind the Kubernetes container-log prefix, then checked with
// the real `chainverify audit verify`.
#include <grpcpp/grpcpp.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "chainverify/v1/verifier.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/integration/server_process.h"
#include "tests/testutil/test_pki.h"

namespace chainverify {
namespace {

using ::chainverify::testing::AuditLogFiles;
using ::chainverify::testing::IntermediateSpec;
using ::chainverify::testing::LeafSpec;
using ::chainverify::testing::MustIssue;
using ::chainverify::testing::ReadLines;
using ::chainverify::testing::RootSpec;
using ::chainverify::testing::RunCommand;
using ::chainverify::testing::Runfile;
using ::chainverify::testing::ServerProcess;
using ::chainverify::testing::TestCert;
using ::chainverify::testing::TestTmpPath;

constexpr int kReplicas = 3;
constexpr int kThreads = 6;
constexpr int kCallsPerThread = 40;
// Small files, so every replica rotates and has a first file to lose.
constexpr char kMaxFileBytes[] = "--audit_max_file_bytes=16384";

int AuditCli(std::vector<std::string> args, std::string* out) {
  args.insert(args.begin(), {Runfile("client/chainverify"), "audit"});
  out->clear();
  return RunCommand(args, out);
}

// A field of a record line, e.g. Field(line, "lineage").
std::string Field(const std::string& line, const std::string& name) {
  const std::string key = absl::StrCat("\"", name, "\":\"");
  const size_t at = line.find(key);
  if (at == std::string::npos) return "";
  const size_t start = at + key.size();
  return line.substr(start, line.find('"', start) - start);
}

bool IsRecord(const std::string& line) { return absl::StartsWith(line, "{\"sequence\":"); }

class FleetAuditTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = new TestCert(MustIssue(RootSpec("Fleet Root"), nullptr));
    inter_ = new TestCert(MustIssue(IntermediateSpec("Fleet Intermediate"), root_));
    leaf_ = new TestCert(MustIssue(LeafSpec("L", {"service.example.com"}), inter_));
    std::ofstream(TestTmpPath("root.pem")) << root_->pem();
    std::ofstream(TestTmpPath("policy.textproto"))
        << "version: \"fleet-1\"\n"
           "default_policy: \"fleet\"\n"
           "policies { name: \"fleet\" trust_stores { pem_file: \"root.pem\" } }\n";
  }

  static void TearDownTestSuite() {
    delete leaf_;
    delete inter_;
    delete root_;
  }

  // Replica `i`, with its log in dir/r<i>/ (or `log_dir`), stdout appended
  // to dir/stdout-<i>.
  std::unique_ptr<ServerProcess> Start(int i, const std::string& log_dir = "") {
    const std::string dir = log_dir.empty() ? Dir(absl::StrCat("r", i)) : log_dir;
    mkdir(dir.c_str(), 0755);
    absl::StatusOr<ServerProcess> server = ServerProcess::Start(
        Runfile("server/chainverifyd"),
        {"--policy_file=" + TestTmpPath("policy.textproto"), "--audit_log=" + dir + "/audit.log",
         "--audit_stdout", absl::StrCat("--instance_name=replica-", i), kMaxFileBytes},
        StdoutPath(i));
    EXPECT_TRUE(server.ok()) << server.status();
    return server.ok() ? std::make_unique<ServerProcess>(*std::move(server)) : nullptr;
  }

  std::string Dir(const std::string& name) {
    const std::string dir = TestTmpPath(name);
    mkdir(dir.c_str(), 0755);
    return dir;
  }

  std::string StdoutPath(int i) { return TestTmpPath(absl::StrCat("stdout-", i)); }

  // kThreads threads, each calling every server in turn; every fourth call is
  // REJECTED. Returns the decision ids each server returned, by position.
  std::vector<std::set<std::string>> Load(
      const std::vector<std::unique_ptr<ServerProcess>>& servers) {
    std::vector<std::unique_ptr<v1::ChainVerifier::Stub>> stubs;
    for (const auto& server : servers) {
      stubs.push_back(v1::ChainVerifier::NewStub(
          grpc::CreateChannel(server->target(), grpc::InsecureChannelCredentials())));
    }
    std::mutex mu;
    std::vector<std::set<std::string>> ids(servers.size());
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kCallsPerThread; ++i) {
          const size_t s = static_cast<size_t>(t + i) % servers.size();
          v1::VerifyRequest request;
          for (const TestCert* c : {leaf_, inter_, root_}) request.add_certificates(c->der);
          request.set_peer_name(i % 4 == 3 ? "wrong.example.com" : "service.example.com");
          v1::VerifyResponse response;
          grpc::ClientContext context;
          context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
          const grpc::Status status = stubs[s]->Verify(&context, request, &response);
          ASSERT_TRUE(status.ok()) << status.error_message();
          std::lock_guard<std::mutex> lock(mu);
          ids[s].insert(response.decision_id());
        }
      });
    }
    for (std::thread& thread : threads) thread.join();
    return ids;
  }

  static TestCert* root_;
  static TestCert* inter_;
  static TestCert* leaf_;
};

TestCert* FleetAuditTest::root_ = nullptr;
TestCert* FleetAuditTest::inter_ = nullptr;
TestCert* FleetAuditTest::leaf_ = nullptr;

TEST_F(FleetAuditTest, MergedStdoutOfThreeReplicasVerifiesPerLineage) {
  std::vector<std::unique_ptr<ServerProcess>> servers;
  for (int i = 0; i < kReplicas; ++i) {
    servers.push_back(Start(i));
    ASSERT_NE(servers.back(), nullptr);
  }
  std::vector<std::set<std::string>> returned = Load(servers);
  // Replica 0 restarts on the same file (a pod rescheduled with its volume),
  // then decides more.
  ASSERT_EQ(servers[0]->Stop(), 0);
  servers[0] = Start(0);
  ASSERT_NE(servers[0], nullptr);
  std::vector<std::set<std::string>> more = Load(servers);
  for (auto& server : servers) ASSERT_EQ(server->Stop(), 0);

  // Each replica's own files: one lineage, kept across the restart, and
  // different from the others'.
  std::vector<std::string> lineages;
  std::set<std::string> all_ids;
  for (const auto& ids : returned) all_ids.insert(ids.begin(), ids.end());
  for (const auto& ids : more) all_ids.insert(ids.begin(), ids.end());
  for (int i = 0; i < kReplicas; ++i) {
    std::set<std::string> seen;
    for (const std::string& file : AuditLogFiles(Dir(absl::StrCat("r", i)))) {
      for (const std::string& line : ReadLines(file)) {
        seen.insert(Field(line, "lineage"));
        EXPECT_EQ(Field(line, "instance"), absl::StrCat("replica-", i));
      }
    }
    ASSERT_EQ(seen.size(), 1u) << "replica " << i;
    lineages.push_back(*seen.begin());
  }
  EXPECT_EQ(std::set<std::string>(lineages.begin(), lineages.end()).size(), 3u);

  // The pipeline: every stdout line of every replica (records, the startup
  // lines), shuffled, a third behind the container-log prefix, plus stderr
  // lines, into two export files.
  std::vector<std::string> merged;
  size_t records = 0;
  for (int i = 0; i < kReplicas; ++i) {
    for (const std::string& line : ReadLines(StdoutPath(i))) {
      merged.push_back(line);
      records += IsRecord(line);
    }
  }
  ASSERT_EQ(records, all_ids.size());
  const unsigned seed = std::random_device()();
  SCOPED_TRACE(absl::StrCat("shuffle seed ", seed));
  std::mt19937 random(seed);
  std::shuffle(merged.begin(), merged.end(), random);
  std::vector<std::string> export_a, export_b;
  for (size_t i = 0; i < merged.size(); ++i) {
    if (i % 3 == 0) {
      export_b.push_back("2026-11-27T04:00:00.000000001Z stdout F " + merged[i]);
    } else {
      export_a.push_back(merged[i]);
    }
  }
  export_b.push_back("2026-11-27T04:00:01.5Z stderr F {\"event\":\"shutting_down\"}");
  const std::string a = TestTmpPath("export-a.log"), b = TestTmpPath("export-b.log");
  auto write = [](const std::string& path, const std::vector<std::string>& lines) {
    std::ofstream(path, std::ios::trunc) << absl::StrJoin(lines, "\n") << "\n";
  };
  write(a, export_a);
  write(b, export_b);

  std::string out;
  EXPECT_EQ(AuditCli({"verify", a, b}, &out), 0) << out;
  EXPECT_TRUE(absl::StrContains(out, "summary: 3 lineage(s), 3 intact, 0 broken")) << out;
  // Four startup lines (replica 0 started twice) and the stderr line.
  EXPECT_TRUE(absl::StrContains(out, "5 line(s) that are not records skipped")) << out;
  for (int i = 0; i < kReplicas; ++i) {
    EXPECT_TRUE(
        absl::StrContains(out, absl::StrCat("lineage ", lineages[i], ": audit chain intact")))
        << out;
    EXPECT_TRUE(absl::StrContains(out, absl::StrCat("written by: replica-", i))) << out;
  }
  // Every decision returned is in the export, by lineage.
  EXPECT_EQ(AuditCli({"query", "--count", a, b}, &out), 0);
  EXPECT_EQ(out, absl::StrCat(all_ids.size(), "\n"));
  EXPECT_EQ(AuditCli({"query", "--count", "--lineage=" + lineages[0], a, b}, &out), 0);
  EXPECT_EQ(out, absl::StrCat(returned[0].size() + more[0].size(), "\n"));
  EXPECT_EQ(AuditCli({"query", a, b}, &out), 0);
  std::set<std::string> exported;
  for (absl::string_view line : absl::StrSplit(out, '\n', absl::SkipEmpty())) {
    exported.insert(Field(std::string(line), "decision_id"));
  }
  EXPECT_EQ(exported, all_ids);

  // Where a record of lineage `lineage` with sequence `sequence` is.
  auto find = [&](const std::string& lineage, int sequence, std::vector<std::string>** in,
                  size_t* index) {
    for (std::vector<std::string>* lines : {&export_a, &export_b}) {
      for (size_t k = 0; k < lines->size(); ++k) {
        const std::string& line = (*lines)[k];
        if (Field(line, "lineage") == lineage &&
            absl::StrContains(line, absl::StrCat("{\"sequence\":\"", sequence, "\""))) {
          *in = lines;
          *index = k;
          return;
        }
      }
    }
    FAIL() << "no sequence " << sequence << " of " << lineage;
  };
  auto where = [&](std::vector<std::string>* in, size_t index) {
    return absl::StrCat(in == &export_a ? a : b, ":", index + 1);
  };

  // One record edited (replica 1's 20th): verify names its lineage and place.
  {
    std::vector<std::string>* in = nullptr;
    size_t k = 0;
    find(lineages[1], 20, &in, &k);
    const std::string original = (*in)[k];
    const std::string id = Field(original, "decision_id");
    (*in)[k].replace(original.find(id), 1, id[0] == '0' ? "1" : "0");
    write(a, export_a);
    write(b, export_b);
    EXPECT_EQ(AuditCli({"verify", a, b}, &out), 1) << out;
    EXPECT_TRUE(absl::StrContains(out, absl::StrCat("lineage ", lineages[1],
                                                    ": audit chain BROKEN at ", where(in, k),
                                                    " (sequence 20): the record does not match")))
        << out;
    EXPECT_TRUE(absl::StrContains(out, "summary: 3 lineage(s), 2 intact, 1 broken")) << out;
    (*in)[k] = original;
  }
  // One record dropped (replica 2's 30th): named by the record after the gap.
  {
    std::vector<std::string>* in = nullptr;
    size_t k = 0;
    find(lineages[2], 30, &in, &k);
    const std::string dropped = (*in)[k];
    in->erase(in->begin() + k);
    find(lineages[2], 31, &in, &k);
    write(a, export_a);
    write(b, export_b);
    EXPECT_EQ(AuditCli({"verify", a, b}, &out), 1) << out;
    EXPECT_TRUE(absl::StrContains(
        out, absl::StrCat("lineage ", lineages[2], ": audit chain BROKEN at ", where(in, k),
                          " (sequence 31): sequence jumps from 29")))
        << out;
    EXPECT_TRUE(absl::StrContains(out, "1 record(s) missing")) << out;
  }

  // The replicas' own files, all together, in directory order: intact. Then
  // without replica 1's first file: its lineage misses its start, which
  // fails unless --allow_missing_start.
  std::vector<std::string> files;
  for (int i = 0; i < kReplicas; ++i) {
    for (const std::string& f : AuditLogFiles(Dir(absl::StrCat("r", i)))) files.push_back(f);
  }
  std::vector<std::string> args = {"verify"};
  args.insert(args.end(), files.begin(), files.end());
  EXPECT_EQ(AuditCli(args, &out), 0) << out;
  const std::string first = Dir("r1") + "/audit.log.";
  auto oldest = std::find_if(files.begin(), files.end(), [&](const std::string& f) {
    return absl::StartsWith(f, first) && absl::EndsWith(f, ".1");
  });
  ASSERT_NE(oldest, files.end()) << "replica 1 did not rotate";
  files.erase(oldest);
  args = {"verify"};
  args.insert(args.end(), files.begin(), files.end());
  EXPECT_EQ(AuditCli(args, &out), 1) << out;
  EXPECT_TRUE(absl::StrContains(out, absl::StrCat("lineage ", lineages[1], ": audit chain BROKEN")))
      << out;
  EXPECT_TRUE(absl::StrContains(out, "(earlier files missing)")) << out;
  args.insert(args.begin() + 1, "--allow_missing_start");
  EXPECT_EQ(AuditCli(args, &out), 0) << out;
  EXPECT_TRUE(absl::StrContains(out, "note: chain starts at sequence")) << out;
}

TEST_F(FleetAuditTest, FreshFileStartsANewLineageRestartKeepsIt) {
  std::vector<std::unique_ptr<ServerProcess>> servers;
  servers.push_back(Start(0, Dir("keep")));
  ASSERT_NE(servers[0], nullptr);
  Load(servers);
  ASSERT_EQ(servers[0]->Stop(), 0);
  servers[0] = Start(0, Dir("keep"));
  Load(servers);
  ASSERT_EQ(servers[0]->Stop(), 0);
  servers[0] = Start(0, Dir("fresh"));
  Load(servers);
  ASSERT_EQ(servers[0]->Stop(), 0);

  auto lineages_in = [](const std::string& dir) {
    std::set<std::string> seen;
    for (const std::string& file : AuditLogFiles(dir)) {
      for (const std::string& line : ReadLines(file)) seen.insert(Field(line, "lineage"));
    }
    return seen;
  };
  const std::set<std::string> kept = lineages_in(Dir("keep"));
  const std::set<std::string> fresh = lineages_in(Dir("fresh"));
  ASSERT_EQ(kept.size(), 1u);
  ASSERT_EQ(fresh.size(), 1u);
  EXPECT_NE(*kept.begin(), *fresh.begin());
  std::string out;
  std::vector<std::string> args = {"verify"};
  for (const std::string& dir : {Dir("keep"), Dir("fresh")}) {
    for (const std::string& f : AuditLogFiles(dir)) args.push_back(f);
  }
  EXPECT_EQ(AuditCli(args, &out), 0) << out;
  EXPECT_TRUE(absl::StrContains(out, absl::StrCat("lineage ", *kept.begin(),
                                                  ": audit chain intact: ",
                                                  2 * kThreads * kCallsPerThread, " record(s)")))
      << out;
}

}  // namespace
}  // namespace chainverify
