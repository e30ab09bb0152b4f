#include "client/chainverify_client.h"

#include <grpcpp/grpcpp.h>
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace chainverify::client {
namespace {

namespace v1 = ::chainverify::v1;

// Far above any valid upload (32 certificates of 64 KiB, base64-encoded), but
// stops a mistaken `--chain /dev/zero` from eating memory.
constexpr size_t kMaxCertificateFileBytes = 16 << 20;

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
struct BioFreer {
  void operator()(BIO* bio) const { BIO_free(bio); }
};

absl::StatusOr<std::string> ReadFile(const std::string& path,
                                     size_t max_bytes) {
  std::unique_ptr<std::FILE, FileCloser> file(std::fopen(path.c_str(), "rb"));
  if (file == nullptr) {
    return absl::ErrnoToStatus(errno, absl::StrCat("cannot open ", path));
  }
  std::string data;
  char buffer[16384];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), file.get())) > 0) {
    data.append(buffer, n);
    if (data.size() > max_bytes) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": larger than ", max_bytes, " bytes"));
    }
  }
  // A directory opens fine on Linux; the read is what fails (EISDIR).
  if (std::ferror(file.get())) {
    return absl::ErrnoToStatus(errno, absl::StrCat("cannot read ", path));
  }
  return data;
}

// The text of OpenSSL's error queue, which it also clears.
std::string DrainOpenSslErrors() {
  std::vector<std::string> errors;
  unsigned long code;
  while ((code = ERR_get_error()) != 0) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof(buffer));
    errors.push_back(buffer);
  }
  return errors.empty() ? "unknown OpenSSL error" : absl::StrJoin(errors, "; ");
}

// True when `data` is exactly one definite-length DER SEQUENCE, the outer shape
// of a certificate. The contents are left for the server to judge.
bool IsSingleDerSequence(absl::string_view data) {
  const auto* start = reinterpret_cast<const unsigned char*>(data.data());
  const unsigned char* p = start;
  long length = 0;
  int tag = 0;
  int xclass = 0;
  const int ret = ASN1_get_object(&p, &length, &tag, &xclass,
                                  static_cast<long>(data.size()));
  // 0x80 is an error (including a length past the end); 0x21 is BER
  // indefinite length, which DER forbids.
  if (ret != V_ASN1_CONSTRUCTED || tag != V_ASN1_SEQUENCE ||
      xclass != V_ASN1_UNIVERSAL) {
    return false;
  }
  return static_cast<size_t>(p - start) + static_cast<size_t>(length) ==
         data.size();
}

// Appends the DER of every CERTIFICATE block of the PEM text `data` to `out`.
absl::Status ParsePemCertificates(const std::string& path,
                                  absl::string_view data,
                                  std::vector<std::string>* out) {
  std::unique_ptr<BIO, BioFreer> bio(
      BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
  if (bio == nullptr) {
    return absl::ResourceExhaustedError(
        absl::StrCat(path, ": ", DrainOpenSslErrors()));
  }
  ERR_clear_error();
  int blocks = 0;
  for (;;) {
    char* name = nullptr;
    char* header = nullptr;
    unsigned char* der = nullptr;
    long der_length = 0;
    if (PEM_read_bio(bio.get(), &name, &header, &der, &der_length) != 1) {
      const unsigned long code = ERR_peek_last_error();
      // Running out of BEGIN lines is how the loop ends; anything else (bad
      // base64, a missing END line) means a block was damaged.
      if (blocks > 0 && ERR_GET_LIB(code) == ERR_LIB_PEM &&
          ERR_GET_REASON(code) == PEM_R_NO_START_LINE) {
        ERR_clear_error();
        return absl::OkStatus();
      }
      if (blocks == 0 && ERR_GET_LIB(code) == ERR_LIB_PEM &&
          ERR_GET_REASON(code) == PEM_R_NO_START_LINE) {
        ERR_clear_error();
        return absl::InvalidArgumentError(
            absl::StrCat(path, ": no PEM CERTIFICATE block found"));
      }
      return absl::InvalidArgumentError(absl::StrCat(
          path, ": bad PEM block #", blocks + 1, ": ", DrainOpenSslErrors()));
    }
    ++blocks;
    const std::string block_name = name;
    const bool has_headers = header[0] != '\0';
    std::string block(reinterpret_cast<const char*>(der),
                      static_cast<size_t>(der_length));
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(der);
    // Refuse rather than skip other blocks: a key in the file is most likely
    // the wrong file, and silently dropping blocks would change the chain sent.
    if (block_name != PEM_STRING_X509 && block_name != PEM_STRING_X509_OLD) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": PEM block #", blocks, " is \"", block_name,
                       "\", expected CERTIFICATE"));
    }
    // Proc-Type/DEK-Info headers mean an encrypted body, which is not DER.
    if (has_headers) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ": PEM block #", blocks, " has headers (encrypted?)"));
    }
    out->push_back(std::move(block));
  }
}

