// Faults under load against the real chainverifyd: a policy file replaced by
// garbage, a CRL directory removed, the OCSP responder killed mid-request, the
// audit disk full, permission loss, and SIGKILL followed by a restart. In each
// the server answers every call with the expected status, keeps serving, and
// no decision returned to a client is missing from the audit log.
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "chainverify/v1/verifier.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/integration/server_process.h"
#include "tests/testutil/test_pki.h"

namespace chainverify {
namespace {

using ::chainverify::testing::AuditLogFiles;
using ::chainverify::testing::CertSpec;
using ::chainverify::testing::IntermediateSpec;
using ::chainverify::testing::IssueCrl;
using ::chainverify::testing::LeafSpec;
using ::chainverify::testing::LoggedDecisionIds;
using ::chainverify::testing::MustIssue;
using ::chainverify::testing::ReadLines;
using ::chainverify::testing::RootSpec;
using ::chainverify::testing::RunCommand;
using ::chainverify::testing::Runfile;
using ::chainverify::testing::ServerProcess;
using ::chainverify::testing::TestCert;
using ::chainverify::testing::TestTmpPath;
using ::chainverify::testing::WriteTestFile;

constexpr char kPeer[] = "service.example.com";

// `chainverify audit verify ARGS... FILES...`; returns the exit code.
int AuditVerify(std::vector<std::string> args, const std::vector<std::string>& files,
                std::string* out) {
  args.insert(args.begin(), {Runfile("client/chainverify"), "audit", "verify"});
  args.insert(args.end(), files.begin(), files.end());
  out->clear();
  return RunCommand(args, out);
}

// What a load run saw: every answer classified, and the decision ids
// returned to the clients.
struct LoadResult {
  std::map<std::string, int> outcomes;  // "TRUSTED", "REJECTED/REVOKED", "rpc UNAVAILABLE", ...
  std::set<std::string> ids;
  std::map<std::string, int> versions;  // policy_version of the decisions.
  absl::Duration slowest;
  int total() const {
    int n = 0;
    for (const auto& [what, count] : outcomes) n += count;
    return n;
  }
};

std::string Describe(const LoadResult& r) {
  std::string text;
  for (const auto& [what, count] : r.outcomes) absl::StrAppend(&text, what, "=", count, " ");
  return text;
}

// Calls `target` from `threads` threads until `stop` is set, each call built
// by `request(n)`.
class Load {
 public:
  Load(const std::string& target, std::function<v1::VerifyRequest(int)> request, int threads = 4)
      : stub_(v1::ChainVerifier::NewStub(
            grpc::CreateChannel(target, grpc::InsecureChannelCredentials()))),
        request_(std::move(request)) {
    for (int t = 0; t < threads; ++t) threads_.emplace_back([this] { Run(); });
  }
  ~Load() { Finish(); }

  // Waits until `n` more calls have been answered (at most `timeout`).
  bool AwaitCalls(int n, absl::Duration timeout = absl::Seconds(30)) {
    const int goal = calls_.load() + n;
    const absl::Time deadline = absl::Now() + timeout;
    while (calls_.load() < goal && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(5));
    return calls_.load() >= goal;
  }

  LoadResult Finish() {
    stop_.store(true);
    for (std::thread& t : threads_) t.join();
    threads_.clear();
    std::lock_guard<std::mutex> lock(mu_);
    return result_;
  }

 private:
  void Run() {
    while (!stop_.load()) {
      const int n = next_.fetch_add(1);
      v1::VerifyResponse response;
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(15));
      const absl::Time start = absl::Now();
      const grpc::Status status = stub_->Verify(&context, request_(n), &response);
      const absl::Duration took = absl::Now() - start;
      std::string what;
      if (!status.ok()) {
        what = absl::StrCat("rpc ", status.error_code());
        if (status.error_code() == grpc::StatusCode::UNAVAILABLE &&
            absl::StrContains(status.error_message(), "audit")) {
          what = "rpc UNAVAILABLE (audit)";
        }
      } else if (response.verdict() == v1::TRUSTED) {
        what = "TRUSTED";
      } else {
        what = absl::StrCat("REJECTED/", v1::Status_Name(response.status()));
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        ++result_.outcomes[what];
        if (status.ok()) {
          result_.ids.insert(response.decision_id());
          // The server appends "+<content hash>" to the file's version.
          const std::string& version = response.policy_version();
          ++result_.versions[version.substr(0, version.find('+'))];
        }
        result_.slowest = std::max(result_.slowest, took);
      }
      ++calls_;
      // A server that is gone refuses at once: do not spin.
      if (status.error_code() == grpc::StatusCode::UNAVAILABLE) {
        absl::SleepFor(absl::Milliseconds(5));
      }
    }
  }

