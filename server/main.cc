// chainverifyd: flags and wiring only.
#include <arpa/inet.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/audit/audit_log.h"
#include "server/logging/log.h"
#include "server/pki/caches.h"
#include "server/pki/openssl_util.h"
#include "server/pki/public_suffix_list.h"
#include "server/policy/policy_holder.h"
#include "server/policy/policy_store.h"
#include "server/service/bench_echo_service.h"
#include "server/service/decider.h"
#include "server/service/metrics.h"
#include "server/service/policy_admin_service.h"
#include "server/service/verifier_service.h"
#include "server/service/worker_pool.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50051",
          "Address to serve on. Loopback by default; port 0 picks a free port "
          "(printed on stdout as 'listening on HOST:PORT'). Without --tls_cert "
          "the server speaks plaintext, which it does only on a loopback address "
          "(127.0.0.0/8, ::1, localhost, unix:): on any other address it refuses "
          "to start.");
ABSL_FLAG(std::string, tls_cert, "",
          "PEM certificate chain the server presents (leaf first); with --tls_key, "
          "serve TLS. Required unless --listen is a loopback address. With TLS, give "
          "the policy file an `authorization` section: without one every caller may "
          "use every policy (acceptable only for plaintext loopback; a warning is "
          "printed at startup) and nobody may use PolicyAdmin.");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert.");
ABSL_FLAG(std::string, tls_client_ca, "",
          "PEM CA certificates for mutual TLS: every client must present a "
          "certificate that verifies against them, or the handshake fails. Callers "
          "are then identified by the certificate's URI (SPIFFE ID) and DNS SANs, "
          "which the policy file's `authorization` section grants policies and "
          "PolicyAdmin to. Empty: TLS without client certificates, every caller is "
          "\"unauthenticated\". Needs --tls_cert.");
ABSL_FLAG(std::string, policy_file, "",
          "Trust policy file (text-format or .json PolicyBundle). Empty: the "
          "embedded default (OS trust store), which cannot be reloaded. The file is "
          "reloaded on SIGHUP, on PolicyAdmin.ReloadPolicy and when it changes; a "
          "file that does not load leaves the previous policy serving.");
ABSL_FLAG(absl::Duration, policy_watch_interval, absl::Seconds(2),
          "How often to check --policy_file for changes (inode, mtime, size, content "
          "SHA-256). 0 disables watching; SIGHUP and PolicyAdmin still reload.");
ABSL_FLAG(bool, check_policy, false,
          "Load --policy_file (or the embedded default) and its trust stores as the "
          "server would, print its version, policies and warnings, and exit: 0 when "
          "it loads, 1 when it does not. Serves nothing; for CI and deploy checks.");
// Optional so that "not set" (the default rule) differs from an explicit true.
ABSL_FLAG(std::optional<bool>, enable_policy_admin, std::nullopt,
          "Serve the PolicyAdmin service (reload and inspect the policy) on the "
          "--listen port: true or false. Only callers in the policy file's "
          "authorization.admin_identities may call it; without an authorization "
          "section, only plaintext loopback callers. Default: true on a loopback "
          "--listen or with mutual TLS (--tls_client_ca), false otherwise.");
ABSL_FLAG(std::string, audit_log, "chainverify-audit/audit.log",
          "Audit log file (one JSON record per decision, hash-chained).");
// group_commit by default: the same guarantee as fsync (no decision returned
// before its record is fsynced) at a fraction of the fsyncs; README
// "Benchmarks" has the measurements.
ABSL_FLAG(chainverify::audit::AuditDurability, audit_durability,
          chainverify::audit::AuditDurability::kGroupCommit,
          "When a decision's record is on disk: 'group_commit' (a writer thread "
          "fsyncs batches of records; each decision is returned only after the fsync "
          "covering its record), 'fsync' (one write and fsync per record, in turn), or "
          "'none' (no fsync: a machine crash can lose returned decisions). Under "
          "load no RPC thread waits for the disk; a lone record is written by its "
          "own RPC thread.");
ABSL_FLAG(absl::Duration, audit_group_commit_delay, absl::ZeroDuration(),
          "group_commit: how long a record may wait for others to join its batch. 0: "
          "none; a batch is what queued during the previous fsync, so a lone record "
          "is written at once.");
ABSL_FLAG(bool, audit_fsync, true,
          "Deprecated: --audit_fsync=false is --audit_durability=none.");
