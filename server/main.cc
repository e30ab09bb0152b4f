// chainverifyd: flags and wiring only.
#include <arpa/inet.h>
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "server/audit/audit_log.h"
#include "server/policy/policy_holder.h"
#include "server/policy/policy_store.h"
#include "server/service/decider.h"
#include "server/service/policy_admin_service.h"
#include "server/service/verifier_service.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50051",
          "Address to serve on. Loopback by default; port 0 picks a free port "
          "(printed on stdout as 'listening on HOST:PORT').");
ABSL_FLAG(std::string, policy_file, "",
          "Trust policy file (text-format or .json PolicyBundle). Empty: the "
          "embedded default (OS trust store), which cannot be reloaded. The file is "
          "reloaded on SIGHUP, on PolicyAdmin.ReloadPolicy and when it changes; a "
          "file that does not load leaves the previous policy serving.");
ABSL_FLAG(absl::Duration, policy_watch_interval, absl::Seconds(2),
          "How often to check --policy_file for changes (mtime, size, content "
          "SHA-256). 0 disables watching; SIGHUP and PolicyAdmin still reload.");
// PolicyAdmin has no caller authorization yet and must be restricted to admin
// identities; until then it is on by default only on a loopback --listen.
// Optional so that "not set" (the loopback rule) differs from an explicit true.
ABSL_FLAG(std::optional<bool>, enable_policy_admin, std::nullopt,
          "Serve the PolicyAdmin service (reload and inspect the policy) on the "
          "--listen port: true or false. Default: true when --listen is a loopback "
          "address, false otherwise, since PolicyAdmin has no caller authorization "
          "yet.");
ABSL_FLAG(std::string, audit_log, "chainverify-audit/audit.log",
          "Audit log file (one JSON record per decision, hash-chained).");
ABSL_FLAG(bool, audit_fsync, true, "fsync the audit log after every record.");
ABSL_FLAG(bool, audit_stdout, false, "Also write audit records to stdout.");
ABSL_FLAG(int, max_certificates, 32, "Most certificates accepted in one request.");
ABSL_FLAG(int, max_certificate_bytes, 65536, "Largest certificate accepted, in bytes.");
ABSL_FLAG(int, max_message_bytes, 4 << 20, "Largest gRPC message accepted, in bytes.");
ABSL_FLAG(int, max_signature_checks, 200, "Path-building budget: signature checks per request.");
ABSL_FLAG(int, max_iterations, 2000, "Path-building budget: candidate issuers tried per request.");
ABSL_FLAG(absl::Duration, search_deadline, absl::Seconds(2),
          "Path-building budget: wall-clock time per request.");

