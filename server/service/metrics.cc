#include "server/service/metrics.h"

#include "absl/strings/str_cat.h"
#include "prometheus/text_serializer.h"

namespace chainverify::service {
namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;
using prometheus::Histogram;

Histogram::BucketBoundaries LatencyBuckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5};
}

Histogram::BucketBoundaries CountBuckets() { return {1, 2, 4, 8, 16, 32, 64, 128, 256, 1024}; }

}  // namespace

Metrics::Metrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      decisions_(BuildCounter()
                     .Name("chainverify_decisions_total")
                     .Help("Verdicts returned, by policy, verdict and status.")
                     .Register(*registry_)),
      request_errors_(BuildCounter()
                          .Name("chainverify_request_errors_total")
                          .Help("Requests refused with an RPC error, by gRPC code.")
                          .Register(*registry_)),
      latency_(BuildHistogram()
                   .Name("chainverify_decision_seconds")
                   .Help("Time to decide, from request to audited verdict.")
                   .Register(*registry_)
                   .Add({}, LatencyBuckets())),
      iterations_(BuildHistogram()
                      .Name("chainverify_path_builder_iterations")
                      .Help("Candidate issuers tried per decision.")
                      .Register(*registry_)
                      .Add({}, CountBuckets())),
      signature_checks_(BuildHistogram()
                            .Name("chainverify_path_builder_signature_checks")
                            .Help("Signature verifications per decision.")
                            .Register(*registry_)
                            .Add({}, CountBuckets())),
      audit_failures_(BuildCounter()
                          .Name("chainverify_audit_write_failures_total")
                          .Help("Decisions whose audit record could not be written.")
                          .Register(*registry_)
                          .Add({})),
      policy_info_(BuildGauge()
                       .Name("chainverify_policy_info")
                       .Help("1 for the policy version being served.")
                       .Register(*registry_)),
      reload_failures_(BuildGauge()
                           .Name("chainverify_policy_reload_failures")
                           .Help("Policy reloads refused since start (the old policy kept serving).")
                           .Register(*registry_)
                           .Add({})),
      earliest_anchor_expiry_(BuildGauge()
                                  .Name("chainverify_anchor_earliest_expiry_timestamp_seconds")
                                  .Help("Earliest notAfter among the loaded trust anchors.")
                                  .Register(*registry_)
                                  .Add({})),
      anchor_expiry_(BuildGauge()
                         .Name("chainverify_anchor_expiry_timestamp_seconds")
                         .Help("notAfter of each trust anchor of each serving policy.")
                         .Register(*registry_)),
      fetches_(BuildGauge()
                   .Name("chainverify_revocation_fetches")
                   .Help("Revocation data fetches by outcome (cache hit, miss, ...), running totals.")
                   .Register(*registry_)),
      issuer_fetches_(BuildGauge()
                          .Name("chainverify_issuer_fetches")
                          .Help("AIA caIssuers fetches by outcome (cache hit, miss, coalesced, "
                                "failure, refused), running totals.")
                          .Register(*registry_)),
      completed_chains_(BuildCounter()
                            .Name("chainverify_chains_completed_total")
                            .Help("Verified chains that needed an issuer the peer did not send, "
                                  "by where it came from (intermediate_store, aia_fetch).")
                            .Register(*registry_)),
      caches_(BuildGauge()
                  .Name("chainverify_verifier_cache")
                  .Help("Parsed-certificate, signature and whole-result caches: hits, misses, evictions "
                        "(running totals), entries and cost (current).")
                  .Register(*registry_)),
      audit_records_lost_(BuildGauge()
                              .Name("chainverify_audit_records_lost")
                              .Help("Decisions returned without an audit record (fail_open only).")
                              .Register(*registry_)
                              .Add({})),
      fetching_queue_(BuildGauge()
                          .Name("chainverify_fetching_decisions_queued")
                          .Help("Requests under policies that fetch, waiting for one of the "
                                "--fetching_threads (all busy, e.g. on a slow server).")
                          .Register(*registry_)
                          .Add({})) {}