  std::unique_ptr<v1::ChainVerifier::Stub> stub_;
  std::function<v1::VerifyRequest(int)> request_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stop_{false};
  std::atomic<int> next_{0};
  std::atomic<int> calls_{0};
  std::mutex mu_;
  LoadResult result_;
};

class FaultTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = new TestCert(MustIssue(RootSpec("Fault Root"), nullptr));
    ca_ = new TestCert(MustIssue(IntermediateSpec("Fault CA"), root_));
    leaf_ = new TestCert(MustIssue(LeafSpec("L", {kPeer}), ca_));
  }
  static void TearDownTestSuite() {
    delete leaf_;
    delete ca_;
    delete root_;
  }

  void SetUp() override {
    dir_ = TestTmpPath(::testing::UnitTest::GetInstance()->current_test_info()->name());
    mkdir(dir_.c_str(), 0755);
    WriteTestFile(dir_ + "/root.pem", root_->pem());
    policy_path_ = dir_ + "/policy.textproto";
    WriteTestFile(policy_path_, Policy("fault-1"));
  }

  static std::string Policy(const std::string& version, const std::string& extra = "") {
    return absl::StrCat("version: \"", version, "\"\ndefault_policy: \"fleet\"\n",
                        "policies { name: \"fleet\" trust_stores { pem_file: \"root.pem\" } ",
                        extra, " }\n");
  }

  // Starts chainverifyd on the test's policy and audit log; `prefix` runs it
  // under a wrapper (prlimit, setpriv).
  std::unique_ptr<ServerProcess> Start(std::vector<std::string> extra,
                                       std::vector<std::string> prefix = {}) {
    std::vector<std::string> args = prefix;
    const std::string binary = Runfile("server/chainverifyd");
    if (!prefix.empty()) args.push_back(binary);
    args.push_back("--policy_file=" + policy_path_);
    args.push_back("--audit_log=" + AuditDir() + "/audit.log");
    args.insert(args.end(), extra.begin(), extra.end());
    const std::string program = prefix.empty() ? binary : args.front();
    if (!prefix.empty()) args.erase(args.begin());
    absl::StatusOr<ServerProcess> server = ServerProcess::Start(program, args);
    EXPECT_TRUE(server.ok()) << server.status();
    if (!server.ok()) return nullptr;
    return std::make_unique<ServerProcess>(*std::move(server));
  }

  virtual std::string AuditDir() const { return dir_; }

  static v1::VerifyRequest Good(int /*n*/ = 0) {
    v1::VerifyRequest request;
    request.add_certificates(leaf_->der);
    request.add_certificates(ca_->der);
    request.set_peer_name(kPeer);
    return request;
  }

  static grpc::Status Call(const ServerProcess& server, const v1::VerifyRequest& request,
                           v1::VerifyResponse* response) {
    auto stub = v1::ChainVerifier::NewStub(
        grpc::CreateChannel(server.target(), grpc::InsecureChannelCredentials()));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(15));
    return stub->Verify(&context, request, response);
  }

  // Every decision a client got is in the log, and the log verifies.
  void ExpectLogHolds(const std::set<std::string>& returned) {
    const std::vector<std::string> files = AuditLogFiles(AuditDir());
    const std::set<std::string> logged = LoggedDecisionIds(files);
    int missing = 0;
    for (const std::string& id : returned) missing += logged.count(id) == 0;
    EXPECT_EQ(missing, 0) << "of " << returned.size() << " returned decisions";
    std::string out;
    EXPECT_EQ(AuditVerify({"--require_genesis"}, files, &out), 0) << out;
  }

  static TestCert* root_;
  static TestCert* ca_;
  static TestCert* leaf_;
  std::string dir_;
  std::string policy_path_;
};

TestCert* FaultTest::root_ = nullptr;
TestCert* FaultTest::ca_ = nullptr;
TestCert* FaultTest::leaf_ = nullptr;