ABSL_FLAG(int64_t, audit_max_file_bytes, int64_t{64} << 20,
          "Rotate the audit log before it would grow past this many bytes: it is "
          "renamed to <audit_log>.<UTC time YYYYMMDDTHHMMSSZ>.<first sequence> and "
          "the hash chain continues in a fresh file. 0: never rotate.");
ABSL_FLAG(chainverify::audit::AuditFailureMode, audit_failure_mode,
          chainverify::audit::AuditFailureMode::kFailClosed,
          "When a record cannot be written: 'fail_closed' (the call fails with "
          "UNAVAILABLE; no decision goes unrecorded) or 'fail_open' (the decision "
          "is returned unrecorded; losses are reported on stderr).");
ABSL_FLAG(absl::Duration, shutdown_grace, absl::Seconds(5),
          "On SIGTERM, how long requests being decided may take to finish.");
ABSL_FLAG(int, max_concurrent_requests, 256,
          "Requests decided at once; more are refused with RESOURCE_EXHAUSTED.");
ABSL_FLAG(int, fetching_threads, 32,
          "Threads deciding requests under policies that may fetch (AIA caIssuers, OCSP, "
          "CRLs), so that a slow server delays only the requests that wait on it, not "
          "gRPC's own few threads. 0: decide every request on gRPC's threads.");
ABSL_FLAG(std::string, metrics_listen, "127.0.0.1:9464",
          "Address serving Prometheus metrics at /metrics; empty disables.");
ABSL_FLAG(std::string, health_listen, "",
          "Address serving only grpc.health.v1.Health, in plaintext, for probes that "
          "cannot do TLS or present a client certificate (Kubernetes gRPC probes). "
          "SERVING while the server runs, NOT_SERVING from SIGTERM on. Empty: not "
          "served (the --listen port serves Health too).");
ABSL_FLAG(absl::Duration, max_connection_age, absl::ZeroDuration(),
          "Ask each client connection to close (HTTP/2 GOAWAY) after about this long, "
          "so that long-lived channels reconnect and spread over replicas added since "
          "(calls in progress finish first). 0: connections live as long as clients "
          "keep them.");
ABSL_FLAG(bool, audit_stdout, false, "Also write audit records to stdout.");
ABSL_FLAG(std::string, instance_name, "",
          "This server's name, written into every audit record (`instance`) beside "
          "the log's lineage. Empty: the host name. In Kubernetes, the pod name.");
ABSL_FLAG(int, max_certificates, 32, "Most certificates accepted in one request.");
ABSL_FLAG(int, max_certificate_bytes, 65536, "Largest certificate accepted, in bytes.");
ABSL_FLAG(int, max_message_bytes, 4 << 20, "Largest gRPC message accepted, in bytes.");
ABSL_FLAG(int, max_signature_checks, 50, "Path-building budget: signature checks per request.");
ABSL_FLAG(int, max_iterations, 2000, "Path-building budget: candidate issuers tried per request.");
ABSL_FLAG(int64_t, cert_cache_bytes, int64_t{64} << 20,
          "Memory budget (estimated bytes) of the process-wide parsed-certificate cache; 0 disables it.");
ABSL_FLAG(int64_t, signature_cache_entries, 200000,
          "Verified signature edges remembered across requests (~200 bytes each); 0 disables it.");
ABSL_FLAG(int64_t, result_cache_bytes, int64_t{16} << 20,
          "Memory budget (estimated bytes) of the process-wide whole-result cache; 0 disables it.");
ABSL_FLAG(bool, enable_bench_echo, false,
          "Benchmarks only: also serve chainverify.v1.BenchEcho (an echo RPC, "
          "proto/chainverify/v1/bench.proto) on the --listen port, the baseline "
          "//bench:service compares Verify against.");
ABSL_FLAG(absl::Duration, search_deadline, absl::Seconds(2),
          "Path-building budget: wall-clock time per request.");

