// Tests of certificate policy processing (RFC 5280 6.1.2 - 6.1.5) on paths
// whose certificates are built here with OpenSSL. Signatures, names and
// validity do not matter to policy processing; only the policy extensions and
// whether a certificate is self-issued do.
#include "server/pki/certificate_policies.h"

#include <openssl/asn1.h>
#include <openssl/conf.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "server/pki/cert_errors.h"
#include "server/pki/certificate.h"
#include "tests/testutil/test_pki.h"
#include "server/pki/openssl_util.h"

namespace chainverify::pki {
namespace {

constexpr char kAny[] = "2.5.29.32.0";

// One certificate of a test path. Extension values use OpenSSL's config syntax
// (x509v3_config(5)); an empty value leaves the extension out.
struct CertDef {
  std::string name;
  bool self_issued = false;
  std::string policies;     // certificatePolicies: "1.2.3.4,2.5.29.32.0"
  std::string mappings;     // policyMappings: "1.2.3.4:1.2.3.5"
  std::string constraints;  // policyConstraints: "requireExplicitPolicy:0"
  std::string inhibit_any;  // inhibitAnyPolicy: "0"
  // An extension given as the hex DER of its extnValue, for encodings the
  // config syntax cannot produce.
  int raw_nid = NID_undef;
  std::string raw_hex;