TEST_F(FaultTest, PolicyReplacedByGarbageMidLoadKeepsTheOldPolicy) {
  auto server = Start({"--policy_watch_interval=100ms"});
  ASSERT_NE(server, nullptr);
  Load load(server->target(), Good);
  ASSERT_TRUE(load.AwaitCalls(50));
  // Rewritten in place (a reader may see it half written) and replaced by
  // rename, with garbage, then with a policy that names a missing file.
  WriteTestFile(policy_path_, std::string("\x00\xff garbage {{{ \n", 16));
  absl::SleepFor(absl::Milliseconds(500));
  ASSERT_TRUE(load.AwaitCalls(50));
  WriteTestFile(policy_path_ + ".tmp", "policies { name: ");
  ASSERT_EQ(std::rename((policy_path_ + ".tmp").c_str(), policy_path_.c_str()), 0);
  absl::SleepFor(absl::Milliseconds(500));
  WriteTestFile(policy_path_,
                "version: \"fault-x\" default_policy: \"fleet\" policies { name: \"fleet\" "
                "trust_stores { pem_file: \"missing.pem\" } }\n");
  absl::SleepFor(absl::Milliseconds(500));
  ASSERT_TRUE(load.AwaitCalls(50));
  LoadResult during = load.Finish();
  EXPECT_EQ(during.outcomes["TRUSTED"], during.total()) << Describe(during);
  EXPECT_EQ(during.versions.size(), 1u);
  EXPECT_EQ(during.versions["fault-1"], during.total());

  // A good file again is picked up.
  WriteTestFile(policy_path_, Policy("fault-2"));
  std::string version;
  for (int i = 0; i < 100 && !absl::StartsWith(version, "fault-2+"); ++i) {
    absl::SleepFor(absl::Milliseconds(50));
    v1::VerifyResponse response;
    ASSERT_TRUE(Call(*server, Good(), &response).ok());
    version = response.policy_version();
  }
  EXPECT_TRUE(absl::StartsWith(version, "fault-2+")) << version;
  EXPECT_EQ(server->Stop(), 0);
  ExpectLogHolds(during.ids);
}

TEST_F(FaultTest, CrlDirectoryRemoved) {
  // Pushed CRLs in crls/: the revoked leaf is REVOKED, the good one TRUSTED.
  TestCert revoked = MustIssue(LeafSpec("R", {kPeer}), ca_);
  mkdir((dir_ + "/crls").c_str(), 0755);
  const absl::Time now = absl::Now();
  WriteTestFile(dir_ + "/crls/ca.crl",
                *IssueCrl(*ca_, {revoked.serial_hex()}, now - absl::Hours(1), now + absl::Hours(24)));
  WriteTestFile(policy_path_,
                Policy("crl-1", "revocation { mode: HARD_FAIL leaf_only: true "
                                "crl_files: \"crls/ca.crl\" }"));
  auto server = Start({"--policy_watch_interval=0"});
  ASSERT_NE(server, nullptr);
  auto request = [&](int n) {
    v1::VerifyRequest r = Good();
    if (n % 2 == 1) r.set_certificates(0, revoked.der);
    return r;
  };
  Load load(server->target(), request);
  ASSERT_TRUE(load.AwaitCalls(50));
  ASSERT_EQ(system(absl::StrCat("rm -rf '", dir_, "/crls'").c_str()), 0);
  kill(server->pid(), SIGHUP);  // The reload fails: the CRL is gone.
  absl::SleepFor(absl::Milliseconds(500));
  ASSERT_TRUE(load.AwaitCalls(50));
  LoadResult result = load.Finish();
  // The policy loaded before keeps its CRL: nothing changes.
  EXPECT_EQ(result.outcomes["TRUSTED"] + result.outcomes["REJECTED/REVOKED"], result.total())
      << Describe(result);
  EXPECT_GT(result.outcomes["REJECTED/REVOKED"], 0);
  EXPECT_EQ(result.versions["crl-1"], result.total());
  // A restart without the directory refuses to start rather than serve
  // without the CRLs it was told to use.
  EXPECT_EQ(server->Stop(), 0);
  EXPECT_FALSE(ServerProcess::Start(Runfile("server/chainverifyd"),
                                    {"--policy_file=" + policy_path_,
                                     "--audit_log=" + dir_ + "/audit.log"})
                   .ok());
  ExpectLogHolds(result.ids);
}