namespace {

std::atomic<bool> g_stop{false};

// The metrics that are states rather than events, refreshed from the main
// loop: the serving policy, its earliest anchor expiry, fetch totals, audit
// records lost (fail_open).
void SetCacheGauges(const std::string& name, const chainverify::pki::CacheStats& stats,
                    chainverify::service::Metrics* metrics) {
  metrics->SetCacheStats(name, "hits", static_cast<double>(stats.hits));
  metrics->SetCacheStats(name, "misses", static_cast<double>(stats.misses));
  metrics->SetCacheStats(name, "evictions", static_cast<double>(stats.evictions));
  metrics->SetCacheStats(name, "entries", static_cast<double>(stats.entries));
  metrics->SetCacheStats(name, "cost", static_cast<double>(stats.cost));
}

void UpdateGauges(const chainverify::policy::PolicyHolder& holder,
                  const chainverify::audit::AuditLog& audit_log,
                  const chainverify::pki::VerifierCaches& caches,
                  const chainverify::service::WorkerPool* fetching_pool,
                  chainverify::service::Metrics* metrics) {
  const chainverify::pki::VerifierCacheStats cache_stats = caches.Stats();
  SetCacheGauges("certificates", cache_stats.certificates, metrics);
  SetCacheGauges("signatures", cache_stats.signatures, metrics);
  SetCacheGauges("results", cache_stats.results, metrics);
  const std::shared_ptr<const chainverify::policy::PolicySet> set = holder.Current();
  absl::Time earliest = absl::InfiniteFuture();
  std::map<std::string, double> fetches;
  std::map<std::string, double> issuer_fetches;
  for (const auto& [name, policy] : set->policies()) {
    for (const auto& anchor : policy.verify.trust_store->anchors()) {
      if (anchor->IsAnchor()) earliest = std::min(earliest, anchor->certificate->not_after());
    }
    if (policy.verify.rules.fetcher != nullptr) {
      for (const auto& [outcome, total] : policy.verify.rules.fetcher->Counters()) {
        fetches[outcome] += static_cast<double>(total);
      }
    }
    if (policy.verify.issuers.fetcher != nullptr) {
      for (const auto& [outcome, total] : policy.verify.issuers.fetcher->Counters()) {
        issuer_fetches[outcome] += static_cast<double>(total);
      }
    }
  }
  metrics->SetPolicy(set->version(), static_cast<uint64_t>(holder.reload_failures()), earliest);
  metrics->SetAnchorExpiries(set->version(), [&set] {
    std::vector<chainverify::service::Metrics::AnchorExpiry> anchors;
    for (const auto& [name, policy] : set->policies()) {
      for (const auto& anchor : policy.verify.trust_store->anchors()) {
        const chainverify::pki::Certificate& cert = *anchor->certificate;
        anchors.push_back({name, chainverify::pki::NameToString(cert.subject()),
                           chainverify::pki::HexEncode(cert.sha256()), cert.not_after()});
      }
    }
    return anchors;
  });
  for (const auto& [outcome, total] : fetches) metrics->SetFetchTotals(outcome, total);
  for (const auto& [outcome, total] : issuer_fetches) {
    metrics->SetIssuerFetchTotals(outcome, total);
  }
  metrics->SetAuditRecordsLost(audit_log.records_lost());
  metrics->SetFetchingQueue(fetching_pool != nullptr ? fetching_pool->queued() : 0);
}
std::atomic<bool> g_reload{false};

// --instance_name, or the host name.
std::string InstanceName() {
  std::string name = absl::GetFlag(FLAGS_instance_name);
  if (!name.empty()) return name;
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0) return "unknown";
  return host;
}

// Abseil's --help lists only flags defined in a file named after the program
// (chainverifyd.cc); the server's flags live in server/main.cc.
bool IsServerFlagFile(absl::string_view path) {
  return absl::StrContains(path, "server/main.cc");
}

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

// How the server listens, from --tls_cert, --tls_key and --tls_client_ca.
struct Transport {
  std::shared_ptr<grpc::ServerCredentials> credentials;
  bool plaintext = false;
  bool mutual_tls = false;
  std::string description;  // For the "listening on" line.
};

absl::StatusOr<std::string> ReadPemFile(const std::string& flag, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(absl::StrCat("--", flag, ": cannot open ", path));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (text.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("--", flag, ": ", path, " is empty"));
  }
  return text;
}

