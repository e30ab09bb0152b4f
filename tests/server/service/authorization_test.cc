#include "server/service/authorization.h"

#include <string>
#include <vector>

#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace chainverify::service {
namespace {

Caller Uris(std::vector<std::string> uris) {
  Caller caller;
  caller.uris = std::move(uris);
  return caller;
}

Caller Dns(std::vector<std::string> names) {
  Caller caller;
  caller.dns_names = std::move(names);
  return caller;
}

bool Matches(const std::string& pattern, const Caller& caller) {
  absl::StatusOr<IdentityPattern> parsed = IdentityPattern::Parse(pattern);
  EXPECT_TRUE(parsed.ok()) << pattern << ": " << parsed.status();
  return parsed.ok() && parsed->Matches(caller);
}

TEST(CallerTest, PrefersSpiffeUriThenUriThenDns) {
  Caller caller;
  EXPECT_EQ(caller.ToString(), "unauthenticated");
  caller.other = "CN=legacy";
  EXPECT_EQ(caller.ToString(), "CN=legacy");
  caller.dns_names = {"api.billing.internal"};
  EXPECT_EQ(caller.ToString(), "api.billing.internal");
  caller.uris = {"https://billing.example/id", "spiffe://fleet/ns/billing/sa/api"};
  EXPECT_EQ(caller.ToString(), "spiffe://fleet/ns/billing/sa/api");
  caller.uris = {"https://billing.example/id"};
  EXPECT_EQ(caller.ToString(), "https://billing.example/id");
}

TEST(IdentityPatternTest, ExactUri) {
  const std::string p = "spiffe://fleet/ns/billing/sa/api";
  EXPECT_TRUE(Matches(p, Uris({"spiffe://fleet/ns/billing/sa/api"})));
  EXPECT_TRUE(Matches(p, Uris({"https://other", "spiffe://fleet/ns/billing/sa/api"})));
  EXPECT_FALSE(Matches(p, Uris({"spiffe://fleet/ns/billing/sa/api2"})));
  EXPECT_FALSE(Matches(p, Uris({"spiffe://fleet/ns/billing/sa"})));
  // URIs compare exactly; a DNS SAN never matches a URI pattern.
  EXPECT_FALSE(Matches(p, Uris({"SPIFFE://fleet/ns/billing/sa/api"})));
  EXPECT_FALSE(Matches(p, Dns({"spiffe://fleet/ns/billing/sa/api"})));
}

TEST(IdentityPatternTest, UriPrefix) {
  const std::string p = "spiffe://fleet/ns/billing/*";
  EXPECT_TRUE(Matches(p, Uris({"spiffe://fleet/ns/billing/sa/api"})));
  EXPECT_TRUE(Matches(p, Uris({"spiffe://fleet/ns/billing/x"})));
  // The prefix itself, or a sibling sharing its characters, is not below it.
  EXPECT_FALSE(Matches(p, Uris({"spiffe://fleet/ns/billing/"})));
  EXPECT_FALSE(Matches(p, Uris({"spiffe://fleet/ns/billing"})));
  EXPECT_FALSE(Matches(p, Uris({"spiffe://fleet/ns/billing-admin/sa/api"})));
  EXPECT_FALSE(Matches(p, Uris({"spiffe://other/ns/billing/sa/api"})));
  EXPECT_FALSE(Matches(p, Caller()));
}

TEST(IdentityPatternTest, DnsExactAndSuffix) {
  EXPECT_TRUE(Matches("api.billing.internal", Dns({"api.billing.internal"})));
  EXPECT_TRUE(Matches("API.Billing.internal", Dns({"api.BILLING.internal"})));
  EXPECT_FALSE(Matches("api.billing.internal", Dns({"x.api.billing.internal"})));
  EXPECT_FALSE(Matches("api.billing.internal", Uris({"api.billing.internal"})));

  const std::string p = "*.billing.internal";
  EXPECT_TRUE(Matches(p, Dns({"api.billing.internal"})));
  EXPECT_TRUE(Matches(p, Dns({"a.b.billing.internal"})));
  EXPECT_TRUE(Matches(p, Dns({"other.example", "API.billing.internal"})));
  EXPECT_FALSE(Matches(p, Dns({"billing.internal"})));
  EXPECT_FALSE(Matches(p, Dns({"evilbilling.internal"})));
  EXPECT_FALSE(Matches(p, Dns({"api.billing.internal.evil"})));
  // A wildcard SAN names no single caller.
  EXPECT_FALSE(Matches(p, Dns({"*.billing.internal"})));
  EXPECT_FALSE(Matches("*.billing.internal", Dns({"*.billing.internal"})));
}

TEST(IdentityPatternTest, AnyAuthenticatedCaller) {
  EXPECT_TRUE(Matches("*", Uris({"spiffe://fleet/x"})));
  EXPECT_TRUE(Matches("*", Dns({"a.example"})));
  // Plaintext and certificate-less TLS callers have no identity to match.
  EXPECT_FALSE(Matches("*", Caller()));
  Caller cn_only;
  cn_only.other = "legacy";
  EXPECT_FALSE(Matches("*", cn_only));
}

TEST(IdentityPatternTest, RejectsBadPatterns) {
  for (const char* bad : {"", "spiffe://fleet/*/sa/api", "spiffe://*", "spiffe://fleet/ns*",
                          "spiffe://fleet/*/*", "*billing.internal", "api.*.internal",
                          "**", "*.", "a..b", "has space", "unauthenticated/x", ".lead"}) {
    EXPECT_FALSE(IdentityPattern::Parse(bad).ok()) << "accepted \"" << bad << "\"";
  }
}

v1::Authorization ParseSection(const std::string& text) {
  v1::Authorization config;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &config)) << text;
  return config;
}