// An OCSP "responder" that reads a request and then SIGKILLs itself without
// answering, so that every fetch dies mid-request (connection reset, then
// refused once it is gone).
TEST_F(FaultTest, OcspResponderKilledMidRequest) {
  const int port = testing::FreeLoopbackPort();
  CertSpec spec = LeafSpec("O", {kPeer});
  spec.ocsp_urls = {absl::StrCat("http://127.0.0.1:", port, "/")};
  TestCert leaf = MustIssue(spec, ca_);
  const std::string fetch =
      "fetch { allowed_hosts: \"127.0.0.1\" allow_private_addresses: true total_timeout_ms: 2000 }";
  WriteTestFile(policy_path_,
                absl::StrCat("version: \"ocsp-1\" default_policy: \"hard\"\n",
                             "policies { name: \"hard\" trust_stores { pem_file: \"root.pem\" } ",
                             "revocation { mode: HARD_FAIL fetch_ocsp: true leaf_only: true ",
                             fetch, " } }\n",
                             "policies { name: \"soft\" trust_stores { pem_file: \"root.pem\" } ",
                             "revocation { mode: SOFT_FAIL fetch_ocsp: true leaf_only: true ",
                             fetch, " } }\n"));
  auto server = Start({});
  ASSERT_NE(server, nullptr);
  const std::string script = absl::StrCat(
      "import os, signal, socket, time\n"
      "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
      "s.bind(('127.0.0.1', ", port, ")); s.listen(16)\n"
      "c, _ = s.accept(); c.recv(65536); time.sleep(0.5)\n"
      "os.kill(os.getpid(), signal.SIGKILL)\n");
  testing::HelperProcess responder({"/usr/bin/python3", "-c", script}, port);
  ASSERT_TRUE(responder.listening());
  auto request = [&](int n) {
    v1::VerifyRequest r = Good();
    r.set_certificates(0, leaf.der);
    r.set_policy(n % 2 == 0 ? "hard" : "soft");
    return r;
  };
  Load load(server->target(), request);
  ASSERT_TRUE(load.AwaitCalls(40));
  LoadResult result = load.Finish();
  // Hard fail rejects, soft fail accepts; nothing else, and no call waits
  // longer than the fetch timeout allows.
  EXPECT_EQ(result.outcomes["REJECTED/REVOCATION_UNKNOWN"] + result.outcomes["TRUSTED"],
            result.total())
      << Describe(result);
  EXPECT_GT(result.outcomes["REJECTED/REVOCATION_UNKNOWN"], 0);
  EXPECT_GT(result.outcomes["TRUSTED"], 0);
  EXPECT_LT(result.slowest, absl::Seconds(5));
  EXPECT_EQ(server->Stop(), 0);
  ExpectLogHolds(result.ids);
}

// The audit disk fills up under load: fail_closed answers UNAVAILABLE (never an
// unlogged decision), the server keeps running, and it recovers once there is
// room again.
class DiskFullTest : public FaultTest {
 protected:
  std::string AuditDir() const override { return dir_ + "/audit"; }

  void SetUp() override {
    FaultTest::SetUp();
    mkdir(AuditDir().c_str(), 0755);
  }

  void TearDown() override {
    if (mounted_) umount2(AuditDir().c_str(), MNT_DETACH);
  }