// Checks the PEM files up front: gRPC only says "cannot listen" for a bad or
// mismatched certificate and key.
absl::Status CheckServerKeyPair(const std::string& cert_pem, const std::string& key_pem) {
  BIO* cert_bio = BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size()));
  X509* cert = PEM_read_bio_X509(cert_bio, nullptr, nullptr, nullptr);
  BIO_free(cert_bio);
  BIO* key_bio = BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(key_bio, nullptr, nullptr, nullptr);
  BIO_free(key_bio);
  absl::Status status;
  if (cert == nullptr) {
    status = absl::InvalidArgumentError("--tls_cert: no PEM certificate");
  } else if (key == nullptr) {
    status = absl::InvalidArgumentError("--tls_key: no PEM private key (or it is encrypted)");
  } else if (X509_check_private_key(cert, key) != 1) {
    status = absl::InvalidArgumentError("--tls_key does not match the --tls_cert certificate");
  }
  X509_free(cert);
  EVP_PKEY_free(key);
  ERR_clear_error();
  return status;
}

absl::Status CheckCaBundle(const std::string& ca_pem) {
  BIO* bio = BIO_new_mem_buf(ca_pem.data(), static_cast<int>(ca_pem.size()));
  X509* ca = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  const bool ok = ca != nullptr;
  X509_free(ca);
  ERR_clear_error();
  return ok ? absl::OkStatus()
            : absl::InvalidArgumentError("--tls_client_ca: no PEM certificate");
}

// Plaintext is allowed only where nobody else can connect: no TLS flags and a
// loopback --listen. Everything else needs a certificate.
absl::StatusOr<Transport> MakeTransport(const std::string& listen) {
  const std::string cert_file = absl::GetFlag(FLAGS_tls_cert);
  const std::string key_file = absl::GetFlag(FLAGS_tls_key);
  const std::string ca_file = absl::GetFlag(FLAGS_tls_client_ca);
  Transport transport;
  if (cert_file.empty() && key_file.empty() && ca_file.empty()) {
    if (!IsLoopback(listen)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "refusing to serve plaintext on non-loopback address ", listen,
          ": give --tls_cert and --tls_key (and --tls_client_ca for mutual TLS), or "
          "listen on a loopback address"));
    }
    transport.credentials = grpc::InsecureServerCredentials();
    transport.plaintext = true;
    transport.description = "plaintext";
    return transport;
  }
  if (cert_file.empty() || key_file.empty()) {
    return absl::InvalidArgumentError(
        "--tls_cert and --tls_key go together (--tls_client_ca needs both)");
  }
  absl::StatusOr<std::string> cert = ReadPemFile("tls_cert", cert_file);
  if (!cert.ok()) return cert.status();
  absl::StatusOr<std::string> key = ReadPemFile("tls_key", key_file);
  if (!key.ok()) return key.status();
  if (absl::Status pair = CheckServerKeyPair(*cert, *key); !pair.ok()) return pair;
  grpc::SslServerCredentialsOptions options(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  options.pem_key_cert_pairs.push_back({*key, *cert});
  transport.description = "TLS";
  if (!ca_file.empty()) {
    absl::StatusOr<std::string> ca = ReadPemFile("tls_client_ca", ca_file);
    if (!ca.ok()) return ca.status();
    if (absl::Status bundle = CheckCaBundle(*ca); !bundle.ok()) return bundle;
    options.pem_root_certs = *ca;
    options.client_certificate_request =
        GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
    transport.mutual_tls = true;
    transport.description = "mutual TLS";
  }
  transport.credentials = grpc::SslServerCredentials(options);
  return transport;
}

chainverify::pki::SearchLimits SearchLimitsFromFlags() {
  chainverify::pki::SearchLimits limits;
  limits.max_signature_checks = absl::GetFlag(FLAGS_max_signature_checks);
  limits.max_iterations = absl::GetFlag(FLAGS_max_iterations);
  limits.deadline = absl::GetFlag(FLAGS_search_deadline);
  return limits;
}

