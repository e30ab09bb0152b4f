// Writes seed corpora for the fuzz targets from certificates, CRLs and OCSP
// responses built in code (//tests/testutil:test_pki), one directory per
// target: OUT_DIR/<target>/<name>. run.sh calls it into a scratch directory
// before each run; nothing it writes is committed.
//
// usage: seed_corpus OUT_DIR
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/time.h"
#include "chainverify/v1/verifier.pb.h"
#include "fuzz/fuzz_input.h"
#include "tests/testutil/certdata_writer.h"
#include "tests/testutil/test_pki.h"

namespace chainverify::fuzz {
namespace {

using testing::CertSpec;
using testing::KeyType;
using testing::MustIssue;
using testing::TestCert;

// 2025-01-01T00:00:00Z, inside test_pki's default validity.
constexpr uint32_t kTime = 1735689600;

std::string Be32(uint32_t v) {
  return std::string{static_cast<char>(v >> 24), static_cast<char>(v >> 16),
                     static_cast<char>(v >> 8), static_cast<char>(v)};
}

class Writer {
 public:
  explicit Writer(std::string root) : root_(std::move(root)) {}
  void Write(const std::string& target, const std::string& name,
             const std::string& data) {
    const std::string dir = absl::StrCat(root_, "/", target);
    mkdir(root_.c_str(), 0755);
    mkdir(dir.c_str(), 0755);
    std::ofstream out(absl::StrCat(dir, "/", name), std::ios::binary);
    out << data;
    if (!out) {
      std::fprintf(stderr, "cannot write %s/%s\n", dir.c_str(), name.c_str());
      ok_ = false;
    }
    ++count_;
  }
  bool ok() const { return ok_; }
  int count() const { return count_; }