  // Load until the disk is full, then with it full, then after `make_room`.
  void Run(ServerProcess* server, const std::function<void()>& make_room) {
    Load full_load(server->target(), Good);
    // Runs into the limit: UNAVAILABLE naming the audit log.
    for (int i = 0; i < 200; ++i) {
      ASSERT_TRUE(full_load.AwaitCalls(20));
      if (kill(server->pid(), 0) != 0) break;
      v1::VerifyResponse response;
      grpc::Status status = Call(*server, Good(), &response);
      if (status.error_code() == grpc::StatusCode::UNAVAILABLE) {
        EXPECT_TRUE(absl::StrContains(status.error_message(), "audit")) << status.error_message();
        break;
      }
    }
    ASSERT_TRUE(full_load.AwaitCalls(100));
    LoadResult full = full_load.Finish();
    EXPECT_EQ(full.outcomes["TRUSTED"] + full.outcomes["rpc UNAVAILABLE (audit)"], full.total())
        << Describe(full);
    EXPECT_GT(full.outcomes["TRUSTED"], 0) << Describe(full);
    EXPECT_GT(full.outcomes["rpc UNAVAILABLE (audit)"], 0) << Describe(full);
    ASSERT_EQ(kill(server->pid(), 0), 0) << "the server died on a full disk";
    std::printf("disk full: %s\n", Describe(full).c_str());

    make_room();
    Load after_load(server->target(), Good);
    ASSERT_TRUE(after_load.AwaitCalls(100));
    LoadResult after = after_load.Finish();
    // The first calls may still meet the full disk; the last ones may not.
    v1::VerifyResponse response;
    grpc::Status status = Call(*server, Good(), &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    after.ids.insert(response.decision_id());
    EXPECT_EQ(response.verdict(), v1::TRUSTED);
    EXPECT_GT(after.outcomes["TRUSTED"], 0) << Describe(after);
    EXPECT_EQ(server->Stop(), 0);
    std::set<std::string> returned = full.ids;
    returned.insert(after.ids.begin(), after.ids.end());
    ExpectLogHolds(returned);
  }

  bool mounted_ = false;
};

// RLIMIT_FSIZE (works without privileges): the server runs under prlimit with
// room for about 100 records (soft limit); `prlimit --pid` lifts it.
TEST_F(DiskFullTest, FileSizeLimit) {
#if defined(__SANITIZE_THREAD__)
  // ThreadSanitizer's own runtime dies of SIGBUS at start-up under
  // RLIMIT_FSIZE, before any of our code runs. The normal and ASan suites run
  // this test; SmallTmpfs covers the same path under TSan where it can mount.
  GTEST_SKIP() << "the ThreadSanitizer runtime cannot start under RLIMIT_FSIZE";
#endif
  auto server = Start({}, {"/usr/bin/prlimit", "--fsize=100000:unlimited"});
  ASSERT_NE(server, nullptr);
  Run(server.get(), [&] {
    std::string out;
    ASSERT_EQ(RunCommand({"/usr/bin/prlimit", absl::StrCat("--pid=", server->pid()),
                          "--fsize=unlimited"},
                         &out),
              0);
  });
}

// A real full file system: a 256 KiB tmpfs, filled by a file that is then
// deleted. Needs permission to mount (root in a container may lack it).
TEST_F(DiskFullTest, SmallTmpfs) {
  if (mount("tmpfs", AuditDir().c_str(), "tmpfs", 0, "size=256k") != 0) {
    GTEST_SKIP() << "cannot mount a tmpfs here (" << std::strerror(errno)
                 << "); FileSizeLimit covers the same path";
  }
  mounted_ = true;
  // Leave room for about 100 records.
  const std::string filler = AuditDir() + "/filler";
  {
    std::ofstream out(filler, std::ios::binary);
    const std::string block(4096, 'f');
    for (int i = 0; i < 40; ++i) out << block;  // 160 of 256 KiB.
  }
  auto server = Start({});
  ASSERT_NE(server, nullptr);
  Run(server.get(), [&] { ASSERT_EQ(unlink(filler.c_str()), 0); });
}

// Root ignores file modes; the server runs without CAP_DAC_OVERRIDE (and the
// related capabilities) so that they apply to it.
const std::vector<std::string> kNoOverride = {
    "/usr/bin/setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner"};

// The audit directory becomes read-only while the server runs: the open log
// keeps taking records (rotation is put off, no decision is lost), and a
// restart on a log it may not write is refused with a clear message.
TEST_F(FaultTest, AuditPermissionLoss) {
  const std::string audit_dir = dir_;
  auto server = Start({"--audit_max_file_bytes=16384"}, kNoOverride);
  ASSERT_NE(server, nullptr);
  Load load(server->target(), Good);
  ASSERT_TRUE(load.AwaitCalls(20));
  ASSERT_EQ(chmod(audit_dir.c_str(), 0555), 0);
  const size_t files_before = AuditLogFiles(audit_dir).size();
  ASSERT_TRUE(load.AwaitCalls(150));  // Well past a rotation's worth.
  EXPECT_EQ(AuditLogFiles(audit_dir).size(), files_before);
  ASSERT_EQ(chmod(audit_dir.c_str(), 0755), 0);
  absl::SleepFor(absl::Milliseconds(1100));  // A failed rotation is retried after 1 s.
  ASSERT_TRUE(load.AwaitCalls(150));
  LoadResult result = load.Finish();
  EXPECT_EQ(result.outcomes["TRUSTED"], result.total()) << Describe(result);
  EXPECT_GT(AuditLogFiles(audit_dir).size(), files_before);  // Rotation resumed.
  EXPECT_EQ(server->Stop(), 0);
  ExpectLogHolds(result.ids);

  // The log itself made read-only: no start.
  ASSERT_EQ(chmod((audit_dir + "/audit.log").c_str(), 0444), 0);
  std::string out;
  std::vector<std::string> argv = kNoOverride;
  argv.insert(argv.end(),
              {"/bin/sh", "-c",
               absl::StrCat("exec '", Runfile("server/chainverifyd"), "' --policy_file='",
                            policy_path_, "' --audit_log='", audit_dir,
                            "/audit.log' --listen=127.0.0.1:0 --metrics_listen= 2>&1")});
  EXPECT_EQ(RunCommand(argv, &out), 1) << out;
  EXPECT_TRUE(absl::StrContains(out, "cannot open audit log")) << out;
  EXPECT_TRUE(absl::StrContains(out, "Permission denied")) << out;
  chmod((audit_dir + "/audit.log").c_str(), 0644);
}

// SIGKILL in the middle of a burst (fsync mode), then a restart on the same
// log: every record written verifies, a torn last line is reported and cut,
// and no decision a client received is missing.
TEST_F(FaultTest, SigkillDuringLoadThenRestart) {
  auto server = Start({"--audit_durability=fsync"});
  ASSERT_NE(server, nullptr);
  Load load(server->target(), Good, 8);
  ASSERT_TRUE(load.AwaitCalls(200));
  ASSERT_EQ(kill(server->pid(), SIGKILL), 0);
  server->Stop();  // Reaps it.
  LoadResult before = load.Finish();
  EXPECT_GE(before.outcomes["TRUSTED"], 200) << Describe(before);
  for (const auto& [what, count] : before.outcomes) {
    EXPECT_TRUE(what == "TRUSTED" || what == "rpc 14") << what;  // 14: UNAVAILABLE, server gone.
  }
  const std::string log = dir_ + "/audit.log";
  std::string out;
  EXPECT_EQ(AuditVerify({"--require_genesis"}, {log}, &out), 0) << out;
  const std::set<std::string> logged = LoggedDecisionIds({log});
  for (const std::string& id : before.ids) EXPECT_EQ(logged.count(id), 1u) << id;

  // A write torn by the kill (simulated: SIGKILL between write() calls is
  // rare): reported, not counted, and not a break.
  const size_t complete_records = ReadLines(log).size();
  {
    std::ofstream torn(log, std::ios::app | std::ios::binary);
    torn << "{\"decision_id\":\"0123456789abcdef0123456789abcdef\",\"seq";
  }
  EXPECT_EQ(AuditVerify({"--require_genesis"}, {log}, &out), 0) << out;
  EXPECT_TRUE(absl::StrContains(out, absl::StrCat("intact: ", complete_records, " record(s)")))
      << out;
  EXPECT_TRUE(absl::StrContains(out, "incomplete final line ignored")) << out;

  // The restart cuts the torn line off and continues the chain.
  server = Start({"--audit_durability=fsync"});
  ASSERT_NE(server, nullptr);
  Load again(server->target(), Good);
  ASSERT_TRUE(again.AwaitCalls(50));
  LoadResult after = again.Finish();
  EXPECT_EQ(after.outcomes["TRUSTED"], after.total()) << Describe(after);
  EXPECT_EQ(server->Stop(), 0);
  EXPECT_EQ(AuditVerify({"--require_genesis"}, {log}, &out), 0) << out;
  EXPECT_TRUE(absl::StrContains(
      out, absl::StrCat("intact: ", complete_records + after.ids.size(), " record(s)")))
      << out;
  EXPECT_FALSE(absl::StrContains(out, "incomplete")) << out;
  std::set<std::string> returned = before.ids;
  returned.insert(after.ids.begin(), after.ids.end());
  ExpectLogHolds(returned);
}

}  // namespace
}  // namespace chainverify
