#include "tests/conformance/limbo_runner.h"

#include <atomic>
#include <memory>
#include <optional>
#include <thread>
#include <utility>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "absl/algorithm/container.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "server/pki/certificate.h"
#include "server/pki/hostname_match.h"
#include "server/pki/openssl_util.h"
#include "server/pki/trust_store.h"
#include "tests/conformance/limbo_suite.h"

namespace chainverify::conformance {
namespace {

using ::chainverify::pki::KeyPurpose;
using ::chainverify::pki::Profile;

// The namespace whose side of a conflicts_with pair each profile follows.
absl::string_view ProfileNamespace(Profile profile) {
  return profile == Profile::kWebPki ? "webpki" : "rfc5280";
}

// The DER inside the first CERTIFICATE block of `pem`. Only the armor is
// removed; whether the DER is a certificate is the core's question.
absl::StatusOr<std::string> PemToDer(absl::string_view pem,
                                     absl::string_view what) {
  std::unique_ptr<BIO, pki::OpenSslDeleter<BIO, BIO_free_all>> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  char* name = nullptr;
  char* header = nullptr;
  unsigned char* data = nullptr;
  long len = 0;
  if (PEM_read_bio(bio.get(), &name, &header, &data, &len) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(absl::StrCat(what, " is not PEM"));
  }
  std::string der(reinterpret_cast<char*>(data), len);
  OPENSSL_free(name);
  OPENSSL_free(header);
  OPENSSL_free(data);
  return der;
}

absl::StatusOr<absl::Time> ValidationTime(const Testcase& testcase,
                                          const HarnessOptions& options) {
  if (testcase.validation_time().empty()) return options.now;
  absl::Time time;
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, testcase.validation_time(), &time,
                       &error)) {
    // A suite bug, not a verifier decision: skip rather than score it.
    return absl::UnimplementedError(absl::StrCat(
        "validation_time \"", testcase.validation_time(), "\": ", error));
  }
  return time;
}

absl::StatusOr<KeyPurpose> Purpose(const Testcase& testcase) {
  KeyPurpose purpose;
  switch (testcase.validation_kind()) {
    case SERVER:
      purpose = KeyPurpose::kServerAuth;
      break;
    case CLIENT:
      purpose = KeyPurpose::kClientAuth;
      break;
    default:
      return absl::UnimplementedError("unknown validation_kind");
  }
  // VerifyInput takes one purpose. The suite only ever lists the purpose its
  // validation_kind implies, but an explicit list wins if it says otherwise.
  if (testcase.extended_key_usage_size() > 1) {
    return absl::UnimplementedError(
        absl::StrCat("several required extended key usages (",
                     absl::StrJoin(testcase.extended_key_usage(), ", "),
                     "): VerifyChain checks one purpose"));
  }
  if (testcase.extended_key_usage_size() == 1) {
    const std::string& eku = testcase.extended_key_usage(0);
    if (eku == "serverAuth") {
      purpose = KeyPurpose::kServerAuth;
    } else if (eku == "clientAuth") {
      purpose = KeyPurpose::kClientAuth;
    } else {
      return absl::UnimplementedError(
          absl::StrCat("required extended key usage ", eku,
                       ": VerifyChain checks serverAuth or clientAuth only"));
    }
  }
  return purpose;
}

absl::StatusOr<uint32_t> RequiredKeyUsage(const Testcase& testcase) {
  uint32_t bits = 0;
  for (const std::string& usage : testcase.key_usage()) {
    if (usage == "digitalSignature") {
      bits |= pki::kKeyUsageDigitalSignature;
    } else if (usage == "keyEncipherment") {
      bits |= pki::kKeyUsageKeyEncipherment;
    } else if (usage == "keyAgreement") {
      bits |= pki::kKeyUsageKeyAgreement;
    } else if (usage == "keyCertSign") {
      bits |= pki::kKeyUsageKeyCertSign;
    } else if (usage == "cRLSign") {
      bits |= pki::kKeyUsageCrlSign;
    } else {
      return absl::UnimplementedError(
          absl::StrCat("required key usage ", usage, " is not supported"));
    }
  }
  return bits;
}

