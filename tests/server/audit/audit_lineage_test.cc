// Lineages: what the writer stamps on every record, and VerifyAuditLog on
// records of many logs mixed in any order, as a log pipeline exports them.
#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <random>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "server/audit/audit_chain.h"
#include "server/audit/audit_log.h"

namespace chainverify::audit {
namespace {

std::string TestDir() {
  std::string dir = absl::StrCat(std::getenv("TEST_TMPDIR"), "/",
                                 ::testing::UnitTest::GetInstance()->current_test_info()->name());
  mkdir(dir.c_str(), 0755);
  return dir;
}

v1::AuditRecord Record(const std::string& decision_id) {
  v1::AuditRecord record;
  record.set_decision_id(decision_id);
  record.set_verdict(v1::TRUSTED);
  record.set_status(v1::OK);
  return record;
}

// Writes `n` records to the log at `path` as `instance`; returns its lineage.
std::string Write(const std::string& path, const std::string& instance, int n,
                  int64_t max_file_bytes = 0) {
  AuditLogOptions options;
  options.path = path;
  options.instance = instance;
  options.max_file_bytes = max_file_bytes;
  absl::StatusOr<std::unique_ptr<AuditLog>> log = AuditLog::Open(options);
  EXPECT_TRUE(log.ok()) << log.status();
  if (!log.ok()) return "";
  for (int i = 0; i < n; ++i) {
    EXPECT_TRUE((*log)->Append(Record(absl::StrCat(instance, "-", i))).ok());
  }
  return (*log)->lineage();
}

std::vector<std::string> Lines(const std::string& path) {
  std::vector<std::string> lines;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

void WriteLines(const std::string& path, const std::vector<std::string>& lines) {
  std::ofstream(path, std::ios::trunc) << absl::StrJoin(lines, "\n") << "\n";
}

std::vector<std::string> Files(const std::string& dir) {
  std::vector<std::string> files;
  DIR* d = opendir(dir.c_str());
  while (dirent* e = readdir(d)) {
    if (absl::StartsWith(e->d_name, "audit.log")) {
      files.push_back(absl::StrCat(dir, "/", e->d_name));
    }
  }
  closedir(d);
  return files;
}

// The Kubernetes container-log form of a stdout line.
std::string Cri(const std::string& line) {
  return absl::StrCat("2026-11-27T04:00:00.123456789Z stdout F ", line);
}

AuditReport MustVerify(const std::vector<std::string>& files, ChainCheckOptions options = {}) {
  absl::StatusOr<AuditReport> report = VerifyAuditLog(files, options);
  EXPECT_TRUE(report.ok()) << report.status();
  return report.ok() ? *report : AuditReport();
}

const ChainReport* Chain(const AuditReport& report, const std::string& lineage) {
  for (const ChainReport& chain : report.chains) {
    if (chain.lineage == lineage) return &chain;
  }
  return nullptr;
}

TEST(LineageTest, EveryRecordCarriesTheLineageAndInstance) {
  const std::string path = TestDir() + "/audit.log";
  const std::string lineage = Write(path, "replica-a", 3);
  EXPECT_TRUE(std::regex_match(
      lineage, std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")))
      << lineage;
  for (const std::string& line : Lines(path)) {
    absl::StatusOr<v1::AuditRecord> record = ParseRecordLine(line);
    ASSERT_TRUE(record.ok());
    EXPECT_EQ(record->lineage(), lineage);
    EXPECT_EQ(record->instance(), "replica-a");
  }
}

TEST(LineageTest, KeptAcrossRestartsAndRotationNewForAFreshFile) {
  const std::string dir = TestDir();
  const std::string lineage = Write(dir + "/audit.log", "a", 10, 1000);
  // A restart by another instance (a pod rescheduled with its volume).
  EXPECT_EQ(Write(dir + "/audit.log", "b", 10, 1000), lineage);
  ASSERT_GT(Files(dir).size(), 3u);
  std::set<std::string> seen;
  for (const std::string& file : Files(dir)) {
    for (const std::string& line : Lines(file)) seen.insert(ParseRecordLine(line)->lineage());
  }
  EXPECT_EQ(seen, std::set<std::string>{lineage});
  AuditReport report = MustVerify(Files(dir), {.require_genesis = true});
  ASSERT_EQ(report.chains.size(), 1u);
  EXPECT_TRUE(report.intact()) << report.ToString();
  EXPECT_EQ(report.chains[0].records, 20u);
  EXPECT_EQ(report.chains[0].instances, (std::vector<std::string>{"a", "b"}));

  // A fresh file in another directory: a new lineage, from sequence 1.
  const std::string other = TestDir() + "/fresh/audit.log";
  EXPECT_NE(Write(other, "a", 1), lineage);
  EXPECT_EQ(ParseRecordLine(Lines(other)[0])->sequence(), 1u);
}

TEST(LineageTest, OpenedLogWithoutRecordsDrawsALineageEachTime) {
  AuditLogOptions options;
  options.path = TestDir() + "/audit.log";
  std::string first = (*AuditLog::Open(options))->lineage();
  std::string second = (*AuditLog::Open(options))->lineage();
  // Nothing was written under the first, so nothing can tell them apart.
  EXPECT_NE(first, second);
}

// Three logs' records, shuffled together into two export files, some with
// the container-log prefix, with other lines between them.
class MergedExportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = TestDir();
    for (int i = 0; i < 3; ++i) {
      const std::string path = absl::StrCat(dir_, "/r", i, "/audit.log");
      lineages_.push_back(Write(path, absl::StrCat("replica-", i), 20 + i));
      for (const std::string& line : Lines(path)) records_.push_back(line);
    }
    std::mt19937 random(19);
    std::shuffle(records_.begin(), records_.end(), random);
  }

  // Writes the export: records_[0, half) to export-a (plain, with a startup
  // line and an event), the rest to export-b (container-log lines, with a
  // stderr line). Returns the two paths.
  std::vector<std::string> WriteExport() {
    const size_t half = records_.size() / 2;
    std::vector<std::string> a = {"listening on 127.0.0.1:50051 (plaintext)"};
    a.insert(a.end(), records_.begin(), records_.begin() + half);
    a.push_back(R"({"time":"2026-11-27T04:00:00.000Z","level":"info","event":"shutting_down"})");
    std::vector<std::string> b = {Cri("listening on 0.0.0.0:50051 (mutual TLS)"),
                                  "2026-11-27T04:00:00Z stderr F {\"event\":\"policy_reloaded\"}"};
    for (size_t i = half; i < records_.size(); ++i) b.push_back(Cri(records_[i]));
    const std::vector<std::string> paths = {dir_ + "/export-a", dir_ + "/export-b"};
    WriteLines(paths[0], a);
    WriteLines(paths[1], b);
    return paths;
  }

  // Where `line` (plain form) ended up: "file:line".
  std::string WhereIs(const std::string& record) {
    for (const std::string& file : {dir_ + "/export-a", dir_ + "/export-b"}) {
      std::vector<std::string> lines = Lines(file);
      for (size_t i = 0; i < lines.size(); ++i) {
        if (lines[i] == record || lines[i] == Cri(record)) return absl::StrCat(file, ":", i + 1);
      }
    }
    return "";
  }

  // records_ index of sequence `sequence` of lineage `lineage`.
  size_t Find(const std::string& lineage, uint64_t sequence) {
    for (size_t i = 0; i < records_.size(); ++i) {
      absl::StatusOr<v1::AuditRecord> r = ParseRecordLine(records_[i]);
      if (r->lineage() == lineage && r->sequence() == sequence) return i;
    }
    ADD_FAILURE() << "no sequence " << sequence;
    return 0;
  }

  std::string dir_;
  std::vector<std::string> lineages_;
  std::vector<std::string> records_;
};

TEST_F(MergedExportTest, EachLineageVerifiesOnItsOwn) {
  AuditReport report = MustVerify(WriteExport(), {.require_genesis = true});
  EXPECT_TRUE(report.intact()) << report.ToString();
  ASSERT_EQ(report.chains.size(), 3u) << report.ToString();
  EXPECT_EQ(report.other_lines, 4u);
  for (int i = 0; i < 3; ++i) {
    const ChainReport* chain = Chain(report, lineages_[i]);
    ASSERT_NE(chain, nullptr);
    EXPECT_EQ(chain->records, 20u + i);
    EXPECT_EQ(chain->first_sequence, 1u);
    EXPECT_EQ(chain->last_sequence, 20u + i);
    EXPECT_EQ(chain->instances, std::vector<std::string>{absl::StrCat("replica-", i)});
    EXPECT_EQ(chain->files.size(), 2u);
    EXPECT_TRUE(absl::StrContains(
        report.ToString(), absl::StrCat("lineage ", lineages_[i], ": audit chain intact: ",
                                        20 + i, " record(s) in 2 file(s), sequences 1 to ",
                                        20 + i)))
        << report.ToString();
  }
  EXPECT_TRUE(absl::StrContains(report.ToString(), "summary: 3 lineage(s), 3 intact, 0 broken"))
      << report.ToString();
}

TEST_F(MergedExportTest, EditedRecordBreaksOnlyItsLineage) {
  const size_t at = Find(lineages_[1], 7);
  const std::string original = records_[at];
  records_[at].replace(records_[at].find("replica-1-6"), 11, "replica-1-X");
  const std::vector<std::string> files = WriteExport();
  AuditReport report = MustVerify(files);
  EXPECT_FALSE(report.intact());
  const ChainReport* chain = Chain(report, lineages_[1]);
  ASSERT_NE(chain, nullptr);
  ASSERT_FALSE(chain->intact());
  EXPECT_EQ(absl::StrCat(chain->broken->file, ":", chain->broken->line), WhereIs(records_[at]));
  EXPECT_EQ(chain->broken->sequence, 7u);
  EXPECT_TRUE(absl::StrContains(chain->broken->problem, "altered")) << chain->broken->problem;
  EXPECT_TRUE(Chain(report, lineages_[0])->intact());
  EXPECT_TRUE(Chain(report, lineages_[2])->intact());
}

TEST_F(MergedExportTest, DroppedRecordIsNamed) {
  const size_t at = Find(lineages_[2], 5);
  records_.erase(records_.begin() + at);
  WriteExport();
  const std::string next = WhereIs(records_[Find(lineages_[2], 6)]);
  AuditReport report = MustVerify({dir_ + "/export-b", dir_ + "/export-a"});
  const ChainReport* chain = Chain(report, lineages_[2]);
  ASSERT_FALSE(chain->intact());
  EXPECT_EQ(absl::StrCat(chain->broken->file, ":", chain->broken->line), next);
  EXPECT_TRUE(absl::StrContains(chain->broken->problem, "from 4 ")) << chain->broken->problem;
  EXPECT_TRUE(absl::StrContains(chain->broken->problem, "1 record(s) missing"));
  EXPECT_EQ(chain->records, 4u);
}

TEST_F(MergedExportTest, MissingStartIsNotedOrRequired) {
  for (uint64_t sequence : {1, 2, 3}) {
    records_.erase(records_.begin() + Find(lineages_[0], sequence));
  }
  const std::vector<std::string> files = WriteExport();
  AuditReport report = MustVerify(files);
  EXPECT_TRUE(report.intact()) << report.ToString();
  EXPECT_TRUE(Chain(report, lineages_[0])->missing_start);
  EXPECT_EQ(Chain(report, lineages_[0])->notes,
            std::vector<std::string>{"chain starts at sequence 4 (earlier files missing)"});
  report = MustVerify(files, {.require_genesis = true});
  ASSERT_FALSE(Chain(report, lineages_[0])->intact());
  EXPECT_EQ(Chain(report, lineages_[0])->broken->sequence, 4u);
  EXPECT_TRUE(Chain(report, lineages_[1])->intact());
}

TEST_F(MergedExportTest, DuplicatesAreCountedOnceAForkBreaks) {
  records_.push_back(records_[Find(lineages_[0], 9)]);  // Delivered twice.
  AuditReport report = MustVerify(WriteExport(), {.require_genesis = true});
  EXPECT_TRUE(report.intact()) << report.ToString();
  EXPECT_EQ(Chain(report, lineages_[0])->duplicates, 1u);
  EXPECT_EQ(Chain(report, lineages_[0])->records, 20u);

  // Another record claiming sequence 9 of the same lineage.
  std::string forked = records_[Find(lineages_[0], 9)];
  forked.replace(forked.find("replica-0-8"), 11, "replica-0-Y");
  records_.push_back(forked);
  report = MustVerify(WriteExport());
  ASSERT_FALSE(Chain(report, lineages_[0])->intact());
  EXPECT_TRUE(absl::StrContains(Chain(report, lineages_[0])->broken->problem, "forked"));
}

TEST_F(MergedExportTest, SplitContainerLogLinesAreJoined) {
  const std::string record = records_[0];
  const std::vector<std::string> lines = {
      "2026-11-27T04:00:00Z stdout P " + record.substr(0, 100),
      "2026-11-27T04:00:00Z stderr F {\"event\":\"x\"}",
      "2026-11-27T04:00:00Z stdout P " + record.substr(100, 50),
      "2026-11-27T04:00:00Z stdout F " + record.substr(150)};
  WriteLines(dir_ + "/split", lines);
  std::vector<std::string> rest(records_.begin() + 1, records_.end());
  WriteLines(dir_ + "/rest", rest);
  AuditReport report = MustVerify({dir_ + "/split", dir_ + "/rest"}, {.require_genesis = true});
  EXPECT_TRUE(report.intact()) << report.ToString();
  EXPECT_EQ(report.other_lines, 1u);

  // Parts without their final part cannot be checked: a break.
  WriteLines(dir_ + "/split", {lines[0], lines[2]});
  report = MustVerify({dir_ + "/split", dir_ + "/rest"});
  EXPECT_FALSE(report.intact()) << report.ToString();
}

TEST_F(MergedExportTest, DamagedLineIsABreakNamedByFileAndLine) {
  const std::string& fifth = records_[Find(lineages_[0], 5)];
  const std::string& sixth = records_[Find(lineages_[0], 6)];
  WriteLines(dir_ + "/damaged", {fifth, "{\"sequence\":\"6\",\"previous_rec", sixth});
  AuditReport report = MustVerify({dir_ + "/damaged"});
  ASSERT_EQ(report.chains.size(), 1u);
  ASSERT_FALSE(report.intact());
  EXPECT_EQ(report.chains[0].broken->line, 2u) << report.ToString();
  EXPECT_EQ(report.chains[0].broken->sequence, 6u);

  // Alone in its file, it belongs to no lineage but still fails the check.
  WriteLines(dir_ + "/damaged", {"{garbage"});
  WriteLines(dir_ + "/rest", records_);
  report = MustVerify({dir_ + "/damaged", dir_ + "/rest"});
  EXPECT_FALSE(report.intact());
  ASSERT_EQ(report.unplaced.size(), 1u);
  EXPECT_EQ(report.unplaced[0].line, 1u);
  EXPECT_TRUE(absl::StrContains(report.ToString(), "damaged:1")) << report.ToString();
}

TEST(LineageTest, LogFromBeforeLineagesIsContinuedAndLinked) {
  const std::string dir = TestDir();
  const std::string path = dir + "/audit.log";
  // Three records as a writer without lineages wrote them.
  std::vector<std::string> legacy;
  std::string previous = kGenesisHash;
  for (int i = 1; i <= 3; ++i) {
    v1::AuditRecord record = Record(absl::StrCat("old-", i));
    record.set_sequence(i);
    record.set_previous_record_sha256(previous);
    legacy.push_back(RecordToJsonLine(record));
    previous = LineSha256(legacy.back());
  }
  WriteLines(path, legacy);
  const std::string lineage = Write(path, "new", 2);
  std::vector<std::string> lines = Lines(path);
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(ParseRecordLine(lines[3])->sequence(), 4u);
  EXPECT_EQ(ParseRecordLine(lines[3])->lineage(), lineage);

  AuditReport report = MustVerify({path}, {.require_genesis = true});
  EXPECT_TRUE(report.intact()) << report.ToString();
  ASSERT_EQ(report.chains.size(), 2u);
  EXPECT_EQ(report.chains[0].lineage, "");
  EXPECT_EQ(report.chains[0].records, 3u);
  EXPECT_FALSE(report.chains[1].missing_start);
  EXPECT_TRUE(absl::StrContains(report.ToString(), "continues the records without a lineage"))
      << report.ToString();

  // The link protects the last legacy record too.
  lines[2].replace(lines[2].find("old-3"), 5, "old-9");
  WriteLines(path, lines);
  report = MustVerify({path});
  EXPECT_FALSE(report.intact()) << report.ToString();
}

TEST(LineageTest, VerifyAuditChainWantsOneLineage) {
  const std::string dir = TestDir();
  Write(dir + "/a/audit.log", "a", 1);
  Write(dir + "/b/audit.log", "b", 1);
  EXPECT_EQ(VerifyAuditChain({dir + "/a/audit.log", dir + "/b/audit.log"}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace chainverify::audit
