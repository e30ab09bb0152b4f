// The serving path end to end: the real chainverifyd over loopback, driven by
// an asynchronous C++ client keeping N calls outstanding, with the audit log
// on. Phases, each after a one-second warm-up:
//   echo   BenchEcho.Echo with a --echo_bytes payload each way: the same
//          server, threads and transport doing no work (the baseline);
//   warm   Verify of one repeated chain (leaf + intermediate);
//   fleet  Verify of fresh leaves under the same intermediate (pre-generated).
// The phases run once per --runs entry (DURABILITY:IN_FLIGHT), each on a fresh
// server. Prints RPC/s, latency percentiles and CPU per RPC of the server
// (/proc/<pid>/stat) and of this client (getrusage), the fsync latency of the
// audit directory, then the target lines (README "Benchmarks"):
//   max_ms service_{warm,fleet}_p50_in_flight_1, ratio service_{warm,fleet}_vs_echo,
//   max_ms service_fleet_extra_cpu_per_rpc.
// The client and server share the machine's cores unless --server_cpus/
// --client_cpus pin them.
//
// --rss_seconds=N instead runs warm and fleet calls mixed for N seconds (at
// --in_flight, under --durability), sampling the server's VmRSS every 10 s
// (the README's "RSS flat over a 10-minute load" check).
//
//   bazel run -c opt //bench:service -- --seconds=10
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "chainverify/v1/bench.grpc.pb.h"
#include "chainverify/v1/verifier.grpc.pb.h"
#include "tests/integration/server_process.h"
#include "tests/testutil/test_pki.h"

ABSL_FLAG(int, in_flight, 64, "Calls the client keeps outstanding (--rss_seconds mode).");
ABSL_FLAG(std::string, runs, "group_commit:64,group_commit:1,fsync:64,none:1",
          "Comma-separated DURABILITY:IN_FLIGHT runs, each on a fresh server, each "
          "running the phases; the target lines use group_commit at 64 and at 1.");
ABSL_FLAG(std::string, keys, "rsa2048",
          "Key type of the bench PKI (root, intermediate, leaves): rsa2048 or p256.");
ABSL_FLAG(std::string, server_binary, "",
          "The chainverifyd to measure (e.g. an older build, for before/after); "
          "default: the one built with this benchmark.");
ABSL_FLAG(int, fsync_samples, 400,
          "1.5 KB appends + fsync timed on --audit_dir, for the latency targets.");
ABSL_FLAG(int, seconds, 10,
          "Measured seconds per phase, in --rounds turns (after 1 s of warm-up).");
ABSL_FLAG(std::string, durability, "group_commit",
          "The --audit_durability of the --rss_seconds run.");
ABSL_FLAG(int, rounds, 5, "Turns the phases take, each a share of --seconds.");
ABSL_FLAG(std::string, phases, "echo,warm,fleet", "Comma-separated phases to run, in order.");
ABSL_FLAG(int, echo_bytes, 3072, "Echo payload, each way.");
ABSL_FLAG(int, fleet_leaves, 40000,
          "Distinct leaves generated for the fleet phase; reused round-robin when "
          "a phase needs more (reported).");
ABSL_FLAG(int, rss_seconds, 0,
          "Long mode: run mixed warm+fleet load this long, sampling server VmRSS "
          "every 10 s, instead of the phases.");
ABSL_FLAG(std::string, server_cpus, "",
          "Pin the server to these CPUs (e.g. \"1\"); empty: no pinning.");
ABSL_FLAG(std::string, client_cpus, "",
          "Pin this client to these CPUs (e.g. \"0\"); empty: no pinning.");
ABSL_FLAG(std::string, server_args, "",
          "Extra chainverifyd flags, space-separated (e.g. "
          "\"--audit_group_commit_delay=0\").");
ABSL_FLAG(bool, policy_fetches, false,
          "The bench policy enables AIA caIssuers chasing (loopback only; nothing is "
          "fetched, every upload is complete), so chainverifyd decides its requests on the "
          "fetching threads (--fetching_threads): measures that hand-over.");