namespace {

std::atomic<bool> g_stop{false};
std::atomic<bool> g_reload{false};

// Signal handlers only set flags; the main loop does the work.
void OnSignal(int) { g_stop.store(true); }
void OnSighup(int) { g_reload.store(true); }

// Whether `listen` ("host:port", "[v6]:port", "unix:path") is reachable only
// from this host.
bool IsLoopback(const std::string& listen) {
  if (absl::StartsWith(listen, "unix:") || absl::StartsWith(listen, "unix-abstract:")) {
    return true;
  }
  const size_t colon = listen.rfind(':');
  std::string host = colon == std::string::npos ? listen : listen.substr(0, colon);
  if (!host.empty() && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host == "localhost") return true;
  in_addr v4;
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  in6_addr v6;
  return inet_pton(AF_INET6, host.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

void ReloadOnSighup(chainverify::policy::PolicyHolder* holder) {
  if (!holder->reloadable()) {
    std::fprintf(stderr,
                 "chainverifyd: SIGHUP ignored: the embedded default policy has no file "
                 "to reload (start with --policy_file)\n");
    return;
  }
  // The holder logs the outcome and keeps the old policy on failure.
  holder->ReloadFromFile().IgnoreError();
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "chainverifyd: centralized X.509 chain verification over gRPC.\n"
      "Starts on 127.0.0.1:50051 with the OS trust store unless told otherwise.");
  absl::ParseCommandLine(argc, argv);

  chainverify::pki::SearchLimits limits;
  limits.max_signature_checks = absl::GetFlag(FLAGS_max_signature_checks);
  limits.max_iterations = absl::GetFlag(FLAGS_max_iterations);
  limits.deadline = absl::GetFlag(FLAGS_search_deadline);

  // Signal handlers first, so a SIGHUP or SIGTERM right after startup is
  // handled rather than killing the process.
  signal(SIGTERM, OnSignal);
  signal(SIGINT, OnSignal);
  signal(SIGHUP, OnSighup);

  const std::string policy_file = absl::GetFlag(FLAGS_policy_file);
  auto policies = chainverify::policy::PolicyHolder::Create(policy_file, limits);
  if (!policies.ok()) {
    std::cerr << "chainverifyd: cannot load policy: " << policies.status().message() << "\n";
    return 1;
  }
  for (const std::string& warning : (*policies)->Current()->warnings()) {
    std::cerr << "chainverifyd: policy warning: " << warning << "\n";
  }
  const absl::Duration watch_interval = absl::GetFlag(FLAGS_policy_watch_interval);
  if (!policy_file.empty() && watch_interval > absl::ZeroDuration()) {
    absl::Status watching = (*policies)->StartWatching(watch_interval);
    if (!watching.ok()) {
      std::cerr << "chainverifyd: cannot watch policy file: " << watching.message() << "\n";
      return 1;
    }
  }

  chainverify::audit::AuditLogOptions audit_options;
  audit_options.path = absl::GetFlag(FLAGS_audit_log);
  audit_options.fsync_each_record = absl::GetFlag(FLAGS_audit_fsync);
  audit_options.mirror_to_stdout = absl::GetFlag(FLAGS_audit_stdout);
  auto audit_log = chainverify::audit::AuditLog::Open(audit_options);
  if (!audit_log.ok()) {
    std::cerr << "chainverifyd: cannot open audit log: " << audit_log.status().message() << "\n";
    return 1;
  }

  chainverify::service::RequestLimits request_limits;
  request_limits.max_certificates = absl::GetFlag(FLAGS_max_certificates);
  request_limits.max_certificate_bytes = absl::GetFlag(FLAGS_max_certificate_bytes);
  chainverify::service::Decider decider(policies->get(), audit_log->get(), request_limits);
  chainverify::service::VerifierService service(&decider);
  chainverify::service::PolicyAdminService admin_service(policies->get());

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  const std::string listen = absl::GetFlag(FLAGS_listen);
  // Unauthenticated admin RPCs stay local unless explicitly asked for.
  const std::optional<bool> admin_flag = absl::GetFlag(FLAGS_enable_policy_admin);
  const bool enable_admin = admin_flag.value_or(IsLoopback(listen));
  if (enable_admin && !IsLoopback(listen)) {
    std::fprintf(stderr,
                 "chainverifyd: WARNING: PolicyAdmin served on non-loopback %s without "
                 "caller authorization\n",
                 listen.c_str());
  }
  builder.AddListeningPort(listen, grpc::InsecureServerCredentials(), &port);
  builder.SetMaxReceiveMessageSize(absl::GetFlag(FLAGS_max_message_bytes));
  builder.RegisterService(&service);
  if (enable_admin) builder.RegisterService(&admin_service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    std::cerr << "chainverifyd: cannot listen on " << listen << "\n";
    return 1;
  }
  const std::string host = listen.substr(0, listen.rfind(':'));
  const std::shared_ptr<const chainverify::policy::PolicySet> initial = (*policies)->Current();
  std::printf("listening on %s:%d (policy version %s, %zu policies, audit log %s)\n",
              host.c_str(), port, initial->version().c_str(), initial->policies().size(),
              audit_options.path.c_str());
  std::fflush(stdout);

  // Graceful shutdown: stop accepting, let in-flight calls finish (bounded),
  // then the audit log is flushed and closed by its destructor.
  while (!g_stop.load()) {
    if (g_reload.exchange(false)) ReloadOnSighup(policies->get());
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::fprintf(stderr, "chainverifyd: shutting down\n");
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  server->Wait();
  return 0;
}
