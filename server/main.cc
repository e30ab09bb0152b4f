// chainverifyd: flags and wiring only.
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <thread>

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "server/audit/audit_log.h"
#include "server/policy/policy_store.h"
#include "server/service/decider.h"
#include "server/service/verifier_service.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50051",
          "Address to serve on. Loopback by default; port 0 picks a free port "
          "(printed on stdout as 'listening on HOST:PORT').");
ABSL_FLAG(std::string, policy_file, "",
          "Trust policy file (text-format or .json PolicyBundle). Empty: the "
          "embedded default (OS trust store).");
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

void OnSignal(int) { g_stop.store(true); }

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

  const std::string policy_file = absl::GetFlag(FLAGS_policy_file);
  auto policies = policy_file.empty()
                      ? chainverify::policy::PolicySet::Embedded(limits)
                      : chainverify::policy::PolicySet::FromFile(policy_file, limits);
  if (!policies.ok()) {
    std::cerr << "chainverifyd: cannot load policy: " << policies.status().message() << "\n";
    return 1;
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
  chainverify::service::Decider decider(*policies, audit_log->get(), request_limits);
  chainverify::service::VerifierService service(&decider);

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  const std::string listen = absl::GetFlag(FLAGS_listen);
  builder.AddListeningPort(listen, grpc::InsecureServerCredentials(), &port);
  builder.SetMaxReceiveMessageSize(absl::GetFlag(FLAGS_max_message_bytes));
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    std::cerr << "chainverifyd: cannot listen on " << listen << "\n";
    return 1;
  }
  const std::string host = listen.substr(0, listen.rfind(':'));
  std::printf("listening on %s:%d (policy version %s, %zu policies, audit log %s)\n",
              host.c_str(), port, (*policies)->version().c_str(),
              (*policies)->policies().size(), audit_options.path.c_str());
  std::fflush(stdout);

  // Graceful shutdown: stop accepting, let in-flight calls finish (bounded),
  // then the audit log is flushed and closed by its destructor.
  signal(SIGTERM, OnSignal);
  signal(SIGINT, OnSignal);
  while (!g_stop.load()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  std::fprintf(stderr, "chainverifyd: shutting down\n");
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  server->Wait();
  return 0;
}