absl::StatusOr<pki::PeerName> ToPeerName(const PeerName& name) {
  pki::PeerName::Kind want;
  switch (name.kind()) {
    case PeerName::DNS:
      want = pki::PeerName::Kind::kDns;
      break;
    case PeerName::IP:
      want = pki::PeerName::Kind::kIpAddress;
      break;
    case PeerName::RFC822:
      want = pki::PeerName::Kind::kEmail;
      break;
    default:
      return absl::UnimplementedError("unknown expected peer name kind");
  }
  // The same parser the service applies to a request's peer_name, so a name
  // the service would refuse fails here too.
  absl::StatusOr<pki::PeerName> parsed = pki::ParsePeerName(name.value());
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("peer name \"", name.value(),
                     "\" rejected: ", parsed.status().message()));
  }
  // ParsePeerName decides the kind from the syntax; a DNS name that reads as
  // an IP literal (or the reverse) would be checked against the wrong SAN
  // type, so it is refused rather than silently reinterpreted.
  if (parsed->kind != want) {
    return absl::InvalidArgumentError(
        absl::StrCat("peer name \"", name.value(), "\" is not a valid ",
                     PeerName::Kind_Name(name.kind()), " name"));
  }
  return parsed;
}

// "<STATUS> <error id>: <diagnostic>" for the first error of a rejection.
std::string Describe(const pki::VerifyResult& result) {
  std::string context = ::chainverify::v1::Status_Name(result.status);
  for (const pki::CertError& error : result.errors) {
    if (error.severity != pki::Severity::kError) continue;
    absl::StrAppend(&context, " ", error.id->name);
    if (error.chain_index >= 0) {
      absl::StrAppend(&context, " [chain ", error.chain_index, "]");
    }
    if (!error.diagnostic.empty()) {
      absl::StrAppend(&context, ": ", error.diagnostic);
    }
    break;
  }
  return context;
}

TestcaseResult MakeResult(const Testcase& testcase, Result actual,
                          std::string context) {
  TestcaseResult result;
  result.set_id(testcase.id());
  result.set_actual_result(actual);
  result.set_context(std::move(context));
  return result;
}

}  // namespace