absl::Status ReadCertificateFile(const std::string& path,
                                 std::vector<std::string>* out) {
  absl::StatusOr<std::string> data = ReadFile(path, kMaxCertificateFileBytes);
  if (!data.ok()) return data.status();
  if (data->empty()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": file is empty"));
  }
  // DER is tried first, by shape: PEM may open with free text that starts with
  // '0' (0x30), but such text fails the DER length check and falls through.
  if (static_cast<unsigned char>((*data)[0]) == 0x30 &&
      IsSingleDerSequence(*data)) {
    out->push_back(*std::move(data));
    return absl::OkStatus();
  }
  if (absl::StrContains(*data, "-----BEGIN ")) {
    return ParsePemCertificates(path, *data, out);
  }
  return absl::InvalidArgumentError(absl::StrCat(
      path,
      ": not a certificate (neither PEM with CERTIFICATE blocks nor one "
      "DER certificate)"));
}

// Renders untrusted text (certificate names, server diagnostics) safely for a
// terminal: C0 controls and DEL become \xNN, UTF-8 is kept as is.
std::string Printable(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      absl::StrAppendFormat(&out, "\\x%02x", u);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// Enum names with a fallback for values newer than this client.
template <typename NameFn>
std::string EnumName(NameFn name_fn, int value) {
  const std::string& name = name_fn(value);
  return name.empty() ? absl::StrCat("UNKNOWN(", value, ")") : name;
}

std::string FormatTimestamp(const google::protobuf::Timestamp& ts) {
  const absl::Time t =
      absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
  // RFC 3339 with "Z", as in --time; absl::RFC3339_full would print "+00:00".
  return absl::FormatTime("%Y-%m-%d%ET%H:%M:%E*SZ", t, absl::UTCTimeZone());
}

std::string FormatSan(const v1::SubjectAltName& san) {
  switch (san.kind()) {
    case v1::SubjectAltName::DNS:
      return absl::StrCat("DNS:", Printable(san.value()));
    case v1::SubjectAltName::IP_ADDRESS:
      return absl::StrCat("IP:", Printable(san.value()));
    case v1::SubjectAltName::URI:
      return absl::StrCat("URI:", Printable(san.value()));
    case v1::SubjectAltName::EMAIL:
      return absl::StrCat("email:", Printable(san.value()));
    case v1::SubjectAltName::DIRECTORY_NAME:
      return absl::StrCat("DirName:", Printable(san.value()));
    case v1::SubjectAltName::OTHER:
      return "other";
    default:
      return absl::StrCat(
          EnumName(v1::SubjectAltName::Kind_Name<int>, san.kind()), ":",
          Printable(san.value()));
  }
}

std::string FormatSource(const v1::CertificateDetails& cert) {
  switch (cert.source()) {
    case v1::REQUEST:
      return absl::StrCat("uploaded #", cert.request_index());
    case v1::TRUST_STORE: {
      // Which of the policy's sources hold it, e.g. "mozilla_certdata:
      // /etc/chainverify/certdata.txt \"ISRG Root X1\"".
      std::vector<std::string> sources;
      for (const v1::TrustSource& source : cert.trust_sources()) {
        std::string kind = EnumName(v1::TrustSource::Kind_Name<int>, source.kind());
        for (char& c : kind) c = absl::ascii_tolower(c);
        std::string text = absl::StrCat(kind, ":", Printable(source.path()));
        if (!source.label().empty()) {
          absl::StrAppend(&text, " \"", Printable(source.label()), "\"");
        }
        sources.push_back(std::move(text));
      }
      std::string out = "trust store";
      if (!sources.empty()) absl::StrAppend(&out, " ", absl::StrJoin(sources, ", "));
      // An anchor the peer also sent: that upload was used, not unused.
      if (cert.request_index() >= 0) {
        absl::StrAppend(&out, " (also uploaded #", cert.request_index(), ")");
      }
      return out;
    }
    case v1::INTERMEDIATE_STORE:
      return "intermediate store (policy; the peer did not send it)";
    case v1::AIA_FETCH:
      return absl::StrCat("fetched from ", Printable(cert.fetched_from()),
                          " (AIA caIssuers; the peer did not send it)");
    default:
      return EnumName(v1::CertificateSource_Name<int>, cert.source());
  }
}

void AppendCertificate(int position, const v1::CertificateDetails& cert,
                       std::string* out) {
  absl::StrAppend(out, "  [", position,
                  "] subject: ", Printable(cert.subject()), "\n");
  absl::StrAppend(out, "      issuer:  ", Printable(cert.issuer()), "\n");
  absl::StrAppend(out, "      source:  ", FormatSource(cert), "\n");
  absl::StrAppend(
      out, "      valid:   ",
      cert.has_not_before() ? FormatTimestamp(cert.not_before()) : "?", " to ",
      cert.has_not_after() ? FormatTimestamp(cert.not_after()) : "?", "\n");
  if (cert.subject_alt_names_size() > 0) {
    std::vector<std::string> sans;
    for (const v1::SubjectAltName& san : cert.subject_alt_names()) {
      sans.push_back(FormatSan(san));
    }
    absl::StrAppend(out, "      SANs:    ", absl::StrJoin(sans, ", "), "\n");
  }
  absl::StrAppend(out, "      sha256:  ", Printable(cert.sha256()), "\n");
}

}  // namespace

