// The policy's rules on candidate paths: anchor constraints, pins, the
// denylist and pushed CRLs, through VerifyChain with a fixed time.
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"
#include "server/pki/hostname_match.h"
#include "server/pki/verifier.h"
#include "tests/testutil/test_pki.h"

namespace chainverify::pki {
namespace {

using ::chainverify::testing::CertSpec;
using ::chainverify::testing::IntermediateSpec;
using ::chainverify::testing::IssueCrl;
using ::chainverify::testing::LeafSpec;
using ::chainverify::testing::MustIssue;
using ::chainverify::testing::RootSpec;
using ::chainverify::testing::TestCert;

const absl::Time kNow = absl::FromUnixSeconds(1800000000);

CertificatePtr Parse(const TestCert& c) {
  ParseError error;
  return Certificate::Parse(c.der, &error);
}

std::string SpkiPin(const TestCert& c) { return absl::Base64Escape(Parse(c)->spki_sha256()); }

class PolicyRulesTest : public ::testing::Test {
 protected:
  PolicyRulesTest()
      : root_(MustIssue(RootSpec("Rules Root"), nullptr)),
        other_root_(MustIssue(RootSpec("Other Root"), nullptr)),
        inter_(MustIssue(IntermediateSpec("Rules CA"), &root_)),
        leaf_(MustIssue(LeafSpec("api.payments.internal", {"api.payments.internal"}), &inter_)) {
    store_ = std::make_shared<TrustStore>();
    store_->Add(Parse(root_), "test");
    store_->Add(Parse(other_root_), "test");
  }

  VerifyResult Verify(const PolicyRules& rules, const std::string& host = "api.payments.internal",
                      KeyPurpose purpose = KeyPurpose::kServerAuth) {
    VerifyInput input;
    input.certificates = {leaf_.der, inter_.der};
    input.peer_name = *ParsePeerName(host);
    input.purpose = purpose;
    input.time = kNow;
    VerifyPolicy policy;
    policy.trust_store = store_;
    policy.rules = rules;
    return VerifyChain(input, policy);
  }

  static bool Has(const VerifyResult& r, const CertErrorId& id, Severity severity) {
    for (const CertError& e : r.errors) {
      if (e.id == &id && e.severity == severity) return true;
    }
    return false;
  }