// --check_policy: the same loader a start or a reload uses, so a file that
// passes here is one the server accepts.
int CheckPolicy() {
  const std::string path = absl::GetFlag(FLAGS_policy_file);
  const std::string shown = path.empty() ? "(embedded default)" : path;
  absl::StatusOr<std::shared_ptr<const chainverify::policy::PolicySet>> set =
      path.empty() ? chainverify::policy::PolicySet::Embedded(SearchLimitsFromFlags())
                   : chainverify::policy::PolicySet::FromFile(path, SearchLimitsFromFlags());
  if (!set.ok()) {
    std::printf("policy %s does not load: %s\n", shown.c_str(),
                std::string(set.status().message()).c_str());
    return 1;
  }
  std::printf("policy %s loads: version %s, default policy \"%s\", %zu policies%s\n",
              shown.c_str(), (*set)->version().c_str(), (*set)->default_policy().c_str(),
              (*set)->policies().size(),
              (*set)->authorization() != nullptr ? ", authorization section" : "");
  for (const auto& [name, policy] : (*set)->policies()) {
    std::printf("  policy \"%s\": %zu trust anchors\n", name.c_str(),
                policy.verify.trust_store->anchor_count());
    for (const auto& source : policy.verify.trust_store->sources()) {
      std::printf("    %s: %d certificates, %d server-auth and %d client-auth anchors, %d with "
                  "distrust-after, %d distrust records\n",
                  source->source.Describe().c_str(), source->certificates,
                  source->server_auth_anchors, source->client_auth_anchors,
                  source->distrust_after, source->distrusted);
    }
  }
  for (const std::string& warning : (*set)->warnings()) {
    std::printf("  warning: %s\n", warning.c_str());
  }
  return 0;
}

void ReloadOnSighup(chainverify::policy::PolicyHolder* holder) {
  if (!holder->reloadable()) {
    chainverify::logging::LogEvent(
        chainverify::logging::LogLevel::kWarning, "sighup_ignored",
        {{"reason", "the embedded default policy has no file to reload (use --policy_file)"}});
    return;
  }
  // The holder logs the outcome and keeps the old policy on failure.
  holder->ReloadFromFile().IgnoreError();
}

}  // namespace