absl::StatusOr<CaseInput> ToVerifyInput(const Testcase& testcase,
                                        const HarnessOptions& options) {
  // Unsupported features first, so that a skipped case never reports a
  // verdict-like error.
  if (testcase.signature_algorithms_size() > 0) {
    return absl::UnimplementedError(
        "required signature algorithms are not an input of VerifyChain");
  }
  if (testcase.conflicts_with_size() > 0 &&
      Namespace(testcase.id()) != ProfileNamespace(options.profile)) {
    return absl::UnimplementedError(absl::StrCat(
        "conflicts with ", absl::StrJoin(testcase.conflicts_with(), ", "),
        "; this harness follows the ", ProfileNamespace(options.profile),
        " profile"));
  }

  CaseInput out;
  absl::StatusOr<KeyPurpose> purpose = Purpose(testcase);
  if (!purpose.ok()) return purpose.status();
  absl::StatusOr<absl::Time> time = ValidationTime(testcase, options);
  if (!time.ok()) return time.status();
  absl::StatusOr<uint32_t> key_usage = RequiredKeyUsage(testcase);
  if (!key_usage.ok()) return key_usage.status();
  out.required_key_usage = *key_usage;

  out.policy.validation.profile = options.profile;
  out.policy.validation.strict_anchor_checks = options.strict_anchor_checks;
  if (testcase.crls_size() > 0) {
    std::vector<std::string> crls;
    for (int i = 0; i < testcase.crls_size(); ++i) {
      absl::StatusOr<std::string> der =
          PemToDer(testcase.crls(i), absl::StrCat("crls[", i, "]"));
      if (!der.ok()) return der.status();
      crls.push_back(*std::move(der));
    }
    // Soft-fail by default: a certificate no CRL speaks for is accepted, as
    // x509-limbo supplies CRLs only for the certificates it means to test.
    out.policy.rules.crls = pki::CrlSet::Parse(std::move(crls), nullptr);
    out.policy.rules.revocation_hard_fail = options.revocation_hard_fail;
  }
  if (testcase.has_max_chain_depth()) {
    if (testcase.max_chain_depth() < 0) {
      return absl::UnimplementedError("negative max_chain_depth");
    }
    // x509-limbo's depth counts the intermediates that are not self-issued,
    // which is what max_intermediates limits.
    out.policy.validation.max_intermediates = testcase.max_chain_depth();
  }

  auto store = std::make_shared<pki::TrustStore>();
  for (int i = 0; i < testcase.trusted_certs_size(); ++i) {
    absl::Status added = store->AddPem(testcase.trusted_certs(i),
                                       absl::StrCat("trusted_certs[", i, "]"));
    if (!added.ok()) {
      // The service refuses to load a policy whose anchors do not parse, so
      // nothing could verify against this store.
      return absl::InvalidArgumentError(
          absl::StrCat("trust store: ", added.message()));
    }
  }
  out.policy.trust_store = std::move(store);

  std::vector<std::string> certificates;
  absl::StatusOr<std::string> leaf =
      PemToDer(testcase.peer_certificate(), "peer_certificate");
  if (!leaf.ok()) return leaf.status();
  certificates.push_back(*std::move(leaf));
  for (int i = 0; i < testcase.untrusted_intermediates_size(); ++i) {
    absl::StatusOr<std::string> der =
        PemToDer(testcase.untrusted_intermediates(i),
                 absl::StrCat("untrusted_intermediates[", i, "]"));
    if (!der.ok()) return der.status();
    certificates.push_back(*std::move(der));
  }

  // Client validation lists names (all must match); server validation names
  // one peer; a case with neither checks no name.
  std::vector<pki::PeerName> names;
  for (const PeerName& name : testcase.expected_peer_names()) {
    absl::StatusOr<pki::PeerName> converted = ToPeerName(name);
    if (!converted.ok()) return converted.status();
    names.push_back(*std::move(converted));
  }
  if (testcase.has_expected_peer_name()) {
    absl::StatusOr<pki::PeerName> converted =
        ToPeerName(testcase.expected_peer_name());
    if (!converted.ok()) return converted.status();
    names.push_back(*std::move(converted));
  }
  if (names.empty()) names.emplace_back();  // kind kNone

  for (pki::PeerName& name : names) {
    pki::VerifyInput input;
    input.certificates = certificates;
    input.peer_name = std::move(name);
    input.purpose = *purpose;
    input.time = *time;
    out.inputs.push_back(std::move(input));
  }
  return out;
}

TestcaseResult RunCase(const Testcase& testcase,
                       const HarnessOptions& options) {
  absl::StatusOr<CaseInput> prepared = ToVerifyInput(testcase, options);
  if (!prepared.ok()) {
    if (prepared.status().code() == absl::StatusCode::kUnimplemented) {
      return MakeResult(testcase, SKIPPED,
                        std::string(prepared.status().message()));
    }
    return MakeResult(testcase, FAILURE,
                      std::string(prepared.status().message()));
  }

  std::string context;
  for (const pki::VerifyInput& input : prepared->inputs) {
    pki::VerifyResult verdict = pki::VerifyChain(input, prepared->policy);
    if (!verdict.trusted) {
      std::string why = Describe(verdict);
      if (prepared->inputs.size() > 1) {
        why = absl::StrCat("for ", input.peer_name.value, ": ", why);
      }
      return MakeResult(testcase, FAILURE, std::move(why));
    }
    // RFC 5280 4.2.1.3: no keyUsage extension means every usage is allowed.
    const std::optional<uint32_t> leaf_usage =
        verdict.chain.front().certificate->key_usage();
    if (leaf_usage.has_value() &&
        (*leaf_usage & prepared->required_key_usage) !=
            prepared->required_key_usage) {
      return MakeResult(
          testcase, FAILURE,
          absl::StrFormat("harness: leaf keyUsage 0x%04x lacks "
                          "required 0x%04x",
                          *leaf_usage, prepared->required_key_usage));
    }
    context =
        absl::StrCat("OK, path of ", verdict.chain.size(), " certificates");
  }
  return MakeResult(testcase, SUCCESS, std::move(context));
}

