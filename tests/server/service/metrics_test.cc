#include "server/service/metrics.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace chainverify::service {
namespace {

std::string HttpGet(int port, const std::string& path) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) return "";
  const std::string request =
      absl::StrCat("GET ", path, " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
  write(fd, request.data(), request.size());
  std::string response;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0) response.append(buf, n);
  close(fd);
  return response;
}

DecisionSummary Summary(v1::Verdict verdict, v1::Status status) {
  DecisionSummary summary;
  summary.verdict = verdict;
  summary.status = status;
  return summary;
}

TEST(MetricsTest, CountsDecisionsErrorsAndAuditFailures) {
  auto metrics = Metrics::Create("");
  ASSERT_TRUE(metrics.ok());
  pki::SearchStats stats;
  stats.iterations = 3;
  stats.signature_checks = 2;
  (*metrics)->OnDecision("fleet", Summary(v1::TRUSTED, v1::OK), stats, absl::Milliseconds(2));
  (*metrics)->OnDecision("fleet", Summary(v1::TRUSTED, v1::OK), stats, absl::Milliseconds(3));
  (*metrics)->OnDecision(
      "fleet", Summary(v1::REJECTED, v1::EXPIRED), stats, absl::Milliseconds(1));
  (*metrics)->OnRequestError(absl::StatusCode::kInvalidArgument);
  (*metrics)->OnAuditFailure();
  (*metrics)->SetPolicy("v1+abc", 2, absl::FromUnixSeconds(1900000000));
  (*metrics)->SetPolicy("v2+def", 3, absl::FromUnixSeconds(1900000000));
  (*metrics)->SetFetchTotals("hit", 7);
  (*metrics)->SetFetchingQueue(5);

  const std::string text = (*metrics)->Scrape();
  EXPECT_TRUE(absl::StrContains(
      text, R"(chainverify_decisions_total{policy="fleet",status="OK",verdict="TRUSTED"} 2)"))
      << text;
  EXPECT_TRUE(absl::StrContains(
      text, R"(chainverify_decisions_total{policy="fleet",status="EXPIRED",verdict="REJECTED"} 1)"));
  EXPECT_TRUE(absl::StrContains(text, R"(chainverify_request_errors_total{code="INVALID_ARGUMENT"} 1)"));
  EXPECT_TRUE(absl::StrContains(text, "chainverify_audit_write_failures_total 1"));
  EXPECT_TRUE(absl::StrContains(text, "chainverify_decision_seconds_count 3"));
  EXPECT_TRUE(absl::StrContains(text, R"(chainverify_policy_info{version="v2+def"} 1)"));
  EXPECT_FALSE(absl::StrContains(text, R"(version="v1+abc")"));  // Replaced, not kept.
  EXPECT_TRUE(absl::StrContains(text, "chainverify_policy_reload_failures 3"));
  EXPECT_TRUE(absl::StrContains(text, "chainverify_anchor_earliest_expiry_timestamp_seconds 1900000000"));
  EXPECT_TRUE(absl::StrContains(text, R"(chainverify_revocation_fetches{outcome="hit"} 7)"));
  EXPECT_TRUE(absl::StrContains(text, "chainverify_fetching_decisions_queued 5"));
}

TEST(MetricsTest, ServesMetricsOverHttp) {
  // Pick a free port, then serve on it.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  const int port = ntohs(addr.sin_port);

  auto metrics = Metrics::Create(absl::StrCat("127.0.0.1:", port));
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  (*metrics)->OnAuditFailure();
  const std::string response = HttpGet(port, "/metrics");
  EXPECT_TRUE(absl::StrContains(response, "200 OK")) << response;
  EXPECT_TRUE(absl::StrContains(response, "chainverify_audit_write_failures_total 1"));
}

TEST(MetricsTest, UnbindableAddressIsAnError) {
  EXPECT_FALSE(Metrics::Create("256.0.0.1:1").ok());
}

}  // namespace
}  // namespace chainverify::service