int main(int argc, char** argv) {
  absl::FlagsUsageConfig usage_config;
  usage_config.contains_helpshort_flags = IsServerFlagFile;
  usage_config.contains_help_flags = IsServerFlagFile;
  absl::SetFlagsUsageConfig(usage_config);
  absl::SetProgramUsageMessage(
      "centralized X.509 chain verification over gRPC.\n"
      "Starts on 127.0.0.1:50051 with the OS trust store unless told otherwise.\n"
      "--helpfull also lists the flags of the libraries it links.");
  absl::ParseCommandLine(argc, argv);
  if (absl::GetFlag(FLAGS_check_policy)) return CheckPolicy();
  // Debian's Abseil is built with Mutex deadlock detection on, which records
  // every lock acquisition in a global graph (a few percent of a warm
  // request's CPU). The tests keep it.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);

  // Transport flags first: a server that would listen unprotected must not
  // get as far as opening its audit log.
  const std::string listen = absl::GetFlag(FLAGS_listen);
  absl::StatusOr<Transport> transport = MakeTransport(listen);
  if (!transport.ok()) {
    std::cerr << "chainverifyd: " << transport.status().message() << "\n";
    return 1;
  }

  const chainverify::pki::SearchLimits limits = SearchLimitsFromFlags();

  // Signal handlers first, so a SIGHUP or SIGTERM right after startup is
  // handled rather than killing the process.
  signal(SIGTERM, OnSignal);
  signal(SIGINT, OnSignal);
  signal(SIGHUP, OnSighup);
  // Past a file-size limit, writes must fail (and the audit log decide) rather
  // than the process be killed.
  signal(SIGXFSZ, SIG_IGN);

  const std::string policy_file = absl::GetFlag(FLAGS_policy_file);
  auto policies = chainverify::policy::PolicyHolder::Create(policy_file, limits);
  if (!policies.ok()) {
    std::cerr << "chainverifyd: cannot load policy: " << policies.status().message() << "\n";
    return 1;
  }
  for (const std::string& warning : (*policies)->Current()->warnings()) {
    std::cerr << "chainverifyd: policy warning: " << warning << "\n";
  }
  // The public suffix list (Web PKI leaf name checks) loads once, on first
  // use: here, so that the first request does not pay for it (a few ms).
  chainverify::pki::PublicSuffixList::Default();
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
  audit_options.durability = absl::GetFlag(FLAGS_audit_fsync)
                                 ? absl::GetFlag(FLAGS_audit_durability)
                                 : chainverify::audit::AuditDurability::kNone;
  audit_options.group_commit_delay = absl::GetFlag(FLAGS_audit_group_commit_delay);
  audit_options.max_file_bytes = absl::GetFlag(FLAGS_audit_max_file_bytes);
  audit_options.failure_mode = absl::GetFlag(FLAGS_audit_failure_mode);
  audit_options.mirror_to_stdout = absl::GetFlag(FLAGS_audit_stdout);
  audit_options.instance = InstanceName();
  // Declared before the services and the server, so it is destroyed after
  // them: every accepted record is written and fsynced on the way out.
  auto audit_log = chainverify::audit::AuditLog::Open(audit_options);
  if (!audit_log.ok()) {
    std::cerr << "chainverifyd: cannot open audit log: " << audit_log.status().message() << "\n";
    return 1;
  }
  chainverify::logging::LogEvent(chainverify::logging::LogLevel::kInfo, "audit_log_opened",
                                 {{"path", audit_options.path},
                                  {"lineage", (*audit_log)->lineage()},
                                  {"instance", audit_options.instance}});

  chainverify::service::RequestLimits request_limits;
  request_limits.max_certificates = absl::GetFlag(FLAGS_max_certificates);
  request_limits.max_certificate_bytes = absl::GetFlag(FLAGS_max_certificate_bytes);
  auto metrics = chainverify::service::Metrics::Create(absl::GetFlag(FLAGS_metrics_listen));
  if (!metrics.ok()) {
    std::cerr << "chainverifyd: " << metrics.status().message() << "\n";
    return 1;
  }
  chainverify::service::Decider decider(policies->get(), audit_log->get(), request_limits);
  decider.SetObserver(metrics->get());
  // Content-keyed, so one instance serves every policy and survives reloads.
  chainverify::pki::VerifierCaches::Options cache_options;
  cache_options.certificate_bytes =
      static_cast<size_t>(std::max<int64_t>(0, absl::GetFlag(FLAGS_cert_cache_bytes)));
  cache_options.signature_entries =
      static_cast<size_t>(std::max<int64_t>(0, absl::GetFlag(FLAGS_signature_cache_entries)));
  cache_options.result_bytes =
      static_cast<size_t>(std::max<int64_t>(0, absl::GetFlag(FLAGS_result_cache_bytes)));
  chainverify::pki::VerifierCaches caches(cache_options);
  // The bounds next to "cost", so a dashboard can check the caches stay
  // within them.
  (*metrics)->SetCacheStats("certificates", "capacity",
                            static_cast<double>(cache_options.certificate_bytes));
  (*metrics)->SetCacheStats("signatures", "capacity",
                            static_cast<double>(cache_options.signature_entries));
  (*metrics)->SetCacheStats("results", "capacity",
                            static_cast<double>(cache_options.result_bytes));
  decider.SetCaches(&caches);
  std::unique_ptr<chainverify::service::WorkerPool> fetching_pool;
  if (const int threads = absl::GetFlag(FLAGS_fetching_threads); threads > 0) {
    fetching_pool = std::make_unique<chainverify::service::WorkerPool>(threads, "fetch_decide");
    decider.SetFetchingPool(fetching_pool.get());
  }
  chainverify::service::AdmissionControl admission(absl::GetFlag(FLAGS_max_concurrent_requests));
  chainverify::service::VerifierService service(&decider, &admission);
  chainverify::service::PolicyAdminService admin_service(policies->get(),
                                                        transport->plaintext);

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  if (transport->plaintext) {
    std::fprintf(stderr,
                 "chainverifyd: serving plaintext on loopback %s (no --tls_cert): callers "
                 "are unauthenticated\n",
                 listen.c_str());
  }
  // Grants need identities, which only client certificates provide.
  const bool has_authorization = (*policies)->Current()->authorization() != nullptr;
  if (!transport->plaintext && !has_authorization) {
    std::fprintf(stderr,
                 "chainverifyd: WARNING: TLS without an authorization section in the "
                 "policy: every caller may use every policy, and nobody PolicyAdmin\n");
  }
  if (!transport->plaintext && !transport->mutual_tls && has_authorization) {
    std::fprintf(stderr,
                 "chainverifyd: WARNING: TLS without --tls_client_ca: callers have no "
                 "identity, so the authorization section grants them nothing\n");
  }
  // PolicyAdmin checks admin_identities (without an authorization section:
  // plaintext loopback only). Off loopback without client certificates it could
  // only refuse, so it is not served by default.
  const std::optional<bool> admin_flag = absl::GetFlag(FLAGS_enable_policy_admin);
  const bool enable_admin = admin_flag.value_or(IsLoopback(listen) || transport->mutual_tls);
  builder.AddListeningPort(listen, transport->credentials, &port);
  builder.SetMaxReceiveMessageSize(absl::GetFlag(FLAGS_max_message_bytes));
  const absl::Duration max_connection_age = absl::GetFlag(FLAGS_max_connection_age);
  if (max_connection_age > absl::ZeroDuration()) {
    // gRPC adds +-10% jitter, so replicas' clients do not reconnect in step.
    builder.AddChannelArgument(
        GRPC_ARG_MAX_CONNECTION_AGE_MS,
        static_cast<int>(std::min<int64_t>(absl::ToInt64Milliseconds(max_connection_age),
                                           std::numeric_limits<int>::max())));
  }
  builder.RegisterService(&service);
  if (enable_admin) builder.RegisterService(&admin_service);
  chainverify::service::BenchEchoService bench_echo;
  if (absl::GetFlag(FLAGS_enable_bench_echo)) builder.RegisterService(&bench_echo);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    std::cerr << "chainverifyd: cannot listen on " << listen << "\n";
    return 1;
  }
  // Kubernetes gRPC probes connect in plaintext without a client certificate,
  // which a TLS --listen refuses: they get a port that serves Health alone.
  std::unique_ptr<grpc::Server> health_server;
  const std::string health_listen = absl::GetFlag(FLAGS_health_listen);
  if (!health_listen.empty()) {
    grpc::ServerBuilder health_builder;
    int health_port = 0;
    health_builder.AddListeningPort(health_listen, grpc::InsecureServerCredentials(),
                                    &health_port);
    health_server = health_builder.BuildAndStart();
    if (health_server == nullptr || health_port == 0) {
      std::cerr << "chainverifyd: cannot serve health checks on " << health_listen << "\n";
      return 1;
    }
  }
  const std::string host = listen.substr(0, listen.rfind(':'));
  const std::shared_ptr<const chainverify::policy::PolicySet> initial = (*policies)->Current();
  const std::string metrics_at =
      (*metrics)->port() > 0 ? absl::StrCat("metrics on port ", (*metrics)->port()) : "no metrics";
  std::printf("listening on %s:%d (%s, policy version %s, %zu policies, audit log %s, %s)\n",
              host.c_str(), port, transport->description.c_str(), initial->version().c_str(),
              initial->policies().size(), audit_options.path.c_str(), metrics_at.c_str());
  std::fflush(stdout);

  // Graceful shutdown: stop accepting, let in-flight calls finish (bounded),
  // then the audit log is flushed and closed by its destructor.
  absl::Time next_gauges = absl::InfinitePast();
  while (!g_stop.load()) {
    if (g_reload.exchange(false)) ReloadOnSighup(policies->get());
    if (absl::Now() >= next_gauges) {
      UpdateGauges(*policies->get(), *audit_log->get(), caches, fetching_pool.get(),
                   metrics->get());
      next_gauges = absl::Now() + absl::Seconds(2);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  chainverify::logging::LogEvent(chainverify::logging::LogLevel::kInfo, "shutting_down",
                                 {{"audit_records", absl::StrCat((*audit_log)->records_written())}});
  // Readiness fails from here on, so load balancers stop sending new calls.
  server->GetHealthCheckService()->SetServingStatus(false);
  if (health_server != nullptr) health_server->GetHealthCheckService()->SetServingStatus(false);
  // Let the requests being decided finish (at most --shutdown_grace), then
  // shut down at once: gRPC's own graceful Shutdown(deadline) also waits out
  // the deadline for idle client connections, which made every restart slow.
  // A call cancelled here was never answered, so no answered decision is
  // missing from the audit log.
  const absl::Time grace_end = absl::Now() + absl::GetFlag(FLAGS_shutdown_grace);
  while (admission.in_flight() > 0 && absl::Now() < grace_end) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(100));
  server->Wait();
  if (health_server != nullptr) health_server->Shutdown(std::chrono::system_clock::now());
  // Tear down in order: no more calls and no decision still running, then
  // every accepted record flushed and fsynced, then the policy (its watcher
  // and fetchers stopped).
  fetching_pool.reset();
  server.reset();
  audit_log->reset();
  policies->reset();
  std::fflush(stdout);
  std::fflush(stderr);
  // Everything durable is on disk; skip the gRPC library's global teardown,
  // which takes about 2 s at process exit and only delays restarts.
  std::_Exit(0);
}
