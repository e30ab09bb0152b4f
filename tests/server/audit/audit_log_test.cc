#include "server/audit/audit_log.h"

#include <dirent.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "server/audit/audit_chain.h"

namespace chainverify::audit {
namespace {

// A fresh directory per test.
std::string TestDir() {
  std::string dir = absl::StrCat(std::getenv("TEST_TMPDIR"), "/",
                                 ::testing::UnitTest::GetInstance()->current_test_info()->name());
  mkdir(dir.c_str(), 0755);
  return dir;
}

v1::AuditRecord Record(const std::string& decision_id) {
  v1::AuditRecord record;
  record.set_decision_id(decision_id);
  record.set_peer_name("service.example.com");
  record.set_verdict(v1::TRUSTED);
  record.set_status(v1::OK);
  record.add_chain_sha256(std::string(64, 'a'));
  record.mutable_time()->set_seconds(1700000000);
  return record;
}

std::unique_ptr<AuditLog> MustOpen(const AuditLogOptions& options) {
  absl::StatusOr<std::unique_ptr<AuditLog>> log = AuditLog::Open(options);
  EXPECT_TRUE(log.ok()) << log.status();
  return log.ok() ? *std::move(log) : nullptr;
}

void AppendN(AuditLog* log, const std::string& prefix, int n) {
  for (int i = 0; i < n; ++i) {
    ASSERT_TRUE(log->Append(Record(absl::StrCat(prefix, i))).ok());
  }
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void WriteFile(const std::string& path, const std::string& contents) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << contents;
}

std::vector<std::string> Lines(const std::string& path) {
  std::vector<std::string> lines;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// The log file and its rotated siblings, in directory order (unsorted).
std::vector<std::string> LogFiles(const std::string& dir, const std::string& base) {
  std::vector<std::string> files;
  DIR* d = opendir(dir.c_str());
  while (dirent* e = readdir(d)) {
    if (absl::StartsWith(e->d_name, base)) files.push_back(absl::StrCat(dir, "/", e->d_name));
  }
  closedir(d);
  return files;
}

ChainReport MustVerify(const std::vector<std::string>& files, ChainCheckOptions options = {}) {
  absl::StatusOr<ChainReport> report = VerifyAuditChain(files, options);
  EXPECT_TRUE(report.ok()) << report.status();
  return report.ok() ? *report : ChainReport();
}

TEST(AuditLogTest, ChainContinuesAcrossReopen) {
  AuditLogOptions options;
  options.path = TestDir() + "/sub/audit.log";  // The directory is created.
  AppendN(MustOpen(options).get(), "first-", 3);
  std::unique_ptr<AuditLog> log = MustOpen(options);
  AppendN(log.get(), "second-", 2);
  EXPECT_EQ(log->records_written(), 2u);
  log.reset();

  std::vector<std::string> lines = Lines(options.path);
  ASSERT_EQ(lines.size(), 5u);
  absl::StatusOr<v1::AuditRecord> fourth = ParseRecordLine(lines[3]);
  ASSERT_TRUE(fourth.ok());
  EXPECT_EQ(fourth->sequence(), 4u);
  EXPECT_EQ(fourth->previous_record_sha256(), LineSha256(lines[2]));
  EXPECT_EQ(ParseRecordLine(lines[0])->previous_record_sha256(), kGenesisHash);

  ChainReport report = MustVerify({options.path}, {.require_genesis = true});
  EXPECT_TRUE(report.intact()) << report.ToString();
  EXPECT_EQ(report.records, 5u);
  EXPECT_EQ(report.first_sequence, 1u);
  EXPECT_EQ(report.last_sequence, 5u);
  EXPECT_TRUE(report.notes.empty()) << report.ToString();
}

TEST(AuditLogTest, RotationKeepsTheChainAcrossFiles) {
  const std::string dir = TestDir();
  AuditLogOptions options;
  options.path = dir + "/audit.log";
  options.max_file_bytes = 1500;
  std::unique_ptr<AuditLog> log = MustOpen(options);
  AppendN(log.get(), "r-", 30);
  const uint64_t rotated = log->files_rotated();
  EXPECT_GE(rotated, 5u);
  log.reset();

  std::vector<std::string> files = LogFiles(dir, "audit.log");
  ASSERT_EQ(files.size(), rotated + 1);
  for (const std::string& file : files) {
    struct stat st;
    ASSERT_EQ(stat(file.c_str(), &st), 0);
    EXPECT_LE(st.st_size, 1500) << file;
    EXPECT_GT(st.st_size, 0) << file;
    if (file != options.path) {
      // <path>.<YYYYMMDDTHHMMSSZ>.<first sequence>
      const std::string suffix = file.substr(options.path.size());
      EXPECT_EQ(suffix.size() > 18 && suffix[0] == '.' && suffix[9] == 'T' && suffix[16] == 'Z',
                true)
          << suffix;
      const uint64_t first = ParseRecordLine(Lines(file)[0])->sequence();
      EXPECT_TRUE(absl::EndsWith(suffix, absl::StrCat(".", first))) << suffix;
    }
  }
  // Any order in, chain order out.
  std::reverse(files.begin(), files.end());
  ChainReport report = MustVerify(files, {.require_genesis = true});
  EXPECT_TRUE(report.intact()) << report.ToString();
  EXPECT_EQ(report.records, 30u);
  EXPECT_EQ(report.files.size(), files.size());
  EXPECT_EQ(report.files.back(), options.path);

  // A restart continues in the current file.
  AppendN(MustOpen(options).get(), "after-restart-", 3);
  report = MustVerify(LogFiles(dir, "audit.log"));
  EXPECT_TRUE(report.intact()) << report.ToString();
  EXPECT_EQ(report.last_sequence, 33u);
}

TEST(AuditLogTest, ContinuesFromTheNewestRotatedFileWhenTheCurrentIsMissing) {
  const std::string dir = TestDir();
  AuditLogOptions options;
  options.path = dir + "/audit.log";
  AppendN(MustOpen(options).get(), "a-", 4);
  // As if the process died between rotating and writing to the new file.
  ASSERT_EQ(rename(options.path.c_str(), (options.path + ".20240101T000000Z.1").c_str()), 0);
  AppendN(MustOpen(options).get(), "b-", 2);

  ChainReport report = MustVerify(LogFiles(dir, "audit.log"), {.require_genesis = true});
  EXPECT_TRUE(report.intact()) << report.ToString();
  EXPECT_EQ(report.records, 6u);
  EXPECT_EQ(ParseRecordLine(Lines(options.path)[0])->sequence(), 5u);
}

TEST(AuditLogTest, GroupCommitUnderConcurrentWritersLosesNothing) {
  AuditLogOptions options;
  options.path = TestDir() + "/audit.log";
  options.durability = AuditDurability::kGroupCommit;
  options.group_commit_delay = absl::Milliseconds(2);
  options.max_file_bytes = 20000;  // Rotation inside batches too.
  std::unique_ptr<AuditLog> log = MustOpen(options);
  constexpr int kThreads = 8;
  constexpr int kPerThread = 100;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        if (!log->Append(Record(absl::StrCat("t", t, "-", i))).ok()) ++failures;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(log->records_written(), uint64_t{kThreads * kPerThread});
  EXPECT_GT(log->files_rotated(), 0u);
  log.reset();

  const std::string dir = TestDir();
  std::vector<std::string> files = LogFiles(dir, "audit.log");
  ChainReport report = MustVerify(files, {.require_genesis = true});
  EXPECT_TRUE(report.intact()) << report.ToString();
  EXPECT_EQ(report.records, uint64_t{kThreads * kPerThread});
  std::set<std::string> ids;
  for (const std::string& file : report.files) {
    for (const std::string& line : Lines(file)) ids.insert(ParseRecordLine(line)->decision_id());
  }
  EXPECT_EQ(ids.size(), size_t{kThreads * kPerThread});
}

TEST(AuditLogTest, GroupCommitWaitsForTheFsync) {
  // Each Append returns only once its record is in the file.
  AuditLogOptions options;
  options.path = TestDir() + "/audit.log";
  options.durability = AuditDurability::kGroupCommit;
  options.group_commit_delay = absl::Milliseconds(20);
  std::unique_ptr<AuditLog> log = MustOpen(options);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(log->Append(Record(absl::StrCat("g", i))).ok());
    EXPECT_EQ(Lines(options.path).size(), size_t(i + 1));
  }
}

// AppendAsync: a callback always runs after its record is in the file. kFsync writes on
// the writer thread; under kGroupCommit a record that finds nothing queued and
// no write in progress (here every one: one thread appends them in turn) is
// written, synced and called back on the caller's thread.
TEST(AuditLogTest, AppendAsyncCallsBackAfterTheWrite) {
  for (AuditDurability durability : {AuditDurability::kFsync, AuditDurability::kGroupCommit}) {
    AuditLogOptions options;
    options.path = absl::StrCat(TestDir(), "/audit-", AbslUnparseFlag(durability), ".log");
    options.durability = durability;
    std::unique_ptr<AuditLog> log = MustOpen(options);
    constexpr int kRecords = 50;
    absl::Mutex mu;
    int called = 0, on_caller_thread = 0, not_yet_in_file = 0;
    const std::thread::id caller = std::this_thread::get_id();
    for (int i = 0; i < kRecords; ++i) {
      const std::string id = absl::StrCat("async-", i);
      log->AppendAsync(Record(id), [&, id](absl::Status status) {
        EXPECT_TRUE(status.ok()) << status;
        const bool in_file = absl::StrContains(ReadFile(options.path), id);
        absl::MutexLock lock(&mu);
        ++called;
        if (std::this_thread::get_id() == caller) ++on_caller_thread;
        if (!in_file) ++not_yet_in_file;
      });
    }
    {
      absl::MutexLock lock(&mu);
      mu.Await(absl::Condition(+[](int* n) { return *n == kRecords; }, &called));
      EXPECT_EQ(on_caller_thread, durability == AuditDurability::kFsync ? 0 : kRecords)
          << AbslUnparseFlag(durability);
      EXPECT_EQ(not_yet_in_file, 0) << AbslUnparseFlag(durability);
    }
    EXPECT_EQ(log->records_written(), uint64_t{kRecords});
    log.reset();
    ChainReport report = MustVerify({options.path}, {.require_genesis = true});
    EXPECT_TRUE(report.intact()) << report.ToString();
    EXPECT_EQ(report.records, uint64_t{kRecords});
  }
}

TEST(AuditLogTest, AppendAsyncFailsClosed) {
  for (AuditDurability durability : {AuditDurability::kFsync, AuditDurability::kGroupCommit,
                                     AuditDurability::kNone}) {
    AuditLogOptions options;
    options.path = "/dev/full";
    options.durability = durability;
    std::unique_ptr<AuditLog> log = MustOpen(options);
    absl::Notification called;
    absl::Status result;
    log->AppendAsync(Record("x"), [&](absl::Status status) {
      result = status;
      called.Notify();
    });
    called.WaitForNotification();
    EXPECT_EQ(result.code(), absl::StatusCode::kUnavailable) << AbslUnparseFlag(durability);
    EXPECT_EQ(log->records_written(), 0u);
  }
}

TEST(AuditLogTest, ClosingWritesEveryQueuedRecordAndCallsBack) {
  AuditLogOptions options;
  options.path = TestDir() + "/audit.log";
  options.durability = AuditDurability::kGroupCommit;
  options.group_commit_delay = absl::Milliseconds(50);
  std::unique_ptr<AuditLog> log = MustOpen(options);
  std::atomic<int> ok{0};
  for (int i = 0; i < 200; ++i) {
    log->AppendAsync(Record(absl::StrCat("q", i)), [&](absl::Status status) {
      if (status.ok()) ++ok;
    });
  }
  log.reset();  // Returns after the writer has drained the queue.
  EXPECT_EQ(ok.load(), 200);
  EXPECT_EQ(Lines(options.path).size(), 200u);
}

TEST(AuditLogTest, WriteFailureFailsClosed) {
  for (AuditDurability durability : {AuditDurability::kFsync, AuditDurability::kGroupCommit}) {
    AuditLogOptions options;
    options.path = "/dev/full";  // Every write fails with ENOSPC.
    options.durability = durability;
    std::unique_ptr<AuditLog> log = MustOpen(options);
    absl::Status status = log->Append(Record("x"));
    EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
    EXPECT_EQ(log->records_written(), 0u);
    EXPECT_EQ(log->records_lost(), 0u);
  }
}

TEST(AuditLogTest, WriteFailureFailsOpenAndCountsTheLoss) {
  for (AuditDurability durability : {AuditDurability::kFsync, AuditDurability::kGroupCommit}) {
    AuditLogOptions options;
    options.path = "/dev/full";
    options.durability = durability;
    options.failure_mode = AuditFailureMode::kFailOpen;
    std::unique_ptr<AuditLog> log = MustOpen(options);
    EXPECT_TRUE(log->Append(Record("x")).ok());
    EXPECT_TRUE(log->Append(Record("y")).ok());
    EXPECT_EQ(log->records_written(), 0u);
    EXPECT_EQ(log->records_lost(), 2u);
  }
}

// In a child process (so the file size limit cannot leak into the test
// runner): RLIMIT_FSIZE makes a record's write stop part-way. The torn bytes
// must be cut off, and once writes work again the chain continues from the
// last good record. Returns the child's exit code: 0 when every check held.
int PartialWriteChild(const std::string& path, AuditFailureMode mode) {
  const pid_t pid = fork();
  if (pid == 0) {
    signal(SIGXFSZ, SIG_IGN);  // EFBIG instead of being killed.
    AuditLogOptions options;
    options.path = path;
    options.failure_mode = mode;
    absl::StatusOr<std::unique_ptr<AuditLog>> log = AuditLog::Open(options);
    if (!log.ok()) _exit(10);
    for (int i = 0; i < 2; ++i) {
      if (!(*log)->Append(Record(absl::StrCat("ok-", i))).ok()) _exit(11);
    }
    struct stat st;
    if (stat(path.c_str(), &st) != 0) _exit(12);
    const off_t good_size = st.st_size;
    rlimit original;
    getrlimit(RLIMIT_FSIZE, &original);
    rlimit limited = original;
    limited.rlim_cur = good_size + 40;  // Part of the next record fits.
    if (setrlimit(RLIMIT_FSIZE, &limited) != 0) _exit(13);
    const absl::Status failed = (*log)->Append(Record("lost"));
    if (mode == AuditFailureMode::kFailClosed && failed.code() != absl::StatusCode::kUnavailable) {
      _exit(14);
    }
    if (mode == AuditFailureMode::kFailOpen && (!failed.ok() || (*log)->records_lost() != 1)) {
      _exit(15);
    }
    if (stat(path.c_str(), &st) != 0 || st.st_size != good_size) _exit(16);  // Cut back.
    if (setrlimit(RLIMIT_FSIZE, &original) != 0) _exit(17);
    if (!(*log)->Append(Record("after")).ok()) _exit(18);
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
}

TEST(AuditLogTest, PartialWriteIsCutBackAndTheChainContinues) {
  for (AuditFailureMode mode : {AuditFailureMode::kFailClosed, AuditFailureMode::kFailOpen}) {
    const std::string path = absl::StrCat(TestDir(), "/audit-", AbslUnparseFlag(mode), ".log");
    ASSERT_EQ(PartialWriteChild(path, mode), 0) << AbslUnparseFlag(mode);
    ChainReport report = MustVerify({path}, {.require_genesis = true});
    EXPECT_TRUE(report.intact()) << report.ToString();
    EXPECT_EQ(report.records, 3u);
    std::vector<std::string> lines = Lines(path);
    ASSERT_EQ(lines.size(), 3u);
    // The lost record is not in the chain and took no sequence number.
    EXPECT_EQ(ParseRecordLine(lines[2])->decision_id(), "after");
    EXPECT_EQ(ParseRecordLine(lines[2])->sequence(), 3u);
    EXPECT_EQ(ReadFile(path).find("\"lost\""), std::string::npos);
  }
}

TEST(AuditLogTest, EditedRecordIsDetectedAtThatLine) {
  AuditLogOptions options;
  options.path = TestDir() + "/audit.log";
  AppendN(MustOpen(options).get(), "e-", 5);
  std::vector<std::string> lines = Lines(options.path);
  ASSERT_EQ(lines.size(), 5u);
  // One character in the middle record: its decision id.
  const size_t at = lines[2].find("\"e-2\"");
  ASSERT_NE(at, std::string::npos);
  lines[2][at + 3] = '7';
  WriteFile(options.path, absl::StrJoin(lines, "\n") + "\n");

  ChainReport report = MustVerify({options.path});
  ASSERT_FALSE(report.intact());
  EXPECT_EQ(report.broken->file, options.path);
  EXPECT_EQ(report.broken->line, 3u);
  EXPECT_EQ(report.broken->sequence, 3u);
  EXPECT_TRUE(absl::StrContains(report.broken->problem, "altered")) << report.ToString();
  EXPECT_EQ(report.records, 2u);
}

TEST(AuditLogTest, EditedSequenceIsDetected) {
  AuditLogOptions options;
  options.path = TestDir() + "/audit.log";
  AppendN(MustOpen(options).get(), "s-", 5);
  std::vector<std::string> lines = Lines(options.path);
  const size_t at = lines[2].find("\"sequence\":\"3\"");
  ASSERT_NE(at, std::string::npos) << lines[2];
  lines[2][at + 12] = '9';
  WriteFile(options.path, absl::StrJoin(lines, "\n") + "\n");
  ChainReport report = MustVerify({options.path});
  ASSERT_FALSE(report.intact());
  EXPECT_EQ(report.broken->line, 3u);
}

TEST(AuditLogTest, DeletedLineIsDetected) {
  AuditLogOptions options;
  options.path = TestDir() + "/audit.log";
  AppendN(MustOpen(options).get(), "d-", 5);
  std::vector<std::string> lines = Lines(options.path);
  lines.erase(lines.begin() + 2);
  WriteFile(options.path, absl::StrJoin(lines, "\n") + "\n");

  ChainReport report = MustVerify({options.path});
  ASSERT_FALSE(report.intact());
  EXPECT_EQ(report.broken->line, 3u);
  EXPECT_EQ(report.broken->sequence, 4u);
  EXPECT_TRUE(absl::StrContains(report.broken->problem, "1 record(s) missing"))
      << report.ToString();
}

TEST(AuditLogTest, GarbageLineIsDetected) {
  AuditLogOptions options;
  options.path = TestDir() + "/audit.log";
  AppendN(MustOpen(options).get(), "g-", 3);
  std::vector<std::string> lines = Lines(options.path);
  lines[1] = "{not json";
  WriteFile(options.path, absl::StrJoin(lines, "\n") + "\n");
  ChainReport report = MustVerify({options.path});
  ASSERT_FALSE(report.intact());
  EXPECT_EQ(report.broken->line, 2u);
  EXPECT_EQ(report.broken->sequence, 2u);  // The one expected there.
}

TEST(AuditLogTest, TornLastLineIsIgnoredAndCutOffOnReopen) {
  AuditLogOptions options;
  options.path = TestDir() + "/audit.log";
  AppendN(MustOpen(options).get(), "t-", 3);
  std::ofstream(options.path, std::ios::app) << "{\"sequence\":\"4\",\"previous_rec";

  ChainReport report = MustVerify({options.path});
  EXPECT_TRUE(report.intact()) << report.ToString();
  EXPECT_EQ(report.records, 3u);
  ASSERT_EQ(report.notes.size(), 1u);
  EXPECT_TRUE(absl::StrContains(report.notes[0], "incomplete final line")) << report.notes[0];

  AppendN(MustOpen(options).get(), "u-", 1);
  std::vector<std::string> lines = Lines(options.path);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(ParseRecordLine(lines[3])->decision_id(), "u-0");
  report = MustVerify({options.path}, {.require_genesis = true});
  EXPECT_TRUE(report.intact()) << report.ToString();
  EXPECT_TRUE(report.notes.empty());
}

TEST(AuditLogTest, CorruptLastRecordRefusesToOpen) {
  AuditLogOptions options;
  options.path = TestDir() + "/audit.log";
  AppendN(MustOpen(options).get(), "c-", 2);
  std::ofstream(options.path, std::ios::app) << "garbage\n";
  absl::StatusOr<std::unique_ptr<AuditLog>> log = AuditLog::Open(options);
  EXPECT_EQ(log.status().code(), absl::StatusCode::kDataLoss);
}

TEST(AuditLogTest, ChainStartingLateIsNotedUnlessGenesisIsRequired) {
  const std::string dir = TestDir();
  AuditLogOptions options;
  options.path = dir + "/audit.log";
  options.max_file_bytes = 1000;
  AppendN(MustOpen(options).get(), "l-", 12);
  absl::StatusOr<std::vector<std::string>> ordered = OrderAuditFiles(LogFiles(dir, "audit.log"));
  ASSERT_TRUE(ordered.ok());
  ASSERT_GE(ordered->size(), 3u);
  const uint64_t second_first = ParseRecordLine(Lines((*ordered)[1])[0])->sequence();
  ASSERT_EQ(unlink((*ordered)[0].c_str()), 0);  // Old file deleted by retention.

  ChainReport report = MustVerify(LogFiles(dir, "audit.log"));
  EXPECT_TRUE(report.intact()) << report.ToString();
  ASSERT_EQ(report.notes.size(), 1u);
  EXPECT_EQ(report.notes[0],
            absl::StrCat("chain starts at sequence ", second_first, " (earlier files missing)"));
  report = MustVerify(LogFiles(dir, "audit.log"), {.require_genesis = true});
  EXPECT_FALSE(report.intact());

  // A file that cannot be read is an error, not a verdict.
  std::vector<std::string> files = LogFiles(dir, "audit.log");
  files.push_back((*ordered)[0]);
  EXPECT_EQ(VerifyAuditChain(files).status().code(), absl::StatusCode::kNotFound);
}

TEST(AuditLogTest, MissingMiddleFileBreaksTheChain) {
  const std::string dir = TestDir();
  AuditLogOptions options;
  options.path = dir + "/audit.log";
  options.max_file_bytes = 1000;
  AppendN(MustOpen(options).get(), "m-", 12);
  absl::StatusOr<std::vector<std::string>> ordered = OrderAuditFiles(LogFiles(dir, "audit.log"));
  ASSERT_TRUE(ordered.ok());
  ASSERT_GE(ordered->size(), 3u);
  ASSERT_EQ(unlink((*ordered)[1].c_str()), 0);
  ChainReport report = MustVerify(LogFiles(dir, "audit.log"));
  ASSERT_FALSE(report.intact());
  EXPECT_EQ(report.broken->file, (*ordered)[2]);
  EXPECT_EQ(report.broken->line, 1u);
  EXPECT_TRUE(absl::StrContains(report.broken->problem, "missing")) << report.ToString();
}

TEST(AuditLogTest, MirrorsToStdout) {
  AuditLogOptions options;
  options.path = TestDir() + "/audit.log";
  options.mirror_to_stdout = true;
  ::testing::internal::CaptureStdout();
  AppendN(MustOpen(options).get(), "out-", 2);
  const std::string out = ::testing::internal::GetCapturedStdout();
  EXPECT_EQ(out, ReadFile(options.path));
}

TEST(AuditLogTest, FlagValues) {
  AuditDurability durability;
  std::string error;
  EXPECT_TRUE(AbslParseFlag("group_commit", &durability, &error));
  EXPECT_EQ(durability, AuditDurability::kGroupCommit);
  EXPECT_FALSE(AbslParseFlag("sometimes", &durability, &error));
  AuditFailureMode mode;
  EXPECT_TRUE(AbslParseFlag("fail_open", &mode, &error));
  EXPECT_EQ(AbslUnparseFlag(mode), "fail_open");
}

}  // namespace
}  // namespace chainverify::audit