  TestCert root_, other_root_, inter_, leaf_;
  std::shared_ptr<TrustStore> store_;
};

TEST_F(PolicyRulesTest, NoRulesTrusts) { EXPECT_TRUE(Verify(PolicyRules()).trusted); }

TEST_F(PolicyRulesTest, DistrustAfterRejectsNewerLeaves) {
  AnchorConstraints c;
  c.distrust_issued_after = absl::FromUnixSeconds(1600000000);  // Before the leaf's notBefore.
  ASSERT_EQ(store_->Constrain(absl::Base64Escape(Parse(root_)->spki_sha256()), c), 1u);
  VerifyResult r = Verify(PolicyRules());
  EXPECT_EQ(r.status, v1::POLICY_DENIED);

  c.distrust_issued_after = absl::FromUnixSeconds(1750000000);  // After it: still trusted.
  store_->Constrain(absl::Base64Escape(Parse(root_)->spki_sha256()), c);
  EXPECT_TRUE(Verify(PolicyRules()).trusted);
}

TEST_F(PolicyRulesTest, AnchorDnsConstraintsAndUsages) {
  AnchorConstraints c;
  c.permitted_dns_names = {"payments.internal"};
  store_->Constrain(HexEncode(Parse(root_)->sha256()), c);
  EXPECT_TRUE(Verify(PolicyRules()).trusted);

  c.permitted_dns_names = {"billing.internal"};
  store_->Constrain(HexEncode(Parse(root_)->sha256()), c);
  EXPECT_EQ(Verify(PolicyRules()).status, v1::NAME_CONSTRAINT_VIOLATION);

  c.permitted_dns_names.clear();
  c.excluded_dns_names = {"api.payments.internal"};
  store_->Constrain(HexEncode(Parse(root_)->sha256()), c);
  EXPECT_EQ(Verify(PolicyRules()).status, v1::NAME_CONSTRAINT_VIOLATION);

  c.excluded_dns_names.clear();
  c.allow_server_auth = false;
  store_->Constrain(HexEncode(Parse(root_)->sha256()), c);
  EXPECT_EQ(Verify(PolicyRules()).status, v1::POLICY_DENIED);
  EXPECT_TRUE(Verify(PolicyRules(), "api.payments.internal", KeyPurpose::kClientAuth).trusted);
}

TEST_F(PolicyRulesTest, RemovedAnchorIsNoPath) {
  ASSERT_EQ(store_->Remove(HexEncode(Parse(root_)->sha256())), 1u);
  EXPECT_EQ(Verify(PolicyRules()).status, v1::NO_PATH_TO_TRUSTED_ANCHOR);
}

TEST_F(PolicyRulesTest, PinsByScopeAndPattern) {
  PinSet pins;
  pins.name = "payments";
  pins.peer_name_patterns = {"*.payments.internal"};
  std::string raw;
  absl::Base64Unescape(SpkiPin(root_), &raw);
  pins.spki_sha256 = {raw};
  PolicyRules rules;
  rules.pins = {pins};
  EXPECT_TRUE(Verify(rules).trusted);  // Any certificate: the root matches.

  rules.pins[0].scope = PinSet::Scope::kLeaf;  // The root's key is not the leaf's.
  VerifyResult r = Verify(rules);
  EXPECT_EQ(r.status, v1::PIN_MISMATCH);

  rules.pins[0].scope = PinSet::Scope::kAnchor;
  EXPECT_TRUE(Verify(rules).trusted);

  // Another peer name: the set does not apply.
  absl::Base64Unescape(SpkiPin(other_root_), &raw);
  rules.pins[0].spki_sha256 = {raw};
  EXPECT_FALSE(Verify(rules).trusted);
  EXPECT_TRUE(Verify(rules, "api.billing.internal").status != v1::PIN_MISMATCH);
}

TEST_F(PolicyRulesTest, ReportOnlyPinWarnsAndExpiredPinIsIgnored) {
  PinSet pins;
  pins.name = "rotating";
  std::string raw;
  absl::Base64Unescape(SpkiPin(other_root_), &raw);
  pins.spki_sha256 = {raw};
  pins.report_only = true;
  PolicyRules rules;
  rules.pins = {pins};
  VerifyResult r = Verify(rules);
  EXPECT_TRUE(r.trusted);
  EXPECT_TRUE(Has(r, kPinMismatch, Severity::kWarning));

  rules.pins[0].report_only = false;
  rules.pins[0].expires = kNow - absl::Hours(1);
  EXPECT_TRUE(Verify(rules).trusted);
}

TEST_F(PolicyRulesTest, DenylistBySerialAndBySpki) {
  auto by_serial = std::make_shared<Denylist>();
  ASSERT_TRUE(by_serial->AddSerial(SpkiPin(inter_), "00" + leaf_.serial_hex()).ok());
  PolicyRules rules;
  rules.denylist = by_serial;
  VerifyResult r = Verify(rules);
  EXPECT_EQ(r.status, v1::REVOKED);
  EXPECT_TRUE(Has(r, kDenylisted, Severity::kError));

  auto by_key = std::make_shared<Denylist>();
  ASSERT_TRUE(by_key->BlockSpki(SpkiPin(inter_)).ok());
  rules.denylist = by_key;
  EXPECT_EQ(Verify(rules).status, v1::REVOKED);

  EXPECT_FALSE(by_key->BlockSpki("not base64 sha256").ok());
}

TEST_F(PolicyRulesTest, PushedCrlsRevokeAndUnknownFollowsMode) {
  absl::StatusOr<std::string> crl =
      IssueCrl(inter_, {leaf_.serial_hex()}, kNow - absl::Hours(1), kNow + absl::Hours(24));
  ASSERT_TRUE(crl.ok());
  PolicyRules rules;
  rules.crls = CrlSet::Parse({*crl}, nullptr);
  EXPECT_EQ(Verify(rules).status, v1::REVOKED);

  // A CRL for the intermediate only: the root's CRL (for the intermediate) is
  // missing, so its status is unknown: a warning when soft-fail, an error when
  // hard-fail.
  absl::StatusOr<std::string> clean =
      IssueCrl(inter_, {}, kNow - absl::Hours(1), kNow + absl::Hours(24));
  rules.crls = CrlSet::Parse({*clean}, nullptr);
  VerifyResult soft = Verify(rules);
  EXPECT_TRUE(soft.trusted);
  EXPECT_TRUE(Has(soft, kRevocationUnknown, Severity::kWarning));
  rules.revocation_hard_fail = true;
  EXPECT_EQ(Verify(rules).status, v1::REVOCATION_UNKNOWN);

  // Stale CRL (nextUpdate passed) under hard-fail: unknown.
  absl::StatusOr<std::string> root_crl =
      IssueCrl(root_, {}, kNow - absl::Hours(48), kNow + absl::Hours(24));
  absl::StatusOr<std::string> stale =
      IssueCrl(inter_, {}, kNow - absl::Hours(48), kNow - absl::Hours(24));
  rules.crls = CrlSet::Parse({*root_crl, *stale}, nullptr);
  EXPECT_EQ(Verify(rules).status, v1::REVOCATION_UNKNOWN);
  rules.crls = CrlSet::Parse({*root_crl, *clean}, nullptr);
  EXPECT_TRUE(Verify(rules).trusted);

  // A CRL signed by another key is not the issuer's: unknown, not good.
  absl::StatusOr<std::string> forged =
      IssueCrl(other_root_, {}, kNow - absl::Hours(1), kNow + absl::Hours(24));
  rules.crls = CrlSet::Parse({*root_crl, *forged}, nullptr);
  EXPECT_EQ(Verify(rules).status, v1::REVOCATION_UNKNOWN);
}

}  // namespace
}  // namespace chainverify::pki