const std::vector<std::string> kPolicies = {"billing", "default", "public"};

TEST(AuthorizationTest, GrantTable) {
  absl::StatusOr<Authorization> authz = Authorization::Compile(ParseSection(R"(
      grants { identities: "spiffe://fleet/ns/billing/*" identities: "*.billing.internal"
               policies: "billing" policies: "default" }
      grants { identities: "*" policies: "public" }
      grants { identities: "spiffe://fleet/ns/ops/sa/root" policies: "*" }
      admin_identities: "spiffe://fleet/ns/ops/sa/root"
      admin_identities: "admin.ops.internal")"),
                                                               kPolicies);
  ASSERT_TRUE(authz.ok()) << authz.status();

  const Caller billing = Uris({"spiffe://fleet/ns/billing/sa/api"});
  EXPECT_TRUE(authz->MayUsePolicy(billing, "billing"));
  EXPECT_TRUE(authz->MayUsePolicy(billing, "default"));
  EXPECT_TRUE(authz->MayUsePolicy(billing, "public"));  // Grants add up.
  EXPECT_FALSE(authz->MayUsePolicy(billing, "other"));
  EXPECT_FALSE(authz->IsAdmin(billing));

  const Caller billing_dns = Dns({"batch.billing.internal"});
  EXPECT_TRUE(authz->MayUsePolicy(billing_dns, "billing"));

  const Caller web = Uris({"spiffe://fleet/ns/web/sa/front"});
  EXPECT_FALSE(authz->MayUsePolicy(web, "billing"));
  EXPECT_FALSE(authz->MayUsePolicy(web, "default"));
  EXPECT_TRUE(authz->MayUsePolicy(web, "public"));

  const Caller root = Uris({"spiffe://fleet/ns/ops/sa/root"});
  EXPECT_TRUE(authz->MayUsePolicy(root, "billing"));
  EXPECT_TRUE(authz->MayUsePolicy(root, "anything"));
  EXPECT_TRUE(authz->IsAdmin(root));
  EXPECT_TRUE(authz->IsAdmin(Dns({"admin.ops.internal"})));
  EXPECT_FALSE(authz->IsAdmin(Dns({"x.admin.ops.internal"})));

  // Without an identity, nothing: not even the "*" grant.
  EXPECT_FALSE(authz->MayUsePolicy(Caller(), "public"));
  EXPECT_FALSE(authz->IsAdmin(Caller()));
}

TEST(AuthorizationTest, EmptySectionDeniesEverything) {
  absl::StatusOr<Authorization> authz = Authorization::Compile(v1::Authorization(), kPolicies);
  ASSERT_TRUE(authz.ok()) << authz.status();
  EXPECT_FALSE(authz->MayUsePolicy(Uris({"spiffe://fleet/x"}), "default"));
  EXPECT_FALSE(authz->IsAdmin(Uris({"spiffe://fleet/x"})));
}

TEST(AuthorizationTest, RejectsBadSections) {
  for (const char* text : {
           R"(grants { identities: "*" policies: "nope" })",    // Unknown policy.
           R"(grants { identities: "*" })",                      // No policies.
           R"(grants { policies: "billing" })",                  // No identities.
           R"(grants { identities: "a.*" policies: "billing" })",
           R"(admin_identities: "spiffe://fleet/*/x")",
       }) {
    absl::StatusOr<Authorization> authz = Authorization::Compile(ParseSection(text), kPolicies);
    EXPECT_FALSE(authz.ok()) << "accepted: " << text;
    if (!authz.ok()) {
      EXPECT_EQ(authz.status().code(), absl::StatusCode::kInvalidArgument);
    }
  }
}

}  // namespace
}  // namespace chainverify::service