namespace {

// The row a case is counted in: its namespace, except that bettertls is split
// into its two sub-suites (name constraints, path building), which differ in
// kind and are reported apart in the suite's README.
std::string ScoreGroup(absl::string_view id) {
  absl::string_view group = Namespace(id);
  if (group == "bettertls" && id.size() > group.size() + 2) {
    return std::string(id.substr(0, id.find("::", group.size() + 2)));
  }
  return std::string(group);
}

}  // namespace

void Scoreboard::Add(const Testcase& testcase, const TestcaseResult& result) {
  Tally& ns = by_namespace_[ScoreGroup(testcase.id())];
  int Tally::*field;
  if (result.actual_result() == SKIPPED) {
    field = &Tally::skipped;
  } else if (result.actual_result() == testcase.expected_result()) {
    field = &Tally::matched;
  } else if (result.actual_result() == SUCCESS) {
    field = &Tally::unexpected_success;
  } else {
    field = &Tally::unexpected_failure;
  }
  ++(ns.*field);
  ++(total_.*field);
  if (field == &Tally::unexpected_success ||
      field == &Tally::unexpected_failure) {
    mismatches_.push_back(absl::StrCat(
        testcase.id(), ": expected ", Result_Name(testcase.expected_result()),
        ", got ", Result_Name(result.actual_result()), ": ", result.context()));
  }
}

std::string Scoreboard::Summary(bool list_mismatches) const {
  constexpr char kRow[] = "%-26s %7s %9s %10s %7s %7s\n";
  std::string out = absl::StrFormat(kRow, "namespace", "matched", "unexp-ok",
                                    "unexp-fail", "skipped", "total");
  auto row = [&](absl::string_view name, const Tally& t) {
    absl::StrAppend(&out, absl::StrFormat(kRow, name, absl::StrCat(t.matched),
                                          absl::StrCat(t.unexpected_success),
                                          absl::StrCat(t.unexpected_failure),
                                          absl::StrCat(t.skipped),
                                          absl::StrCat(t.total())));
  };
  for (const auto& [name, tally] : by_namespace_) row(name, tally);
  row("TOTAL", total_);
  absl::StrAppend(&out,
                  "(unexp-ok: expected FAILURE, got SUCCESS; unexp-fail: "
                  "expected SUCCESS, got FAILURE)\n");
  if (list_mismatches) {
    absl::StrAppend(&out, "Mismatches (", mismatches_.size(), "):\n");
    for (const std::string& line : mismatches_) {
      absl::StrAppend(&out, "  ", line, "\n");
    }
  }
  return out;
}

LimboResults RunSuite(const Limbo& suite, const HarnessOptions& options,
                      int threads) {
  LimboResults results;
  results.set_version(kSuiteVersion);
  results.set_harness(kHarnessName);
  const int n = suite.testcases_size();
  std::vector<TestcaseResult> slots(n);
  // Cases are independent (each has its own trust store), so workers just
  // take the next index; writing to distinct slots keeps suite order.
  std::atomic<int> next{0};
  auto work = [&] {
    for (int i = next++; i < n; i = next++) {
      slots[i] = RunCase(suite.testcases(i), options);
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (std::thread& thread : pool) thread.join();
  for (TestcaseResult& slot : slots) *results.add_results() = std::move(slot);
  return results;
}

}  // namespace chainverify::conformance