  CertDef& Policies(std::string v) {
    policies = std::move(v);
    return *this;
  }
  CertDef& Mappings(std::string v) {
    mappings = std::move(v);
    return *this;
  }
  CertDef& Constraints(std::string v) {
    constraints = std::move(v);
    return *this;
  }
  CertDef& InhibitAny(std::string v) {
    inhibit_any = std::move(v);
    return *this;
  }
  CertDef& SelfIssued() {
    self_issued = true;
    return *this;
  }
  CertDef& Raw(int nid, std::string hex) {
    raw_nid = nid;
    raw_hex = std::move(hex);
    return *this;
  }
};

CertDef C(std::string name) {
  CertDef def;
  def.name = std::move(name);
  return def;
}

EVP_PKEY* TestKey() {
  static EVP_PKEY* key = EVP_EC_gen("P-256");
  return key;
}

X509NamePtr NameOf(const std::string& cn) {
  X509NamePtr name(X509_NAME_new());
  X509_NAME_add_entry_by_txt(name.get(), "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(cn.c_str()),
                             -1, -1, 0);
  return name;
}

// certificatePolicies' config handler insists on a config database, even an
// empty one.
CONF* EmptyConf() {
  static CONF* const conf = NCONF_new(nullptr);
  return conf;
}

bool AddConfExtension(X509* x, X509V3_CTX* ctx, int nid,
                      const std::string& value) {
  if (value.empty()) return true;
  X509_EXTENSION* ext =
      X509V3_EXT_nconf_nid(EmptyConf(), ctx, nid, value.c_str());
  if (ext == nullptr) return false;
  const bool ok = X509_add_ext(x, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

// DER of a certificate for `def`, issued (by name) by `issuer_cn`.
std::string MakeDer(const CertDef& def, const std::string& issuer_cn) {
  static long serial = 1;
  X509Ptr x(X509_new());
  X509_set_version(x.get(), X509_VERSION_3);
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), serial++);
  X509_set_subject_name(x.get(), NameOf(def.name).get());
  X509_set_issuer_name(x.get(),
                       NameOf(def.self_issued ? def.name : issuer_cn).get());
  X509_gmtime_adj(X509_getm_notBefore(x.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), 86400);
  X509_set_pubkey(x.get(), TestKey());

  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, x.get(), x.get(), nullptr, nullptr, 0);
  X509V3_set_nconf(&ctx, EmptyConf());
  if (!AddConfExtension(x.get(), &ctx, NID_certificate_policies,
                        def.policies) ||
      !AddConfExtension(x.get(), &ctx, NID_policy_mappings, def.mappings) ||
      !AddConfExtension(x.get(), &ctx, NID_policy_constraints,
                        def.constraints) ||
      !AddConfExtension(x.get(), &ctx, NID_inhibit_any_policy,
                        def.inhibit_any)) {
    ADD_FAILURE() << def.name
                  << ": bad extension config: " << DrainOpenSslErrors();
    return "";
  }
  if (def.raw_nid != NID_undef) {
    const std::string der = absl::HexStringToBytes(def.raw_hex);
    ASN1_OCTET_STRING* value = ASN1_OCTET_STRING_new();
    ASN1_OCTET_STRING_set(value,
                          reinterpret_cast<const unsigned char*>(der.data()),
                          static_cast<int>(der.size()));
    X509_EXTENSION* ext =
        X509_EXTENSION_create_by_NID(nullptr, def.raw_nid, 0, value);
    X509_add_ext(x.get(), ext, -1);
    X509_EXTENSION_free(ext);
    ASN1_OCTET_STRING_free(value);
  }
  if (X509_sign(x.get(), TestKey(), EVP_sha256()) <= 0) {
    ADD_FAILURE() << "X509_sign: " << DrainOpenSslErrors();
    return "";
  }
  unsigned char* buf = nullptr;
  const int len = i2d_X509(x.get(), &buf);
  std::string der(reinterpret_cast<char*>(buf), len > 0 ? len : 0);
  OPENSSL_free(buf);
  return der;
}

// Builds and parses `defs` (leaf first, anchor last, which is self-signed);
// each certificate is issued by the next one.
std::vector<CertificatePtr> MakePath(const std::vector<CertDef>& defs) {
  std::vector<CertificatePtr> path;
  for (size_t i = 0; i < defs.size(); ++i) {
    const std::string& issuer =
        i + 1 < defs.size() ? defs[i + 1].name : defs[i].name;
    ParseError error;
    CertificatePtr cert = Certificate::Parse(MakeDer(defs[i], issuer), &error);
    EXPECT_NE(cert, nullptr) << defs[i].name << ": " << error.diagnostic;
    path.push_back(std::move(cert));
  }
  return path;
}

std::vector<const Certificate*> Raw(const std::vector<CertificatePtr>& path) {
  std::vector<const Certificate*> raw;
  for (const CertificatePtr& cert : path) raw.push_back(cert.get());
  return raw;
}

struct Outcome {
  // nullptr: success.
  const CertErrorId* error = nullptr;
  int chain_index = -1;
  std::vector<std::string> valid_policies;
  bool any_policy = false;
};

Outcome RunPolicies(const std::vector<CertDef>& defs,
                    const PolicyOptions& options) {
  std::vector<CertificatePtr> path = MakePath(defs);
  for (const CertificatePtr& cert : path) {
    if (cert == nullptr) return {&kCertMalformed};
  }
  CertErrors errors;
  PolicyResult result;
  const bool ok =
      ProcessCertificatePolicies(Raw(path), options, &errors, &result);
  Outcome outcome;
  EXPECT_EQ(ok, !errors.HasError());
  if (!ok) {
    EXPECT_EQ(errors.errors().size(), 1u);
    outcome.error = errors.errors().front().id;
    outcome.chain_index = errors.errors().front().chain_index;
    return outcome;
  }
  outcome.valid_policies = result.valid_policies;
  outcome.any_policy = result.any_policy;
  return outcome;
}

PolicyOptions Explicit() {
  PolicyOptions options;
  options.initial_explicit_policy = true;
  return options;
}

struct PolicyCase {
  std::string name;
  std::vector<CertDef> path;  // leaf first, anchor last
  PolicyOptions options;
  Outcome want;
};

std::ostream& operator<<(std::ostream& os, const PolicyCase& c) {
  return os << c.name;
}

Outcome Ok(std::vector<std::string> policies, bool any_policy = false) {
  Outcome outcome;
  outcome.valid_policies = std::move(policies);
  outcome.any_policy = any_policy;
  return outcome;
}

Outcome Fails(const CertErrorId& id, int chain_index) {
  Outcome outcome;
  outcome.error = &id;
  outcome.chain_index = chain_index;
  return outcome;
}

PolicyOptions UserSet(std::vector<std::string> set, bool explicit_policy) {
  PolicyOptions options;
  options.initial_policy_set = std::move(set);
  options.initial_explicit_policy = explicit_policy;
  return options;
}

PolicyOptions With(bool mapping_inhibit, bool any_inhibit) {
  PolicyOptions options = Explicit();
  options.initial_policy_mapping_inhibit = mapping_inhibit;
  options.initial_any_policy_inhibit = any_inhibit;
  return options;
}

std::vector<PolicyCase> Cases() {
  const std::string any = kAny;
  return {
      // No policies anywhere: the tree becomes NULL, which is fine as long as
      // no explicit policy is required.
      {"NoPolicies", {C("leaf"), C("ica"), C("root")}, {}, Ok({})},
      {"NoPoliciesExplicit",
       {C("leaf"), C("ica"), C("root")},
       Explicit(),
       Fails(kPolicyRequiredButNone, 1)},
      {"AnchorOnly", {C("root")}, {}, Ok({}, true)},
      // The anchor's own extensions are not processed.
      {"AnchorExtensionsIgnored",
       {C("leaf"),
        C("root").Policies("1.2.3.4").Constraints("requireExplicitPolicy:0")},
       {},
       Ok({})},

      // requireExplicitPolicy (6.1.4 (i), 6.1.3 (f)).
      {"RequireExplicitOnIntermediateLeafWithout",
       {C("leaf"),
        C("ica").Policies("1.2.3.4").Constraints("requireExplicitPolicy:0"),
        C("root")},
       {},
       Fails(kPolicyRequiredButNone, 0)},
      {"RequireExplicitOnIntermediateLeafMatches",
       {C("leaf").Policies("1.2.3.4"),
        C("ica").Policies("1.2.3.4").Constraints("requireExplicitPolicy:0"),
        C("root")},
       {},
       Ok({"1.2.3.4"})},
      // SkipCerts 1: the certificate after ica1 must have a policy.
      {"RequireExplicitSkipOne",
       {C("leaf"), C("ica2"), C("ica1").Constraints("requireExplicitPolicy:1"),
        C("root")},
       {},
       Fails(kPolicyRequiredButNone, 0)},
      // A self-issued certificate does not count (6.1.4 (h)), so the check
      // moves to the end of the path (6.1.5 (a), (g)).
      {"RequireExplicitSkipOneSelfIssued",
       {C("leaf"), C("ica2").SelfIssued(),
        C("ica1").Constraints("requireExplicitPolicy:1"), C("root")},
       {},
       Fails(kPolicyRequiredButNone, -1)},
      {"RequireExplicitSkipTwo",
       {C("leaf"), C("ica2"), C("ica1").Constraints("requireExplicitPolicy:2"),
        C("root")},
       {},
       Fails(kPolicyRequiredButNone, -1)},
      {"RequireExplicitSkipThree",
       {C("leaf"), C("ica2"), C("ica1").Constraints("requireExplicitPolicy:3"),
        C("root")},
       {},
       Ok({})},
      // 6.1.5 (b): the leaf's own requireExplicitPolicy 0.
      {"LeafRequiresExplicit",
       {C("leaf").Constraints("requireExplicitPolicy:0"), C("root")},
       {},
       Fails(kPolicyRequiredButNone, -1)},

      // Matching policies.
      {"MatchingChain",
       {C("leaf").Policies("1.2.3.4"), C("ica").Policies("1.2.3.4"), C("root")},
       Explicit(),
       Ok({"1.2.3.4"})},
      {"MismatchedChain",
       {C("leaf").Policies("1.2.3.5"), C("ica").Policies("1.2.3.4"), C("root")},
       {},
       Ok({})},
      {"MismatchedChainExplicit",
       {C("leaf").Policies("1.2.3.5"), C("ica").Policies("1.2.3.4"), C("root")},
       Explicit(),
       Fails(kPolicyRequiredButNone, 0)},
      {"AnyPolicyCaSpecificLeaf",
       {C("leaf").Policies("1.2.3.4"), C("ica").Policies(any), C("root")},
       Explicit(),
       Ok({"1.2.3.4"})},
      {"SpecificCaAnyPolicyLeaf",
       {C("leaf").Policies(any), C("ica").Policies("1.2.3.4,1.2.3.5"),
        C("root")},
       Explicit(),
       Ok({"1.2.3.4", "1.2.3.5"})},
      {"AnyPolicyEverywhere",
       {C("leaf").Policies(any), C("ica").Policies(any), C("root")},
       Explicit(),
       Ok({}, true)},

      // user-initial-policy-set (6.1.5 (g)(iii)).
      {"UserSetIntersects",
       {C("leaf").Policies("1.2.3.4,1.2.3.5"),
        C("ica").Policies("1.2.3.4,1.2.3.5"), C("root")},
       UserSet({"1.2.3.5", "1.2.3.9"}, true),
       Ok({"1.2.3.5"})},
      {"UserSetDisjoint",
       {C("leaf").Policies("1.2.3.4"), C("ica").Policies("1.2.3.4"), C("root")},
       UserSet({"1.2.3.9"}, true),
       Fails(kPolicyRequiredButNone, -1)},
      {"UserSetDisjointNotRequired",
       {C("leaf").Policies("1.2.3.4"), C("ica").Policies("1.2.3.4"), C("root")},
       UserSet({"1.2.3.9"}, false),
       Ok({})},
      // An anyPolicy node at depth n stands for the user's policies.
      {"UserSetUnderAnyPolicy",
       {C("leaf").Policies(any), C("ica").Policies(any), C("root")},
       UserSet({"1.2.3.9"}, true),
       Ok({"1.2.3.9"})},
      {"UserSetWithAnyPolicy",
       {C("leaf").Policies("1.2.3.4"), C("ica").Policies("1.2.3.4"), C("root")},
       UserSet({any}, true),
       Ok({"1.2.3.4"})},
      {"UserSetInvalidOid",
       {C("leaf"), C("root")},
       UserSet({"not an oid"}, false),
       Fails(kPolicyInvalid, -1)},

      // Policy mapping (6.1.4 (a), (b)). Results are in the anchor's domain.
      {"MappingAllowed",
       {C("leaf").Policies("1.2.3.5"),
        C("ica").Policies("1.2.3.4").Mappings("1.2.3.4:1.2.3.5"), C("root")},
       Explicit(),
       Ok({"1.2.3.4"})},
      {"MappingReplacesExpectedPolicy",
       {C("leaf").Policies("1.2.3.4"),
        C("ica").Policies("1.2.3.4").Mappings("1.2.3.4:1.2.3.5"), C("root")},
       Explicit(),
       Fails(kPolicyRequiredButNone, 0)},
      // 6.1.4 (b)(1): ID-P gets a node under anyPolicy.
      {"MappingUnderAnyPolicy",
       {C("leaf").Policies("1.2.3.5"),
        C("ica").Policies(any).Mappings("1.2.3.4:1.2.3.5"), C("root")},
       Explicit(),
       Ok({"1.2.3.4"})},
      {"MappingInhibitedByConstraint",
       {C("leaf").Policies("1.2.3.5"),
        C("ica2").Policies("1.2.3.4").Mappings("1.2.3.4:1.2.3.5"),
        C("ica1").Policies("1.2.3.4").Constraints("inhibitPolicyMapping:0"),
        C("root")},
       Explicit(),
       Fails(kPolicyRequiredButNone, 0)},
      {"MappingInhibitedNotRequired",
       {C("leaf").Policies("1.2.3.5"),
        C("ica2").Policies("1.2.3.4").Mappings("1.2.3.4:1.2.3.5"),
        C("ica1").Policies("1.2.3.4").Constraints("inhibitPolicyMapping:0"),
        C("root")},
       {},
       Ok({})},
      {"MappingInhibitedSkipOne",
       {C("leaf").Policies("1.2.3.5"),
        C("ica2").Policies("1.2.3.4").Mappings("1.2.3.4:1.2.3.5"),
        C("ica1").Policies("1.2.3.4").Constraints("inhibitPolicyMapping:1"),
        C("root")},
       Explicit(),
       Ok({"1.2.3.4"})},
      {"MappingInhibitedByOption",
       {C("leaf").Policies("1.2.3.5"),
        C("ica").Policies("1.2.3.4").Mappings("1.2.3.4:1.2.3.5"), C("root")},
       With(/*mapping_inhibit=*/true, /*any_inhibit=*/false),
       Fails(kPolicyRequiredButNone, 0)},
      // A leaf's mappings are not processed (6.1.5).
      {"LeafMappingsIgnored",
       {C("leaf").Policies("1.2.3.4").Mappings("1.2.3.4:2.5.29.32.0"),
        C("root")},
       Explicit(),
       Ok({"1.2.3.4"})},

      // inhibitAnyPolicy (6.1.3 (d)(2), 6.1.4 (j)).
      {"InhibitAnyPolicy",
       {C("leaf").Policies("1.2.3.4"), C("ica2").Policies(any),
        C("ica1").Policies(any).InhibitAny("0"), C("root")},
       Explicit(),
       Fails(kPolicyRequiredButNone, 1)},
      {"InhibitAnyPolicyNotRequired",
       {C("leaf").Policies("1.2.3.4"), C("ica2").Policies(any),
        C("ica1").Policies(any).InhibitAny("0"), C("root")},
       {},
       Ok({})},
      // (d)(2): a self-issued intermediate may still assert anyPolicy.
      {"InhibitAnyPolicySelfIssuedExempt",
       {C("leaf").Policies("1.2.3.4"), C("ica2").Policies(any).SelfIssued(),
        C("ica1").Policies(any).InhibitAny("0"), C("root")},
       Explicit(),
       Ok({"1.2.3.4"})},
      // Inhibiting anyPolicy leaves the explicit policies of the certificate
      // matched against the anyPolicy node above it ((d)(1)(ii)).
      {"InhibitAnyPolicyExplicitPolicyStillMatches",
       {C("leaf").Policies("1.2.3.4"),
        C("ica2").Policies("1.2.3.4,2.5.29.32.0"),
        C("ica1").Policies(any).InhibitAny("0"), C("root")},
       Explicit(),
       Ok({"1.2.3.4"})},
      {"InhibitAnyPolicyLeaf",
       {C("leaf").Policies(any), C("ica").Policies("1.2.3.4").InhibitAny("0"),
        C("root")},
       Explicit(),
       Fails(kPolicyRequiredButNone, 0)},
      {"InhibitAnyPolicySkipOne",
       {C("leaf").Policies("1.2.3.4"), C("ica2").Policies(any),
        C("ica1").Policies(any).InhibitAny("1"), C("root")},
       Explicit(),
       Ok({"1.2.3.4"})},
      {"InhibitAnyPolicyByOption",
       {C("leaf").Policies("1.2.3.4"), C("ica").Policies(any), C("root")},
       With(/*mapping_inhibit=*/false, /*any_inhibit=*/true),
       Fails(kPolicyRequiredButNone, 1)},

      // Malformed or forbidden extensions.
      {"DuplicatePolicy",
       {C("leaf"), C("ica").Policies("1.2.3.4,1.2.3.4"), C("root")},
       {},
       Fails(kPolicyInvalid, 1)},
      {"MappingToAnyPolicy",
       {C("leaf"), C("ica").Policies("1.2.3.4").Mappings("1.2.3.4:" + any),
        C("root")},
       {},
       Fails(kPolicyInvalid, 1)},
      {"MappingFromAnyPolicy",
       {C("leaf"), C("ica").Policies(any).Mappings(any + ":1.2.3.4"),
        C("root")},
       {},
       Fails(kPolicyInvalid, 1)},
      {"EmptyCertificatePolicies",
       {C("leaf").Raw(NID_certificate_policies, "3000"), C("root")},
       {},
       Fails(kPolicyInvalid, 0)},
      {"EmptyPolicyMappings",
       {C("leaf"), C("ica").Raw(NID_policy_mappings, "3000"), C("root")},
       {},
       Fails(kPolicyInvalid, 1)},
      {"EmptyPolicyConstraints",
       {C("leaf"), C("ica").Raw(NID_policy_constraints, "3000"), C("root")},
       {},
       Fails(kPolicyInvalid, 1)},
      {"NegativeInhibitAnyPolicy",
       {C("leaf"), C("ica").Raw(NID_inhibit_any_policy, "0201ff"), C("root")},
       {},
       Fails(kPolicyInvalid, 1)},
      {"GarbageCertificatePolicies",
       {C("leaf"), C("ica").Raw(NID_certificate_policies, "0400"), C("root")},
       {},
       Fails(kPolicyInvalid, 1)},
      // SkipCerts larger than 64 bits: no effect, like any large value.
      {"HugeRequireExplicitPolicy",
       {C("leaf"),
        C("ica").Raw(NID_policy_constraints, "300b8009010000000000000000"),
        C("root")},
       {},
       Ok({})},
  };
}

class PolicyTest : public ::testing::TestWithParam<PolicyCase> {};

TEST_P(PolicyTest, Outcome) {
  const PolicyCase& c = GetParam();
  Outcome got = RunPolicies(c.path, c.options);
  if (c.want.error == nullptr) {
    EXPECT_EQ(got.error, nullptr)
        << got.error->name << " at " << got.chain_index;
    EXPECT_EQ(got.valid_policies, c.want.valid_policies)
        << absl::StrJoin(got.valid_policies, ",");
    EXPECT_EQ(got.any_policy, c.want.any_policy);
  } else {
    ASSERT_NE(got.error, nullptr) << "succeeded";
    EXPECT_STREQ(got.error->name, c.want.error->name);
    EXPECT_EQ(got.chain_index, c.want.chain_index);
  }
}

INSTANTIATE_TEST_SUITE_P(Rfc5280, PolicyTest, ::testing::ValuesIn(Cases()),
                         [](const ::testing::TestParamInfo<PolicyCase>& info) {
                           return info.param.name;
                         });

// A path that would make RFC 5280's tree explode: 6 CAs, each asserting 10
// policies and mapping each of them onto all 10, so the tree has 10^7 leaves.
// The graph has about 210 nodes and links per depth.
std::vector<CertDef> ExplosionPath() {
  std::vector<std::string> policies;
  std::vector<std::string> mappings;
  for (int a = 1; a <= 10; ++a) {
    policies.push_back(absl::StrCat("1.2.3.", a));
    for (int b = 1; b <= 10; ++b) {
      mappings.push_back(absl::StrCat("1.2.3.", a, ":1.2.3.", b));
    }
  }
  const std::string policy_list = absl::StrJoin(policies, ",");
  std::vector<CertDef> path = {C("leaf").Policies(policy_list)};
  for (int i = 6; i >= 1; --i) {
    path.push_back(C(absl::StrCat("ca", i))
                       .Policies(policy_list)
                       .Mappings(absl::StrJoin(mappings, ",")));
  }
  path.push_back(C("root"));
  return path;
}

TEST(PolicyExplosionTest, StaysBoundedAndFast) {
  std::vector<CertificatePtr> path = MakePath(ExplosionPath());
  PolicyOptions options = Explicit();
  const absl::Time start = absl::Now();
  CertErrors errors;
  PolicyResult result;
  ASSERT_TRUE(ProcessCertificatePolicies(Raw(path), options, &errors, &result))
      << errors.errors().front().diagnostic;
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  EXPECT_EQ(result.valid_policies.size(), 10u);
  EXPECT_FALSE(result.any_policy);
}

TEST(PolicyExplosionTest, SmallBoundFailsWithLimit) {
  std::vector<CertificatePtr> path = MakePath(ExplosionPath());
  PolicyOptions options;
  options.max_nodes = 500;
  CertErrors errors;
  PolicyResult result;
  EXPECT_FALSE(
      ProcessCertificatePolicies(Raw(path), options, &errors, &result));
  ASSERT_EQ(errors.errors().size(), 1u);
  EXPECT_EQ(errors.errors().front().id, &kPolicyLimit);
  // The graph passes 500 at the third CA (about 210 per depth).
  EXPECT_EQ(errors.errors().front().chain_index, 4);
}

// Many levels of anyPolicy plus wide mappings: still linear.
TEST(PolicyExplosionTest, LongAnyPolicyPathWithMappings) {
  std::vector<std::string> mappings;
  for (int a = 1; a <= 20; ++a) {
    for (int b = 1; b <= 20; ++b) {
      mappings.push_back(absl::StrCat("1.2.3.", a, ":1.2.3.", b));
    }
  }
  std::vector<CertDef> defs = {C("leaf").Policies("1.2.3.7")};
  for (int i = 30; i >= 1; --i) {
    defs.push_back(C(absl::StrCat("ca", i))
                       .Policies(kAny)
                       .Mappings(absl::StrJoin(mappings, ",")));
  }
  defs.push_back(C("root"));
  std::vector<CertificatePtr> path = MakePath(defs);
  CertErrors errors;
  PolicyResult result;
  const absl::Time start = absl::Now();
  PolicyOptions options = Explicit();
  options.max_nodes = 100000;
  ASSERT_TRUE(ProcessCertificatePolicies(Raw(path), options, &errors, &result))
      << errors.errors().front().diagnostic;
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  EXPECT_EQ(result.valid_policies.size(), 20u);
}

// RFC 5280 4.2.1.4: a critical certificatePolicies must be interpretable,
// qualifiers included; only id-qt-cps and id-qt-unotice are defined.
class PolicyQualifierTest : public ::testing::TestWithParam<std::tuple<bool, bool>> {};

TEST_P(PolicyQualifierTest, UnknownQualifierOnlyRejectedWhenCritical) {
  const auto [critical, unknown] = GetParam();
  // PolicyInformation { 1.2.3.4, { PolicyQualifierInfo { id, IA5String } } }.
  const std::string cps("\x06\x08\x2b\x06\x01\x05\x05\x07\x02\x01", 10);    // id-qt-cps
  const std::string other("\x06\x08\x2b\x06\x01\x05\x05\x07\x02\x63", 10);  // id-qt 99
  const std::string qualifier_info =
      std::string("\x30\x0d", 2) + (unknown ? other : cps) + std::string("\x16\x01x", 3);
  const std::string info = std::string("\x30\x16\x06\x03\x2a\x03\x04\x30\x0f", 9) + qualifier_info;
  const std::string der_value = std::string("\x30\x18", 2) + info;
  testing::TestCert root = testing::MustIssue(testing::RootSpec("Root"), nullptr);
  testing::CertSpec spec = testing::LeafSpec("leaf", {"leaf.example"});
  spec.raw_extensions.push_back({"2.5.29.32", critical, der_value});
  testing::TestCert leaf = testing::MustIssue(spec, &root);
  ParseError error;
  CertificatePtr leaf_cert = Certificate::Parse(leaf.der, &error);
  ASSERT_NE(leaf_cert, nullptr) << error.diagnostic;
  CertificatePtr root_cert = Certificate::Parse(root.der, &error);
  CertErrors errors;
  PolicyResult result;
  const bool ok = ProcessCertificatePolicies({leaf_cert.get(), root_cert.get()}, PolicyOptions(),
                                             &errors, &result);
  EXPECT_EQ(ok, !(critical && unknown))
      << (errors.errors().empty() ? "" : errors.errors().front().diagnostic);
  if (critical && unknown) {
    ASSERT_FALSE(errors.errors().empty());
    EXPECT_EQ(errors.errors().front().id, &kPolicyInvalid);
    EXPECT_NE(errors.errors().front().diagnostic.find("qualifier of unknown type"),
              std::string::npos);
  }
}

INSTANTIATE_TEST_SUITE_P(All, PolicyQualifierTest,
                         ::testing::Combine(::testing::Bool(), ::testing::Bool()));

}  // namespace
}  // namespace chainverify::pki