absl::StatusOr<std::vector<std::string>> ReadCertificateFiles(
    const std::vector<std::string>& paths) {
  if (paths.empty()) {
    return absl::InvalidArgumentError("no certificate files given");
  }
  std::vector<std::string> certificates;
  for (const std::string& path : paths) {
    absl::Status status = ReadCertificateFile(path, &certificates);
    if (!status.ok()) return status;
  }
  return certificates;
}

absl::StatusOr<std::unique_ptr<ChainVerifierClient>>
ChainVerifierClient::Connect(const ConnectOptions& options) {
  if (options.target.empty()) {
    return absl::InvalidArgumentError("no server target given");
  }
  // An infinite deadline would overflow the chrono conversion in Verify().
  if (options.deadline <= absl::ZeroDuration() ||
      options.deadline == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(
        "the deadline must be positive and finite");
  }
  const bool has_tls_files = !options.tls_ca_file.empty() ||
                             !options.tls_cert_file.empty() ||
                             !options.tls_key_file.empty();
  if (options.plaintext && has_tls_files) {
    return absl::InvalidArgumentError(
        "TLS files given for a plaintext connection");
  }
  if (options.tls_cert_file.empty() != options.tls_key_file.empty()) {
    return absl::InvalidArgumentError(
        "a TLS client certificate and key must be given together");
  }

  std::shared_ptr<grpc::ChannelCredentials> credentials;
  if (options.plaintext) {
    credentials = grpc::InsecureChannelCredentials();
  } else {
    grpc::SslCredentialsOptions ssl;
    // Sizes are generous: a CA bundle or a key file, never a whole disk.
    constexpr size_t kMaxPemFileBytes = 4 << 20;
    const std::pair<const std::string*, std::string*> files[] = {
        {&options.tls_ca_file, &ssl.pem_root_certs},
        {&options.tls_cert_file, &ssl.pem_cert_chain},
        {&options.tls_key_file, &ssl.pem_private_key},
    };
    for (const auto& [path, contents] : files) {
      if (path->empty()) continue;
      absl::StatusOr<std::string> data = ReadFile(*path, kMaxPemFileBytes);
      if (!data.ok()) return data.status();
      *contents = *std::move(data);
    }
    credentials = grpc::SslCredentials(ssl);
  }
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateChannel(options.target, credentials);
  return std::unique_ptr<ChainVerifierClient>(new ChainVerifierClient(
      options.target, options.deadline, v1::ChainVerifier::NewStub(channel)));
}

ChainVerifierClient::ChainVerifierClient(
    std::string target, absl::Duration deadline,
    std::unique_ptr<v1::ChainVerifier::Stub> stub)
    : target_(std::move(target)), deadline_(deadline), stub_(std::move(stub)) {}

