// Prometheus metrics for operators (prometheus-cpp from Debian), served on
// their own port. What each metric means for on-call is in README "Metrics".
#ifndef CHAINVERIFY_SERVER_SERVICE_METRICS_H_
#define CHAINVERIFY_SERVER_SERVICE_METRICS_H_

#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "chainverify/v1/verifier.pb.h"
#include "prometheus/counter.h"
#include "prometheus/exposer.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "server/pki/path_builder.h"

namespace chainverify::service {

// What the metrics count of a returned verdict.
struct DecisionSummary {
  v1::Verdict verdict = v1::VERDICT_UNSPECIFIED;
  v1::Status status = v1::STATUS_UNSPECIFIED;
  // The verified chain has a certificate from an intermediate store, or one
  // fetched from a caIssuers URL (a chain the server completed).
  bool completed_from_intermediate_store = false;
  bool completed_by_aia_fetch = false;
};

// What the decider reports; implemented by Metrics, and by tests.
class DecisionObserver {
 public:
  virtual ~DecisionObserver() = default;
  // A verdict was returned, decided under policy `policy_name`.
  virtual void OnDecision(const std::string& policy_name, const DecisionSummary& summary,
                          const pki::SearchStats& stats, absl::Duration latency) = 0;
  // The request was refused with an RPC error (INVALID_ARGUMENT, NOT_FOUND, ...).
  virtual void OnRequestError(absl::StatusCode code) = 0;
  // An audit record could not be written.
  virtual void OnAuditFailure() = 0;
};

class Metrics : public DecisionObserver {
 public:
  // Serves /metrics on `listen_address` ("127.0.0.1:9464"); empty: metrics are
  // kept but not served (tests read them with Scrape()).
  static absl::StatusOr<std::unique_ptr<Metrics>> Create(const std::string& listen_address);

  void OnDecision(const std::string& policy_name, const DecisionSummary& summary,
                  const pki::SearchStats& stats, absl::Duration latency) override;
  void OnRequestError(absl::StatusCode code) override;
  void OnAuditFailure() override;

  // The serving policy: version (as an info label), reload failures so far,
  // and the earliest notAfter among its anchors.
  void SetPolicy(const std::string& version, uint64_t reload_failures,
                 absl::Time earliest_anchor_expiry);
  // One trust anchor of a serving policy, for its expiry series.
  struct AnchorExpiry {
    std::string policy;
    std::string subject;  // RFC 2253.
    std::string sha256;   // Of the certificate, lowercase hex.
    absl::Time not_after;
  };
  // chainverify_anchor_expiry_timestamp_seconds{policy,subject,sha256}: one
  // series per anchor of policy set `version`; `anchors` is called (and the
  // series replaced) only when the version differs from the last call's.
  void SetAnchorExpiries(const std::string& version,
                         absl::FunctionRef<std::vector<AnchorExpiry>()> anchors);
  // Revocation fetches by outcome ("hit", "miss", "coalesced", "failure",
  // "refused"), as running totals.
  void SetFetchTotals(const std::string& outcome, double total);
  // AIA caIssuers fetches by outcome (same outcomes), as running totals.
  void SetIssuerFetchTotals(const std::string& outcome, double total);

  // Shared verifier caches (pki/caches.h): `cache` is "certificates",
  // "signatures" or "results", `counter` one of "hits", "misses", "evictions" (running
  // totals), "entries", "cost" (current).
  void SetCacheStats(const std::string& cache, const std::string& counter, double value);

  // Audit records lost under fail_open, a running total.
  void SetAuditRecordsLost(uint64_t lost);

  // Decisions waiting for a fetching thread (--fetching_threads), current.
  void SetFetchingQueue(int queued);

  // The port /metrics is served on (useful with port 0), or 0.
  int port() const;

  // The text exposition format, as /metrics serves it.
  std::string Scrape() const;

 private:
  Metrics();

  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  prometheus::Family<prometheus::Counter>& decisions_;
  prometheus::Family<prometheus::Counter>& request_errors_;
  prometheus::Histogram& latency_;
  prometheus::Histogram& iterations_;
  prometheus::Histogram& signature_checks_;
  prometheus::Counter& audit_failures_;
  prometheus::Family<prometheus::Gauge>& policy_info_;
  prometheus::Gauge& reload_failures_;
  prometheus::Gauge& earliest_anchor_expiry_;
  prometheus::Family<prometheus::Gauge>& anchor_expiry_;
  prometheus::Family<prometheus::Gauge>& fetches_;
  prometheus::Family<prometheus::Gauge>& issuer_fetches_;
  prometheus::Family<prometheus::Counter>& completed_chains_;
  prometheus::Family<prometheus::Gauge>& caches_;
  prometheus::Gauge& audit_records_lost_;
  prometheus::Gauge& fetching_queue_;
  absl::Mutex mu_;
  prometheus::Gauge* current_policy_info_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::string anchor_version_ ABSL_GUARDED_BY(mu_);
  std::vector<prometheus::Gauge*> anchor_gauges_ ABSL_GUARDED_BY(mu_);
  // decisions_'s counter per (policy, verdict, status), so that a decision
  // does not build a label map and search the family for it (about 1.5% of a
  // warm call's server CPU). A family never drops these counters.
  using DecisionKey = std::tuple<std::string, int, int>;
  absl::Mutex decision_counters_mu_;
  absl::flat_hash_map<DecisionKey, prometheus::Counter*> decision_counters_
      ABSL_GUARDED_BY(decision_counters_mu_);
};

}  // namespace chainverify::service

#endif  // CHAINVERIFY_SERVER_SERVICE_METRICS_H_