ABSL_FLAG(std::string, audit_dir, "/var/tmp",
          "Where the audit log goes (a disk, not tmpfs, or fsync costs nothing).");

namespace {

using ::chainverify::testing::CertSpec;
using ::chainverify::testing::IntermediateSpec;
using ::chainverify::testing::KeyType;
using ::chainverify::testing::LeafSpec;
using ::chainverify::testing::MustIssue;
using ::chainverify::testing::RootSpec;
using ::chainverify::testing::ServerProcess;
using ::chainverify::testing::TestCert;
using ::chainverify::testing::TestKey;
namespace v1 = ::chainverify::v1;

struct Pki {
  std::string dir;
  std::string intermediate_der;
  std::string warm_leaf_der;
  std::vector<std::string> fleet_leaf_ders;
};

// `type` for every key: a fleet call then checks one signature of that type
// (the leaf's, by the intermediate) and parses one key of that type.
Pki MakePki(const std::string& dir, int fleet_leaves, KeyType type) {
  Pki pki;
  pki.dir = dir;
  auto with_keys = [type](CertSpec spec) {
    spec.key_type = type;
    return spec;
  };
  TestCert root = MustIssue(with_keys(RootSpec("Bench Root")), nullptr);
  TestCert intermediate = MustIssue(with_keys(IntermediateSpec("Bench Intermediate")), &root);
  pki.intermediate_der = intermediate.der;
  pki.warm_leaf_der =
      MustIssue(with_keys(LeafSpec("warm", {"service.example.com"})), &intermediate).der;
  pki.fleet_leaf_ders.reserve(fleet_leaves);
  // One leaf key for all (RSA generation is slow); each leaf still has its
  // own serial and signature, so its DER (and hash) is new. One SAN for all,
  // so every request names the same peer.
  const TestKey leaf_key = TestKey::Generate(type, /*fresh=*/true);
  pki.fleet_leaf_ders.resize(fleet_leaves);
  std::vector<std::thread> makers;
  const int threads = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  for (int t = 0; t < threads; ++t) {
    makers.emplace_back([&, t] {
      for (int i = t; i < fleet_leaves; i += threads) {
        pki.fleet_leaf_ders[i] =
            MustIssue(with_keys(LeafSpec(absl::StrCat("fleet-", i), {"service.example.com"})),
                      &intermediate, leaf_key)
                .der;
      }
    });
  }
  for (std::thread& maker : makers) maker.join();
  std::ofstream(dir + "/root.pem") << root.pem();
  std::ofstream(dir + "/policy.textproto")
      << "version: \"bench-1\"\n"
         "default_policy: \"bench\"\n"
         "policies {\n"
         "  name: \"bench\"\n"
         "  trust_stores { pem_file: \"root.pem\" }\n"
      << (absl::GetFlag(FLAGS_policy_fetches)
              ? "  aia_fetching { enabled: true fetch { allowed_hosts: \"127.0.0.1\" "
                "allow_private_addresses: true } }\n"
              : "")
      << "}\n";
  return pki;
}

// User + system CPU of process `pid` (this process: getrusage), in ms.
double ProcessCpuMs(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // Fields after the parenthesized command name; utime and stime are fields
  // 14 and 15 (proc(5)), the 12th and 13th after it.
  const size_t close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::vector<std::string> fields = absl::StrSplit(stat.substr(close + 2), ' ');
  if (fields.size() < 13) return 0;
  double utime = 0, stime = 0;
  if (!absl::SimpleAtod(fields[11], &utime) || !absl::SimpleAtod(fields[12], &stime)) return 0;
  return (utime + stime) * 1000.0 / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double SelfCpuMs() {
  rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  auto ms = [](const timeval& tv) { return tv.tv_sec * 1000.0 + tv.tv_usec / 1000.0; };
  return ms(usage.ru_utime) + ms(usage.ru_stime);
}

enum class Kind { kEcho, kWarm, kFleet, kMixed };

const char* KindName(Kind kind) {
  switch (kind) {
    case Kind::kEcho:
      return "echo";
    case Kind::kWarm:
      return "warm";
    case Kind::kFleet:
      return "fleet";
    case Kind::kMixed:
      return "warm+fleet";
  }
  return "?";
}

struct PhaseResult {
  double seconds = 0;
  int64_t ok = 0;
  int64_t failed = 0;
  std::string first_error;
  std::vector<absl::Duration> latencies;  // Of the calls completed in the window.
  double server_cpu_ms = 0;
  double client_cpu_ms = 0;
  int64_t fleet_leaves_used = 0;   // In this run.
  int64_t fleet_leaves_total = 0;  // Since this generator's first run.
};

// Keeps `in_flight` calls outstanding for `duration`: each completion starts
// the next call from gRPC's callback thread.
class LoadGenerator {
 public:
  LoadGenerator(std::shared_ptr<grpc::Channel> channel, const Pki* pki, int echo_bytes)
      : verifier_(v1::ChainVerifier::NewStub(channel)),
        echo_(v1::BenchEcho::NewStub(channel)),
        pki_(pki),
        echo_payload_(static_cast<size_t>(echo_bytes), 'e') {}

  PhaseResult Run(Kind kind, int in_flight, absl::Duration duration, pid_t server_pid) {
    kind_ = kind;
    stop_.store(false);
    outstanding_.store(in_flight);
    const int64_t leaf0 = next_leaf_.load();
    done_ = std::make_unique<absl::Notification>();
    slots_.clear();
    for (int i = 0; i < in_flight; ++i) slots_.push_back(std::make_unique<Slot>());

    const double server_cpu0 = ProcessCpuMs(server_pid);
    const double client_cpu0 = SelfCpuMs();
    const absl::Time start = absl::Now();
    for (int i = 0; i < in_flight; ++i) Issue(slots_[i].get(), i);
    absl::SleepFor(duration);
    stop_.store(true);
    const absl::Time end = absl::Now();
    const double server_cpu1 = ProcessCpuMs(server_pid);
    const double client_cpu1 = SelfCpuMs();
    done_->WaitForNotification();  // Calls still outstanding complete first.

    PhaseResult result;
    result.seconds = absl::ToDoubleSeconds(end - start);
    result.server_cpu_ms = server_cpu1 - server_cpu0;
    result.client_cpu_ms = client_cpu1 - client_cpu0;
    result.fleet_leaves_used = next_leaf_.load() - leaf0;
    result.fleet_leaves_total = next_leaf_.load();
    for (const auto& slot : slots_) {
      result.ok += slot->ok;
      result.failed += slot->failed;
      if (result.first_error.empty()) result.first_error = slot->first_error;
      result.latencies.insert(result.latencies.end(), slot->latencies.begin(),
                              slot->latencies.end());
    }
    return result;
  }

 private:
  // One outstanding call at a time; only its own callback touches it.
  struct Slot {
    std::unique_ptr<grpc::ClientContext> context;
    v1::EchoRequest echo_request;
    v1::EchoResponse echo_response;
    v1::VerifyRequest verify_request;
    v1::VerifyResponse verify_response;
    absl::Time sent;
    int64_t ok = 0;
    int64_t failed = 0;
    std::string first_error;
    std::vector<absl::Duration> latencies;
  };

  void Issue(Slot* slot, int index) {
    slot->context = std::make_unique<grpc::ClientContext>();
    slot->context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    auto on_done = [this, slot, index](grpc::Status status) { Completed(slot, index, status); };
    Kind kind = kind_;
    if (kind == Kind::kMixed) kind = index % 2 == 0 ? Kind::kWarm : Kind::kFleet;
    slot->sent = absl::Now();
    if (kind == Kind::kEcho) {
      slot->echo_request.set_payload(echo_payload_);
      echo_->async()->Echo(slot->context.get(), &slot->echo_request, &slot->echo_response,
                           on_done);
      return;
    }
    v1::VerifyRequest& request = slot->verify_request;
    request.Clear();
    if (kind == Kind::kWarm) {
      request.add_certificates(pki_->warm_leaf_der);
    } else {
      const int64_t n = next_leaf_.fetch_add(1);
      request.add_certificates(
          pki_->fleet_leaf_ders[static_cast<size_t>(n) % pki_->fleet_leaf_ders.size()]);
    }
    request.add_certificates(pki_->intermediate_der);
    request.set_peer_name("service.example.com");
    verifier_->async()->Verify(slot->context.get(), &request, &slot->verify_response, on_done);
  }

  void Completed(Slot* slot, int index, const grpc::Status& status) {
    const absl::Time now = absl::Now();
    const bool verify = slot->verify_request.certificates_size() > 0 && kind_ != Kind::kEcho;
    if (status.ok() && (!verify || slot->verify_response.verdict() == v1::TRUSTED)) {
      ++slot->ok;
      slot->latencies.push_back(now - slot->sent);
    } else {
      ++slot->failed;
      if (slot->first_error.empty()) {
        slot->first_error = status.ok()
                                ? absl::StrCat("verdict ", slot->verify_response.verdict(), ": ",
                                               slot->verify_response.status())
                                : absl::StrCat("RPC ", status.error_code(), ": ",
                                               status.error_message());
      }
    }
    if (!stop_.load()) {
      Issue(slot, index);
      return;
    }
    if (outstanding_.fetch_sub(1) == 1) done_->Notify();
  }

  std::unique_ptr<v1::ChainVerifier::Stub> verifier_;
  std::unique_ptr<v1::BenchEcho::Stub> echo_;
  const Pki* pki_;
  const std::string echo_payload_;
  Kind kind_ = Kind::kEcho;
  std::atomic<bool> stop_{false};
  std::atomic<int> outstanding_{0};
  std::atomic<int64_t> next_leaf_{0};
  std::unique_ptr<absl::Notification> done_;
  std::vector<std::unique_ptr<Slot>> slots_;
};

double Percentile(std::vector<absl::Duration>* latencies, double p) {
  if (latencies->empty()) return 0;
  const size_t k = std::min(latencies->size() - 1,
                            static_cast<size_t>(p * static_cast<double>(latencies->size())));
  std::nth_element(latencies->begin(), latencies->begin() + k, latencies->end());
  return absl::ToDoubleMilliseconds((*latencies)[k]);
}

// Starts chainverifyd with the bench policy and an audit log in a fresh
// directory under --audit_dir.
absl::StatusOr<ServerProcess> StartServer(const Pki& pki, const std::string& durability,
                                          int in_flight, std::string* audit_log) {
  std::string audit_template = absl::GetFlag(FLAGS_audit_dir) + "/chainverify-bench-XXXXXX";
  if (mkdtemp(audit_template.data()) == nullptr) {
    return absl::InternalError(absl::StrCat("mkdtemp under ", absl::GetFlag(FLAGS_audit_dir)));
  }
  *audit_log = audit_template + "/audit.log";
  std::vector<std::string> args = {
      absl::StrCat("--policy_file=", pki.dir, "/policy.textproto"),
      "--policy_watch_interval=0",
      absl::StrCat("--audit_log=", *audit_log),
      absl::StrCat("--audit_durability=", durability),
      absl::StrCat("--max_concurrent_requests=", std::max(256, 2 * in_flight)),
      "--enable_bench_echo",
  };
  for (absl::string_view arg :
       absl::StrSplit(absl::GetFlag(FLAGS_server_args), ' ', absl::SkipEmpty())) {
    args.emplace_back(arg);
  }
  std::string binary = absl::GetFlag(FLAGS_server_binary);
  if (binary.empty()) binary = ::chainverify::testing::Runfile("server/chainverifyd");
  const std::string cpus = absl::GetFlag(FLAGS_server_cpus);
  if (!cpus.empty()) {
    args.insert(args.begin(), {"-c", cpus, binary});
    binary = "/usr/bin/taskset";
  }
  return ServerProcess::Start(binary, args);
}

void RemoveAuditDir(const std::string& audit_log) {
  const std::string dir = audit_log.substr(0, audit_log.rfind('/'));
  std::string out;
  ::chainverify::testing::RunCommand({"/bin/rm", "-rf", dir}, &out);
}

void PrintRow(const char* durability, int in_flight, Kind kind, PhaseResult* r) {
  const double rps = static_cast<double>(r->ok) / r->seconds;
  const double calls = static_cast<double>(std::max<int64_t>(1, r->ok + r->failed));
  std::printf("%-13s %9d %-10s %10.0f %9.2f %9.2f %12.3f %12.3f %8lld\n", durability, in_flight,
              KindName(kind), rps, Percentile(&r->latencies, 0.50),
              Percentile(&r->latencies, 0.99), r->server_cpu_ms / calls,
              r->client_cpu_ms / calls, static_cast<long long>(r->failed));
  if (r->failed > 0) std::printf("    first failure: %s\n", r->first_error.c_str());
}

bool PinSelf(const std::string& cpus) {
  if (cpus.empty()) return true;
  cpu_set_t set;
  CPU_ZERO(&set);
  for (absl::string_view part : absl::StrSplit(cpus, ',')) {
    int cpu = 0;
    if (!absl::SimpleAtoi(part, &cpu)) return false;
    CPU_SET(cpu, &set);
  }
  return sched_setaffinity(0, sizeof(set), &set) == 0;
}

int RunRss(const Pki& pki, int in_flight, int seconds) {
  std::string audit_log;
  const std::string durability =
      std::string(*absl::StrSplit(absl::GetFlag(FLAGS_durability), ',').begin());
  absl::StatusOr<ServerProcess> server = StartServer(pki, durability, in_flight, &audit_log);
  if (!server.ok()) {
    std::fprintf(stderr, "cannot start chainverifyd: %s\n", server.status().ToString().c_str());
    return 1;
  }
  LoadGenerator load(grpc::CreateChannel(server->target(), grpc::InsecureChannelCredentials()),
                     &pki, absl::GetFlag(FLAGS_echo_bytes));
  const pid_t pid = server->pid();
  std::vector<std::pair<int, int64_t>> samples;
  std::atomic<bool> sampling{true};
  std::thread sampler([&] {
    for (int t = 0; sampling.load(); t += 10) {
      samples.push_back({t, ::chainverify::testing::ResidentSetKib(pid)});
      std::printf("t=%4ds server VmRSS %lld KiB\n", t, static_cast<long long>(samples.back().second));
      std::fflush(stdout);
      for (int i = 0; i < 100 && sampling.load(); ++i) absl::SleepFor(absl::Milliseconds(100));
    }
  });
  PhaseResult r = load.Run(Kind::kMixed, in_flight, absl::Seconds(seconds), pid);
  sampling.store(false);
  sampler.join();
  std::printf("\n%-13s %9s %-10s %10s %9s %9s %12s %12s %8s\n", "durability", "in_flight",
              "phase", "RPC/s", "p50 ms", "p99 ms", "srv ms/RPC", "cli ms/RPC", "failed");
  PrintRow(durability.c_str(), in_flight, Kind::kMixed, &r);
  // The caches fill during the first minute (the certificate cache up to
  // --cert_cache_bytes), so growth is measured from there, and over the
  // second half of the run.
  auto at = [&](int t) {
    int64_t kib = samples.front().second;
    for (const auto& [when, value] : samples) {
      if (when <= t) kib = value;
    }
    return kib;
  };
  const int end_t = samples.back().first;
  const int64_t minute = at(60), half = at(end_t / 2), last = samples.back().second;
  int64_t max = 0;
  for (const auto& [t, kib] : samples) max = std::max(max, kib);
  auto growth = [](int64_t from, int64_t to) {
    return from > 0 ? 100.0 * static_cast<double>(to - from) / static_cast<double>(from) : 0.0;
  };
  std::printf("fleet leaves used %lld (of %zu distinct)\n",
              static_cast<long long>(r.fleet_leaves_used), pki.fleet_leaf_ders.size());
  std::printf("server VmRSS KiB: start %lld, t=60s %lld, t=%ds %lld, end (t=%ds) %lld, max %lld\n",
              static_cast<long long>(samples.front().second), static_cast<long long>(minute),
              end_t / 2, static_cast<long long>(half), end_t, static_cast<long long>(last),
              static_cast<long long>(max));
  std::printf("server VmRSS growth: %.1f%% from t=60s to the end, %.1f%% over the second half\n",
              growth(minute, last), growth(half, last));
  std::string metrics = ::chainverify::testing::HttpGet(server->metrics_port(), "/metrics");
  for (absl::string_view line : absl::StrSplit(metrics, '\n')) {
    if (absl::StartsWith(line, "chainverify_verifier_cache")) {
      std::printf("%s\n", std::string(line).c_str());
    }
  }
  server->Stop();
  RemoveAuditDir(audit_log);
  return 0;
}

// The disk's own latency, the floor under any durable answer: `samples`
// appends of one 1.5 KB record-sized line to a file in `dir`, each followed by
// fsync. Returns the p50 and p99 in ms.
std::pair<double, double> MeasureFsync(const std::string& dir, int samples) {
  const std::string path = absl::StrCat(dir, "/chainverify-bench-fsync-", getpid());
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return {0, 0};
  const std::string line(1535, 'x');
  std::vector<absl::Duration> latencies;
  for (int i = 0; i < samples; ++i) {
    const absl::Time start = absl::Now();
    if (write(fd, (line + "\n").data(), line.size() + 1) < 0 || fsync(fd) != 0) break;
    latencies.push_back(absl::Now() - start);
  }
  close(fd);
  unlink(path.c_str());
  return {Percentile(&latencies, 0.50), Percentile(&latencies, 0.99)};
}

struct RunSpec {
  std::string durability;
  int in_flight;
};

absl::StatusOr<std::vector<RunSpec>> ParseRuns(const std::string& text) {
  std::vector<RunSpec> runs;
  for (absl::string_view item : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    std::pair<std::string, std::string> parts = absl::StrSplit(item, absl::MaxSplits(':', 1));
    RunSpec run{parts.first, 0};
    if (!absl::SimpleAtoi(parts.second, &run.in_flight) || run.in_flight < 1) {
      return absl::InvalidArgumentError(absl::StrCat("--runs: \"", item, "\" is not DURABILITY:N"));
    }
    runs.push_back(run);
  }
  return runs;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const int seconds = std::max(1, absl::GetFlag(FLAGS_seconds));
  if (!PinSelf(absl::GetFlag(FLAGS_client_cpus))) {
    std::fprintf(stderr, "cannot pin to --client_cpus\n");
    return 2;
  }

  char pki_dir[] = "/tmp/chainverify-bench-pki-XXXXXX";
  if (mkdtemp(pki_dir) == nullptr) return 1;
  const std::string keys = absl::GetFlag(FLAGS_keys);
  if (keys != "rsa2048" && keys != "p256") {
    std::fprintf(stderr, "--keys must be rsa2048 or p256\n");
    return 2;
  }
  absl::StatusOr<std::vector<RunSpec>> runs = ParseRuns(absl::GetFlag(FLAGS_runs));
  if (!runs.ok()) {
    std::fprintf(stderr, "%s\n", std::string(runs.status().message()).c_str());
    return 2;
  }
  const absl::Time gen_start = absl::Now();
  Pki pki = MakePki(pki_dir, std::max(1, absl::GetFlag(FLAGS_fleet_leaves)),
                    keys == "rsa2048" ? KeyType::kRsa2048 : KeyType::kEcP256);
  std::printf("generated %zu fleet leaves (%s) in %.1f s; %ld CPUs online; "
              "server cpus [%s], client cpus [%s]; server %s\n",
              pki.fleet_leaf_ders.size(), keys.c_str(),
              absl::ToDoubleSeconds(absl::Now() - gen_start), sysconf(_SC_NPROCESSORS_ONLN),
              absl::GetFlag(FLAGS_server_cpus).empty() ? "any"
                                                       : absl::GetFlag(FLAGS_server_cpus).c_str(),
              absl::GetFlag(FLAGS_client_cpus).empty() ? "any"
                                                       : absl::GetFlag(FLAGS_client_cpus).c_str(),
              absl::GetFlag(FLAGS_server_binary).empty()
                  ? "built with this benchmark"
                  : absl::GetFlag(FLAGS_server_binary).c_str());

  if (absl::GetFlag(FLAGS_rss_seconds) > 0) {
    return RunRss(pki, std::max(1, absl::GetFlag(FLAGS_in_flight)),
                  absl::GetFlag(FLAGS_rss_seconds));
  }

  std::vector<Kind> kinds;
  for (absl::string_view phase : absl::StrSplit(absl::GetFlag(FLAGS_phases), ',')) {
    if (phase == "echo") {
      kinds.push_back(Kind::kEcho);
    } else if (phase == "warm") {
      kinds.push_back(Kind::kWarm);
    } else if (phase == "fleet") {
      kinds.push_back(Kind::kFleet);
    } else {
      std::fprintf(stderr, "unknown phase \"%s\"\n", std::string(phase).c_str());
      return 2;
    }
  }
  const int rounds = std::max(1, absl::GetFlag(FLAGS_rounds));
  const auto [fsync_p50, fsync_p99] =
      MeasureFsync(absl::GetFlag(FLAGS_audit_dir), absl::GetFlag(FLAGS_fsync_samples));
  std::printf("fsync of a 1.5 KB append on %s: p50 %.3f ms, p99 %.3f ms\n",
              absl::GetFlag(FLAGS_audit_dir).c_str(), fsync_p50, fsync_p99);
  std::printf("%-13s %9s %-10s %10s %9s %9s %12s %12s %8s\n", "durability", "in_flight",
              "phase", "RPC/s", "p50 ms", "p99 ms", "srv ms/RPC", "cli ms/RPC", "failed");
  // (durability, in flight, phase) -> totals, for the target lines.
  std::map<std::tuple<std::string, int, Kind>, PhaseResult> results;
  for (const RunSpec& run : *runs) {
    std::string audit_log;
    absl::StatusOr<ServerProcess> server =
        StartServer(pki, run.durability, run.in_flight, &audit_log);
    if (!server.ok()) {
      std::fprintf(stderr, "cannot start chainverifyd: %s\n",
                   server.status().ToString().c_str());
      return 1;
    }
    LoadGenerator load(
        grpc::CreateChannel(server->target(), grpc::InsecureChannelCredentials()), &pki,
        absl::GetFlag(FLAGS_echo_bytes));
    std::fprintf(stderr, "chainverifyd pid %d (%s, %d in flight)\n",
                 static_cast<int>(server->pid()), run.durability.c_str(), run.in_flight);
    // The phases take turns, --rounds times, each turn a share of --seconds,
    // so a change in the machine's other load hits them alike.
    std::vector<PhaseResult> totals(kinds.size());
    for (Kind kind : kinds) load.Run(kind, run.in_flight, absl::Seconds(1), server->pid());
    const absl::Duration turn = absl::Seconds(seconds) / rounds;
    for (int round = 0; round < rounds; ++round) {
      for (size_t k = 0; k < kinds.size(); ++k) {
        PhaseResult r = load.Run(kinds[k], run.in_flight, turn, server->pid());
        PhaseResult& total = totals[k];
        total.seconds += r.seconds;
        total.ok += r.ok;
        total.failed += r.failed;
        if (total.first_error.empty()) total.first_error = r.first_error;
        total.latencies.insert(total.latencies.end(), r.latencies.begin(), r.latencies.end());
        total.server_cpu_ms += r.server_cpu_ms;
        total.client_cpu_ms += r.client_cpu_ms;
        total.fleet_leaves_total = r.fleet_leaves_total;
      }
    }
    for (size_t k = 0; k < kinds.size(); ++k) {
      PhaseResult& r = totals[k];
      PrintRow(run.durability.c_str(), run.in_flight, kinds[k], &r);
      if (kinds[k] == Kind::kFleet &&
          r.fleet_leaves_total > static_cast<int64_t>(pki.fleet_leaf_ders.size())) {
        std::printf("    fleet reused leaves: %lld calls so far over %zu distinct leaves\n",
                    static_cast<long long>(r.fleet_leaves_total), pki.fleet_leaf_ders.size());
      }
      results[{run.durability, run.in_flight, kinds[k]}] = std::move(r);
    }
    std::fflush(stdout);
    struct stat st;
    if (stat(audit_log.c_str(), &st) == 0) {
      std::printf("    audit log (%s): %lld bytes\n", run.durability.c_str(),
                  static_cast<long long>(st.st_size));
    }
    server->Stop();
    RemoveAuditDir(audit_log);
  }
  std::string out;
  ::chainverify::testing::RunCommand({"/bin/rm", "-rf", pki_dir}, &out);

  // The targets, from the default durability's runs.
  auto find = [&](int in_flight, Kind kind) -> PhaseResult* {
    auto it = results.find({"group_commit", in_flight, kind});
    return it == results.end() ? nullptr : &it->second;
  };
  auto rps = [](const PhaseResult& r) { return static_cast<double>(r.ok) / r.seconds; };
  auto per_call = [](double ms, const PhaseResult& r) {
    return ms / static_cast<double>(std::max<int64_t>(1, r.ok + r.failed));
  };
  PhaseResult* echo64 = find(64, Kind::kEcho);
  PhaseResult* warm64 = find(64, Kind::kWarm);
  PhaseResult* fleet64 = find(64, Kind::kFleet);
  if (echo64 != nullptr && warm64 != nullptr) {
    // With client and server sharing the cores, RPC/s follows CPU per RPC
    // (both sides): what the ratio becomes once the machine is saturated.
    const double echo_cpu = per_call(echo64->server_cpu_ms + echo64->client_cpu_ms, *echo64);
    const double warm_cpu = per_call(warm64->server_cpu_ms + warm64->client_cpu_ms, *warm64);
    std::printf("cpu per RPC (server + client): echo %.3f ms, warm %.3f ms; ratio %.2f\n",
                echo_cpu, warm_cpu, echo_cpu / warm_cpu);
    std::printf("ratio service_warm_vs_echo = %.2f (target >= 0.8)\n",
                rps(*warm64) / rps(*echo64));
  }
  if (echo64 != nullptr && fleet64 != nullptr) {
    std::printf("ratio service_fleet_vs_echo = %.2f (target >= 0.5)\n",
                rps(*fleet64) / rps(*echo64));
    std::printf("max_ms service_fleet_extra_cpu_per_rpc = %.3f (target <= 0.08)\n",
                per_call(fleet64->server_cpu_ms, *fleet64) -
                    per_call(echo64->server_cpu_ms, *echo64));
  }
  PhaseResult* echo1 = find(1, Kind::kEcho);
  if (echo1 != nullptr) {
    const double echo_p50 = Percentile(&echo1->latencies, 0.50);
    for (auto [kind, name, slack] : {std::make_tuple(Kind::kWarm, "warm", 0.25),
                                     std::make_tuple(Kind::kFleet, "fleet", 0.5)}) {
      PhaseResult* r = find(1, kind);
      if (r == nullptr) continue;
      std::printf("max_ms service_%s_p50_in_flight_1 = %.3f (target <= %.3f)\n", name,
                  Percentile(&r->latencies, 0.50), echo_p50 + fsync_p50 + slack);
    }
  }
  if (warm64 != nullptr && fleet64 != nullptr) {
    std::printf("p99 at 64 in flight (group_commit): warm %.2f ms, fleet %.2f ms\n",
                Percentile(&warm64->latencies, 0.99), Percentile(&fleet64->latencies, 0.99));
  }
  return 0;
}