absl::StatusOr<v1::VerifyResponse> ChainVerifierClient::Verify(
    const v1::VerifyRequest& request) const {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       absl::ToChronoNanoseconds(deadline_));
  v1::VerifyResponse response;
  const grpc::Status status = stub_->Verify(&context, request, &response);
  if (status.ok()) return response;
  // gRPC and absl share the canonical code numbering.
  const auto code = static_cast<absl::StatusCode>(status.error_code());
  if (code == absl::StatusCode::kUnavailable ||
      code == absl::StatusCode::kDeadlineExceeded) {
    // Not "cannot connect": the server also answers UNAVAILABLE when it cannot
    // write the audit record and runs fail-closed.
    return absl::Status(code, absl::StrCat("chainverify server at ", target_,
                                           ": ", status.error_message()));
  }
  return absl::Status(code, status.error_message());
}

std::string FormatVerdict(const v1::VerifyResponse& response) {
  std::string out;
  absl::StrAppend(
      &out, "Verdict: ", EnumName(v1::Verdict_Name<int>, response.verdict()),
      " (", EnumName(v1::Status_Name<int>, response.status()), ")\n");
  absl::StrAppend(&out, "Policy: ", Printable(response.policy_name()));
  if (!response.policy_version().empty()) {
    absl::StrAppend(&out, " (version ", Printable(response.policy_version()),
                    ")");
  }
  absl::StrAppend(&out, "\n");
  absl::StrAppend(&out, "Decision id: ", Printable(response.decision_id()),
                  "\n");
  if (!response.request_id().empty()) {
    absl::StrAppend(&out, "Request id: ", Printable(response.request_id()),
                    "\n");
  }
  if (response.has_evaluated_at()) {
    absl::StrAppend(
        &out, "Evaluated at: ", FormatTimestamp(response.evaluated_at()), "\n");
  }
  if (response.has_request_error()) {
    absl::StrAppend(&out, "Request error: code ",
                    response.request_error().code(), ": ",
                    Printable(response.request_error().message()), "\n");
  }

  if (response.verified_chain_size() > 0) {
    absl::StrAppend(&out, "Verified chain:\n");
    for (int i = 0; i < response.verified_chain_size(); ++i) {
      AppendCertificate(i, response.verified_chain(i), &out);
    }
  } else if (response.best_attempted_chain_size() > 0) {
    // Labelled so nobody mistakes it for a chain that verified.
    absl::StrAppend(&out, "Best attempted chain (NOT trusted):\n");
    for (int i = 0; i < response.best_attempted_chain_size(); ++i) {
      AppendCertificate(i, response.best_attempted_chain(i), &out);
    }
  } else {
    absl::StrAppend(&out, "Chain: none\n");
  }

  if (response.unused_certificate_indices_size() > 0) {
    absl::StrAppend(&out, "Unused uploaded certificates: ",
                    absl::StrJoin(response.unused_certificate_indices(), ", "),
                    "\n");
  }

  if (response.issuer_fetches_size() > 0) {
    absl::StrAppend(&out, "Issuer fetches (AIA caIssuers):\n");
    for (const v1::IssuerFetch& fetch : response.issuer_fetches()) {
      absl::StrAppend(&out, "  ", EnumName(v1::IssuerFetch::Outcome_Name<int>, fetch.outcome()),
                      " ", Printable(fetch.url()), ": ", fetch.certificate_sha256_size(),
                      " certificate(s)");
      if (!fetch.diagnostic().empty()) {
        absl::StrAppend(&out, "; ", Printable(fetch.diagnostic()));
      }
      absl::StrAppend(&out, "\n");
    }
  }

  if (response.errors_size() > 0) {
    absl::StrAppend(&out, "Errors:\n");
    for (const v1::CertificateError& error : response.errors()) {
      absl::StrAppend(
          &out, "  ", Printable(error.id()), " [",
          EnumName(v1::CertificateError::Severity_Name<int>, error.severity()),
          ", ", EnumName(v1::Status_Name<int>, error.status()), "]");
      if (error.chain_index() >= 0) {
        absl::StrAppend(&out, " chain index ", error.chain_index());
      }
      if (error.request_index() >= 0) {
        absl::StrAppend(&out, " (uploaded #", error.request_index(), ")");
      }
      absl::StrAppend(&out, ": ", Printable(error.diagnostic()), "\n");
    }
  }
  return out;
}

int ExitCodeFor(const v1::VerifyResponse& response) {
  // The API promises status OK exactly when TRUSTED; anything else is not
  // something to trust.
  if (response.verdict() == v1::TRUSTED && response.status() == v1::OK) {
    return kExitTrusted;
  }
  return kExitRejected;
}

}  // namespace chainverify::client
