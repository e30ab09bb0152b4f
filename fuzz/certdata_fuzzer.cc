// Fuzz target: NSS certdata.txt (ParseCertdata in server/pki/certdata.h), the
// root-program trust source. The first byte picks the CLIENT_AUTH mode; the
// rest is the file. A file that loads is merged into a TrustStore and checked:
// per-purpose trust and the distrust records agree, every anchor and source
// renders into messages a client can parse, and a store diffed against itself
// shows no difference.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "absl/strings/string_view.h"
#include "chainverify/v1/verifier.pb.h"
#include "fuzz/proto_check.h"
#include "server/pki/certdata.h"
#include "server/pki/certificate_details.h"
#include "server/pki/trust_diff.h"
#include "server/pki/trust_store.h"

namespace chainverify::fuzz {
namespace {

using pki::PurposeTrust;

void Run(absl::string_view data) {
  if (data.empty()) return;
  pki::CertdataOptions options;
  options.path = "fuzz-certdata.txt";
  options.client_auth = static_cast<pki::CertdataClientAuth>(static_cast<uint8_t>(data[0]) % 3);
  absl::StatusOr<pki::LoadedTrustSource> loaded = pki::ParseCertdata(data.substr(1), options);
  if (!loaded.ok()) {
    // Every refusal names the file and a line.
    if (loaded.status().message().find("fuzz-certdata.txt:") != 0) std::abort();
    return;
  }
  pki::TrustStore store;
  store.AddSource(*loaded);
  if (store.sources().size() != 1 ||
      store.sources()[0]->distrusted != static_cast<int>(loaded->distrust.size())) {
    std::abort();
  }
  for (const pki::SourceCertificate& c : loaded->certificates) {
    if (c.certificate == nullptr) std::abort();
    if (options.client_auth == pki::CertdataClientAuth::kAsServerAuth &&
        c.client_auth != c.server_auth) {
      std::abort();
    }
    if (options.client_auth == pki::CertdataClientAuth::kNone &&
        c.client_auth.level != PurposeTrust::Level::kNotTrusted) {
      std::abort();
    }
  }
  for (const auto& anchor : store.anchors()) {
    // An explicit distrust in the file is one in the store, for that purpose.
    for (pki::KeyPurpose purpose : {pki::KeyPurpose::kServerAuth, pki::KeyPurpose::kClientAuth}) {
      const bool distrusted = anchor->TrustFor(purpose).level == PurposeTrust::Level::kDistrusted;
      if (distrusted != (store.FindDistrust(*anchor->certificate, purpose) != nullptr)) {
        // Distrust reaches a certificate only through a record by issuer and
        // serial, which the file also writes for the certificate itself.
        std::abort();
      }
    }
    v1::CertificateDetails details;
    pki::DescribeCertificate({anchor->certificate, -1, anchor.get()}, &details);
    if (details.trust_sources_size() != static_cast<int>(anchor->origins.size())) std::abort();
    CheckRoundTrip(details);
    anchor->server_auth.Describe();
  }
  const pki::TrustDiffResult diff = pki::DiffTrustStores(store, store, absl::InfiniteFuture());
  if (!diff.only_in_old.empty() || !diff.only_in_new.empty() ||
      !diff.constraints_differ.empty() || diff.common_anchors != store.anchor_count() ||
      diff.expiring.size() != store.anchor_count()) {
    std::abort();
  }
}

}  // namespace
}  // namespace chainverify::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  chainverify::fuzz::SilenceProtobufLogs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  chainverify::fuzz::Run(absl::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