 private:
  std::string root_;
  bool ok_ = true;
  int count_ = 0;
};

// A DER OCSPResponse from `issuer` about `cert`: good, or revoked.
std::string OcspResponse(const TestCert& cert, const TestCert& issuer,
                         bool revoked) {
  OCSP_BASICRESP* basic = OCSP_BASICRESP_new();
  OCSP_CERTID* id = OCSP_cert_to_id(EVP_sha1(), cert.x509(), issuer.x509());
  ASN1_TIME* this_update = ASN1_GENERALIZEDTIME_set(nullptr, kTime - 3600);
  ASN1_TIME* next_update = ASN1_GENERALIZEDTIME_set(nullptr, kTime + 86400);
  ASN1_TIME* revoked_at = ASN1_GENERALIZEDTIME_set(nullptr, kTime - 7200);
  OCSP_basic_add1_status(
      basic, id, revoked ? V_OCSP_CERTSTATUS_REVOKED : V_OCSP_CERTSTATUS_GOOD,
      revoked ? OCSP_REVOKED_STATUS_KEYCOMPROMISE : OCSP_REVOKED_STATUS_NOSTATUS,
      revoked ? revoked_at : nullptr, this_update, next_update);
  OCSP_basic_add1_nonce(basic, nullptr, 16);
  OCSP_basic_sign(basic, issuer.x509(), issuer.key.get(), EVP_sha256(), nullptr,
                  OCSP_NOCERTS);
  OCSP_RESPONSE* response =
      OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, basic);
  unsigned char* der = nullptr;
  const int len = i2d_OCSP_RESPONSE(response, &der);
  std::string out = len > 0 ? std::string(reinterpret_cast<char*>(der), len) : "";
  OPENSSL_free(der);
  OCSP_RESPONSE_free(response);
  ASN1_TIME_free(revoked_at);
  ASN1_TIME_free(next_update);
  ASN1_TIME_free(this_update);
  OCSP_CERTID_free(id);
  OCSP_BASICRESP_free(basic);
  return out;
}

// path_builder_fuzzer's layout (see its header comment).
std::string PathInput(uint8_t flags, const std::vector<std::string>& parts) {
  std::string out;
  out.push_back(static_cast<char>(flags));
  out.push_back(0);
  out += Be32(kTime);
  return out + JoinParts(parts);
}

int Main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: seed_corpus OUT_DIR\n");
    return 2;
  }
  Writer w(argv[1]);

  // Root -> intermediate -> leaf, EC and RSA; a second root cross-signs the
  // intermediate's key; a richer leaf carries every extension the details
  // report.
  const TestCert root = MustIssue(testing::RootSpec("Fuzz Root"), nullptr);
  CertSpec inter_spec = testing::IntermediateSpec("Fuzz Intermediate");
  inter_spec.permitted_dns = {"example.com"};
  inter_spec.excluded_ip = {"10.0.0.0/8"};
  inter_spec.certificate_policies = {"2.23.140.1.2.1"};
  const TestCert inter = MustIssue(inter_spec, &root);
  const TestCert leaf =
      MustIssue(testing::LeafSpec("service.example.com", {"service.example.com"}), &inter);
  CertSpec rich_spec = testing::LeafSpec("rich.example.com",
                                         {"rich.example.com", "*.rich.example.com"});
  rich_spec.ip_addresses = {"192.0.2.1", "2001:db8::1"};
  rich_spec.emails = {"ops@example.com"};
  rich_spec.uris = {"spiffe://fleet/ns/billing/sa/api"};
  rich_spec.extra_subject = {{"C", "US"}, {"O", "Example"}};
  rich_spec.crl_distribution_points = {"http://crl.example.com/inter.crl"};
  rich_spec.ocsp_urls = {"http://ocsp.example.com"};
  rich_spec.ca_issuers_urls = {"http://ca.example.com/inter.der"};
  rich_spec.certificate_policies = {"2.23.140.1.2.1"};
  const TestCert rich = MustIssue(rich_spec, &inter);
  CertSpec rsa_root_spec = testing::RootSpec("Fuzz RSA Root");
  rsa_root_spec.key_type = KeyType::kRsa2048;
  const TestCert rsa_root = MustIssue(rsa_root_spec, nullptr);
  const TestCert cross = MustIssue(testing::IntermediateSpec("Fuzz Intermediate"),
                                   &rsa_root, inter.key);
  CertSpec ed_spec = testing::LeafSpec("ed.example.com", {"ed.example.com"});
  ed_spec.key_type = KeyType::kEd25519;
  const TestCert ed_leaf = MustIssue(ed_spec, &inter);
  CertSpec client_spec = testing::LeafSpec("client", {});
  client_spec.extended_key_usage = std::vector<std::string>{"clientAuth"};
  client_spec.emails = {"client@example.com"};
  const TestCert client = MustIssue(client_spec, &inter);

  const std::vector<const TestCert*> all = {&root, &inter, &leaf, &rich, &rsa_root,
                                            &cross, &ed_leaf, &client};
  int n = 0;
  for (const TestCert* cert : all) {
    w.Write("certificate_fuzzer", absl::StrCat("testpki-", n++), cert->der);
  }

  const std::string good = OcspResponse(leaf, inter, /*revoked=*/false);
  const std::string revoked = OcspResponse(leaf, inter, /*revoked=*/true);
  // path_builder_fuzzer: name + uploads + anchors, in several shapes.
  w.Write("path_builder_fuzzer", "chain",
          PathInput(0x40 | 0x20 | 1, {"service.example.com", leaf.der, inter.der, root.der}));
  w.Write("path_builder_fuzzer", "extra-uploads",
          PathInput(0x40 | 1, {"rich.example.com", rich.der, cross.der, inter.der,
                               rsa_root.der, root.der, root.der}));
  w.Write("path_builder_fuzzer", "cross-signed",
          PathInput(2, {leaf.der, cross.der, inter.der, rsa_root.der, root.der}));
  w.Write("path_builder_fuzzer", "client",
          PathInput(0x10 | 1, {client.der, inter.der, root.der}));
  w.Write("path_builder_fuzzer", "stapled",
          PathInput(0x80 | 0x40 | 1,
                    {"service.example.com", revoked, leaf.der, inter.der, root.der}));
  w.Write("path_builder_fuzzer", "ed25519",
          PathInput(0x40 | 1, {"ed.example.com", ed_leaf.der, inter.der, root.der}));

  // crl_fuzzer: time, certificate, issuer, CRLs.
  auto crl = testing::IssueCrl(inter, {leaf.serial_hex()},
                               absl::FromUnixSeconds(kTime - 3600),
                               absl::FromUnixSeconds(kTime + 86400), 7);
  auto empty_crl = testing::IssueCrl(inter, {}, absl::FromUnixSeconds(kTime - 3600),
                                     absl::FromUnixSeconds(kTime + 86400), 8);
  auto root_crl = testing::IssueCrl(root, {inter.serial_hex()},
                                    absl::FromUnixSeconds(kTime - 3600),
                                    absl::FromUnixSeconds(kTime + 86400), 1);
  if (!crl.ok() || !empty_crl.ok() || !root_crl.ok()) {
    std::fprintf(stderr, "IssueCrl failed\n");
    return 1;
  }
  w.Write("crl_fuzzer", "revoked", Be32(kTime) + JoinParts({leaf.der, inter.der, *crl}));
  w.Write("crl_fuzzer", "good", Be32(kTime) + JoinParts({rich.der, inter.der, *empty_crl}));
  w.Write("crl_fuzzer", "two", Be32(kTime) + JoinParts({inter.der, root.der, *root_crl,
                                                         *crl}));
  // Scope, indirect and delta CRLs (issuingDistributionPoint, certificateIssuer,
  // deltaCRLIndicator, freshestCRL, reason codes).
  testing::CrlSpec indirect;
  indirect.this_update = absl::FromUnixSeconds(kTime - 3600);
  indirect.next_update = absl::FromUnixSeconds(kTime + 86400);
  indirect.idp.emplace().indirect = true;
  indirect.idp->uris = {"http://crl.example.com/inter.crl"};
  indirect.idp->only_some_reasons = {1, 2, 3};
  indirect.freshest_urls = {"http://crl.example.com/delta.crl"};
  testing::CrlEntrySpec other_issuer;
  other_issuer.serial_hex = "01";
  other_issuer.certificate_issuer = &root;
  other_issuer.reason = 1;
  testing::CrlEntrySpec own;
  own.serial_hex = leaf.serial_hex();
  own.certificate_issuer = &inter;
  own.reason = 6;
  indirect.entries = {other_issuer, own};
  testing::CrlSpec delta = indirect;
  delta.number = 2;
  delta.delta_base = 1;
  delta.entries[1].reason = 8;
  auto indirect_crl = testing::IssueCrl(inter, indirect);
  auto delta_crl = testing::IssueCrl(inter, delta);
  if (!indirect_crl.ok() || !delta_crl.ok()) {
    std::fprintf(stderr, "IssueCrl failed\n");
    return 1;
  }
  w.Write("crl_fuzzer", "indirect_delta",
          Be32(kTime) + JoinParts({rich.der, inter.der, *indirect_crl, *delta_crl}));
  // path_builder_fuzzer with pushed CRLs: the leaf revoked by its issuer's
  // CRL (soft-fail, whole chain), and an indirect CRL with its delta
  // (hard-fail, leaf only; the time's low bits choose, see the fuzzer).
  auto path_with_crls = [](uint8_t flags, uint32_t time, const std::vector<std::string>& parts) {
    std::string out = PathInput(flags, parts);
    out.replace(2, 4, Be32(time));
    return out;
  };
  w.Write("path_builder_fuzzer", "crl-revoked",
          path_with_crls(0x40 | 1, kTime & ~3u,
                         {"service.example.com", leaf.der, *crl, inter.der, *root_crl,
                          root.der}));
  w.Write("path_builder_fuzzer", "crl-indirect-delta",
          path_with_crls(0x40 | 1, kTime | 3u,
                         {"rich.example.com", rich.der, inter.der, *indirect_crl, *delta_crl,
                          root.der}));
  // ocsp_fuzzer: time, certificate, issuer, response.
  w.Write("ocsp_fuzzer", "good", Be32(kTime) + JoinParts({leaf.der, inter.der, good}));
  w.Write("ocsp_fuzzer", "revoked", Be32(kTime) + JoinParts({leaf.der, inter.der, revoked}));

  // verify_request_fuzzer: a serialized VerifyRequest, then the anchors.
  v1::VerifyRequest request;
  request.add_certificates(leaf.der);
  request.add_certificates(inter.der);
  request.add_certificates(rsa_root.der);
  request.set_peer_name("service.example.com");
  request.set_usage(v1::SERVER_AUTH);
  request.mutable_verification_time()->set_seconds(kTime);
  request.set_stapled_ocsp_response(good);
  request.set_request_id("seed-1");
  (*request.mutable_labels())["service"] = "billing";
  w.Write("verify_request_fuzzer", "chain",
          JoinParts({request.SerializeAsString(), root.der}));
  request.set_policy("web");
  request.set_stapled_ocsp_response(revoked);
  w.Write("verify_request_fuzzer", "web-revoked",
          JoinParts({request.SerializeAsString(), root.der, rsa_root.der}));
  v1::VerifyRequest client_request;
  client_request.add_certificates(client.der);
  client_request.add_certificates(inter.der);
  client_request.set_peer_name("client@example.com");
  client_request.set_usage(v1::CLIENT_AUTH);
  client_request.mutable_verification_time()->set_seconds(kTime);
  w.Write("verify_request_fuzzer", "client",
          JoinParts({client_request.SerializeAsString(), root.der}));
  v1::VerifyRequest system_request;
  system_request.add_certificates(rich.der);
  system_request.set_peer_name("192.0.2.1");
  w.Write("verify_request_fuzzer", "system-store",
          JoinParts({system_request.SerializeAsString()}));

  // policy_fuzzer: a bundle using inline anchors and most policy features
  // (run.sh adds deploy/policy/*.textproto).
  const std::string pem = absl::StrReplaceAll(root.pem() + rsa_root.pem(), {{"\n", "\\n"}});
  const std::string spki = absl::Base64Escape(
      std::string(reinterpret_cast<const char*>(""), 0));
  (void)spki;
  w.Write("policy_fuzzer", "inline",
          absl::StrCat(
              "version: \"seed\"\ndefault_policy: \"fleet\"\n"
              "policies {\n  name: \"fleet\"\n  trust_stores { inline_pem: \"", pem,
              "\" }\n  profile: RFC5280\n  max_chain_length: 5\n"
              "  allow_request_verification_time: true\n"
              "  removed_anchors: \"C5+lpZ7tcVwmwQIMcRtPbsQtWLABXhQzejna0wHFr8M=\"\n"
              "  anchor_constraints {\n    spki_sha256: "
              "\"C5+lpZ7tcVwmwQIMcRtPbsQtWLABXhQzejna0wHFr8M=\"\n"
              "    allowed_usages: SERVER_AUTH\n    permitted_dns_names: \"example.com\"\n"
              "    distrust_issued_after { seconds: 2051222400 }\n  }\n"
              "  revocation { mode: HARD_FAIL fetch_ocsp: true\n"
              "    fetch: { allowed_hosts: \"ocsp.example.com\" }\n"
              "    denylist { blocked_spki_sha256: "
              "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\" } }\n"
              "  algorithms { min_rsa_bits: 3072 allow_sha1: false }\n"
              "  pin_sets { name: \"p\" peer_name_patterns: \"*.example.com\" scope: ANCHOR\n"
              "    pin_sha256: \"C5+lpZ7tcVwmwQIMcRtPbsQtWLABXhQzejna0wHFr8M=\" "
              "report_only: true }\n}\n"));

  // issuer_response_fuzzer: what caIssuers URLs serve.
  w.Write("issuer_response_fuzzer", "der", inter.der);
  w.Write("issuer_response_fuzzer", "pem", inter.pem() + root.pem());
  w.Write("issuer_response_fuzzer", "p7c", testing::Pkcs7CertsOnly({&inter, &root}));
  w.Write("issuer_response_fuzzer", "p7c-pem",
          testing::DerToPem(testing::Pkcs7CertsOnly({&inter}), "PKCS7"));
  // certdata_fuzzer: the CLIENT_AUTH mode byte, then certdata.txt files around
  // these certificates (run.sh adds slices of Mozilla's file when present).
  testing::CertdataEntry trusted;
  trusted.der = root.der;
  trusted.label = "Fuzz Root";
  trusted.server_distrust_after = "241130235959Z";
  testing::CertdataEntry email_only;
  email_only.der = rsa_root.der;
  email_only.label = "Fuzz RSA Root";
  email_only.server_auth = "CKT_NSS_MUST_VERIFY_TRUST";
  email_only.email_protection = "CKT_NSS_TRUSTED_DELEGATOR";
  email_only.client_auth = "CKT_NSS_TRUSTED_DELEGATOR";
  testing::CertdataEntry distrusted;
  distrusted.der = inter.der;
  distrusted.label = "Fuzz Intermediate";
  distrusted.server_auth = "CKT_NSS_NOT_TRUSTED";
  testing::CertdataEntry distrust_only = distrusted;
  distrust_only.include_certificate = false;
  for (char mode : {'\0', '\1', '\2'}) {
    w.Write("certdata_fuzzer", absl::StrCat("roots-", int{mode}),
            std::string(1, mode) + testing::CertdataFile({trusted, email_only, distrusted}));
  }
  w.Write("certdata_fuzzer", "distrust-only",
          std::string(1, '\0') + testing::CertdataFile({trusted, distrust_only}));

  std::fprintf(stderr, "seed_corpus: %d files in %s\n", w.count(), argv[1]);
  return w.ok() ? 0 : 1;
}

}  // namespace
}  // namespace chainverify::fuzz

int main(int argc, char** argv) { return chainverify::fuzz::Main(argc, argv); }