absl::StatusOr<std::unique_ptr<Metrics>> Metrics::Create(const std::string& listen_address) {
  std::unique_ptr<Metrics> metrics(new Metrics());
  if (!listen_address.empty()) {
    // prometheus-cpp throws when it cannot bind; this is the one place the
    // project meets an exception, so it is contained here.
    try {
      metrics->exposer_ = std::make_unique<prometheus::Exposer>(listen_address);
    } catch (const std::exception& e) {
      return absl::UnavailableError(
          absl::StrCat("cannot serve metrics on ", listen_address, ": ", e.what()));
    }
    metrics->exposer_->RegisterCollectable(metrics->registry_);
  }
  return metrics;
}

void Metrics::OnDecision(const std::string& policy_name, const DecisionSummary& summary,
                         const pki::SearchStats& stats, absl::Duration latency) {
  DecisionKey key(policy_name, summary.verdict, summary.status);
  prometheus::Counter* counter = nullptr;
  {
    absl::ReaderMutexLock lock(&decision_counters_mu_);
    auto it = decision_counters_.find(key);
    if (it != decision_counters_.end()) counter = it->second;
  }
  if (counter == nullptr) {
    counter = &decisions_.Add({{"policy", policy_name},
                               {"verdict", v1::Verdict_Name(summary.verdict)},
                               {"status", v1::Status_Name(summary.status)}});
    absl::MutexLock lock(&decision_counters_mu_);
    decision_counters_.emplace(std::move(key), counter);
  }
  counter->Increment();
  latency_.Observe(absl::ToDoubleSeconds(latency));
  if (summary.completed_from_intermediate_store) {
    completed_chains_.Add({{"source", "intermediate_store"}}).Increment();
  }
  if (summary.completed_by_aia_fetch) completed_chains_.Add({{"source", "aia_fetch"}}).Increment();
  iterations_.Observe(stats.iterations);
  signature_checks_.Observe(stats.signature_checks);
}

void Metrics::OnRequestError(absl::StatusCode code) {
  request_errors_.Add({{"code", absl::StatusCodeToString(code)}}).Increment();
}

void Metrics::OnAuditFailure() { audit_failures_.Increment(); }

void Metrics::SetPolicy(const std::string& version, uint64_t reload_failures,
                        absl::Time earliest_anchor_expiry) {
  absl::MutexLock lock(&mu_);
  if (current_policy_info_ != nullptr) policy_info_.Remove(current_policy_info_);
  current_policy_info_ = &policy_info_.Add({{"version", version}});
  current_policy_info_->Set(1);
  reload_failures_.Set(static_cast<double>(reload_failures));
  earliest_anchor_expiry_.Set(static_cast<double>(absl::ToUnixSeconds(earliest_anchor_expiry)));
}

void Metrics::SetAnchorExpiries(const std::string& version,
                                absl::FunctionRef<std::vector<AnchorExpiry>()> anchors) {
  absl::MutexLock lock(&mu_);
  if (version == anchor_version_) return;
  for (prometheus::Gauge* gauge : anchor_gauges_) anchor_expiry_.Remove(gauge);
  anchor_gauges_.clear();
  for (const AnchorExpiry& anchor : anchors()) {
    prometheus::Gauge& gauge = anchor_expiry_.Add(
        {{"policy", anchor.policy}, {"subject", anchor.subject}, {"sha256", anchor.sha256}});
    gauge.Set(static_cast<double>(absl::ToUnixSeconds(anchor.not_after)));
    anchor_gauges_.push_back(&gauge);
  }
  anchor_version_ = version;
}

void Metrics::SetFetchTotals(const std::string& outcome, double total) {
  fetches_.Add({{"outcome", outcome}}).Set(total);
}

void Metrics::SetIssuerFetchTotals(const std::string& outcome, double total) {
  issuer_fetches_.Add({{"outcome", outcome}}).Set(total);
}

void Metrics::SetCacheStats(const std::string& cache, const std::string& counter,
                            double value) {
  caches_.Add({{"cache", cache}, {"counter", counter}}).Set(value);
}

int Metrics::port() const {
  if (exposer_ == nullptr) return 0;
  const std::vector<int> ports = exposer_->GetListeningPorts();
  return ports.empty() ? 0 : ports.front();
}

void Metrics::SetAuditRecordsLost(uint64_t lost) {
  audit_records_lost_.Set(static_cast<double>(lost));
}

void Metrics::SetFetchingQueue(int queued) { fetching_queue_.Set(static_cast<double>(queued)); }

std::string Metrics::Scrape() const {
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

}  // namespace chainverify::service
