// chainverify: command-line client of the chainverify service.
//
//   chainverify verify --chain leaf.pem,intermediates.pem --host
//   api.example.com
//   chainverify verify --connect api.example.com:443
//
// Exit codes: 0 TRUSTED, 1 REJECTED, 2 any error (bad flags, unreadable file,
// RPC failure), so scripts can tell "the chain is bad" from "we could not
// tell".
#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "chainverify/v1/verifier.pb.h"
#include "client/audit_tool.h"
#include "client/chainverify_client.h"
#include "client/tls_capture.h"
#include "client/trust_tool.h"

ABSL_FLAG(
    std::vector<std::string>, chain, {},
    "Certificate files, comma-separated, leaf first (PEM with one or more "
    "CERTIFICATE blocks, or DER). Files may also be given as arguments "
    "after the subcommand; --chain files come first.");
ABSL_FLAG(
    std::string, host, "",
    "Name the peer should have: a DNS name or IP address, matched against "
    "the leaf's subjectAltName. Empty: no name check (with --connect: "
    "--servername, else the host of --connect).");
ABSL_FLAG(std::string, connect, "",
          "HOST:PORT or [IPV6]:PORT of a TLS server: instead of reading "
          "certificate files, connect, complete a handshake without "
          "verifying it, and upload the chain and stapled OCSP response the "
          "server presented.");
ABSL_FLAG(std::string, servername, "",
          "With --connect: the TLS server name (SNI) to send. Empty: the host "
          "of --connect unless it is an IP address.");
ABSL_FLAG(std::string, usage, "server",
          "What the leaf is used for: 'server' (TLS server) or 'client' (TLS "
          "client).");
ABSL_FLAG(std::string, policy, "",
          "Trust policy name. Empty: the server's default policy.");
ABSL_FLAG(std::string, time, "",
          "Verify as of this RFC 3339 instant, e.g. 2024-05-01T12:00:00Z. Only "
          "allowed by policies with allow_request_verification_time.");
ABSL_FLAG(bool, json, false,
          "verify: print the whole VerifyResponse as JSON instead of text; trust "
          "diff: print the TrustDiff (admin.proto) as JSON.");
ABSL_FLAG(std::string, server, "",
          "Server address HOST:PORT. Default: $CHAINVERIFY_SERVER if set, else "
          "127.0.0.1:50051.");
ABSL_FLAG(std::string, request_id, "",
          "Request id, echoed in the response and the audit record.");
ABSL_FLAG(std::vector<std::string>, label, {},
          "Audit labels as comma-separated key=value pairs, e.g. "
          "service=billing,env=prod.");
ABSL_FLAG(std::string, tls_ca, "",
          "PEM CA bundle for the server certificate. Given: connect with TLS; "
          "otherwise plaintext.");
ABSL_FLAG(std::string, tls_cert, "",
          "PEM client certificate for mutual TLS (needs --tls_ca, --tls_key).");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert.");

namespace chainverify::client {
namespace {

namespace v1 = ::chainverify::v1;

constexpr char kDefaultServer[] = "127.0.0.1:50051";
constexpr char kServerEnvVar[] = "CHAINVERIFY_SERVER";
// For the TCP connect, and for each read or write of the TLS handshake.
constexpr absl::Duration kConnectTimeout = absl::Seconds(10);

// Prints a one-line error and returns the error exit code.
int Fail(absl::string_view message) {
  std::cerr << "chainverify: "
            << absl::StrReplaceAll(message, {{"\r", " "}, {"\n", " "}}) << "\n";
  return kExitError;
}

int Fail(const absl::Status& status) { return Fail(status.message()); }

// Flags absl handles itself (help output), which are not registered flags.
bool IsAbslUsageFlag(absl::string_view name) {
  for (absl::string_view usage_flag :
       {"help", "helpfull", "helpshort", "helppackage", "helpon", "helpmatch",
        "version", "only_check_args"}) {
    if (name == usage_flag) return true;
  }
  return false;
}

// absl::ParseCommandLine exits with status 1 on an unknown flag, a missing
// value or a bad one, and 1 means REJECTED here. This repeats those checks
// first so a bad command line exits 2. (Errors inside a --flagfile still
// exit 1.)
absl::Status CheckFlags(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "--") break;
    if (arg.size() < 2 || arg[0] != '-') continue;  // Positional, or "-".
    absl::string_view body = arg.substr(arg[1] == '-' ? 2 : 1);
    absl::string_view name = body;
    absl::string_view value;
    const size_t eq = body.find('=');
    const bool has_value = eq != absl::string_view::npos;
    if (has_value) {
      name = body.substr(0, eq);
      value = body.substr(eq + 1);
    }
    if (IsAbslUsageFlag(name)) continue;
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    if (flag == nullptr) {
      absl::string_view negated = name;
      if (!has_value && absl::ConsumePrefix(&negated, "no")) {
        flag = absl::FindCommandLineFlag(negated);
        if (flag != nullptr && flag->IsOfType<bool>()) continue;  // --nojson
      }
      return absl::InvalidArgumentError(
          absl::StrCat("unknown flag --", name, " (see --help)"));
    }
    if (flag->IsOfType<bool>()) {
      if (!has_value) continue;
    } else if (!has_value) {
      if (i + 1 >= argc) {
        return absl::InvalidArgumentError(
            absl::StrCat("missing value for --", name));
      }
      value = argv[++i];
    }
    // Sets the flag; ParseCommandLine sets it again to the same value.
    std::string error;
    if (!flag->ParseFrom(value, &error)) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad value for --", name, ": ", error));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::Usage> ParseUsage(absl::string_view usage) {
  if (usage == "server") return v1::SERVER_AUTH;
  if (usage == "client") return v1::CLIENT_AUTH;
  return absl::InvalidArgumentError(
      absl::StrCat("--usage must be 'server' or 'client', not '", usage, "'"));
}

absl::Status ParseLabels(const std::vector<std::string>& labels,
                         google::protobuf::Map<std::string, std::string>* out) {
  for (const std::string& label : labels) {
    if (label.empty()) continue;  // A trailing comma.
    const std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(label, absl::MaxSplits('=', 1));
    if (kv.first.empty() || !absl::StrContains(label, '=')) {
      return absl::InvalidArgumentError(
          absl::StrCat("--label wants key=value, got '", label, "'"));
    }
    const std::string key(kv.first);
    if (out->count(key) > 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("--label key '", key, "' given twice"));
    }
    (*out)[key] = std::string(kv.second);
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::VerifyRequest> BuildVerifyRequest(
    const std::vector<std::string>& file_args) {
  v1::VerifyRequest request;
  // Cheap flag checks first, so a typo is reported before any file is read.
  absl::StatusOr<v1::Usage> usage = ParseUsage(absl::GetFlag(FLAGS_usage));
  if (!usage.ok()) return usage.status();
  request.set_usage(*usage);
  if (const std::string time = absl::GetFlag(FLAGS_time); !time.empty()) {
    absl::Time t;
    std::string error;
    if (!absl::ParseTime(absl::RFC3339_full, time, &t, &error)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--time '", time,
          "' is not RFC 3339 (e.g. 2024-05-01T12:00:00Z): ", error));
    }
    // ToUnixSeconds floors, so the nanoseconds come out non-negative.
    const int64_t seconds = absl::ToUnixSeconds(t);
    request.mutable_verification_time()->set_seconds(seconds);
    request.mutable_verification_time()->set_nanos(static_cast<int32_t>(
        (t - absl::FromUnixSeconds(seconds)) / absl::Nanoseconds(1)));
  }
  absl::Status labels =
      ParseLabels(absl::GetFlag(FLAGS_label), request.mutable_labels());
  if (!labels.ok()) return labels;
  const std::string connect = absl::GetFlag(FLAGS_connect);
  std::string peer_name = absl::GetFlag(FLAGS_host);
  if (connect.empty() && !absl::GetFlag(FLAGS_servername).empty()) {
    return absl::InvalidArgumentError("--servername needs --connect");
  }
  if (!connect.empty()) {
    std::string connect_host, connect_port;
    if (absl::Status s = SplitHostPort(connect, &connect_host, &connect_port);
        !s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--connect: ", s.message()));
    }
    if (peer_name.empty()) {
      peer_name = absl::GetFlag(FLAGS_servername);
      if (peer_name.empty()) peer_name = connect_host;
    }
  }
  request.set_peer_name(peer_name);
  request.set_policy(absl::GetFlag(FLAGS_policy));
  request.set_request_id(absl::GetFlag(FLAGS_request_id));

  std::vector<std::string> files;
  for (const std::string& file : absl::GetFlag(FLAGS_chain)) {
    if (!file.empty()) files.push_back(file);  // Tolerate "a.pem,,b.pem".
  }
  files.insert(files.end(), file_args.begin(), file_args.end());
  if (!connect.empty()) {
    if (!files.empty()) {
      return absl::InvalidArgumentError(
          "give either --connect or certificate files, not both");
    }
    absl::StatusOr<CapturedHandshake> captured = CaptureHandshake(
        connect, absl::GetFlag(FLAGS_servername), kConnectTimeout);
    if (!captured.ok()) {
      return absl::Status(captured.status().code(),
                          absl::StrCat("--connect ",
                                       captured.status().message()));
    }
    for (std::string& der : captured->chain_der) {
      request.add_certificates(std::move(der));
    }
    request.set_stapled_ocsp_response(std::move(captured->stapled_ocsp_der));
    return request;
  }
  if (files.empty()) {
    return absl::InvalidArgumentError(
        "no certificates: give --chain FILE[,FILE...], files after 'verify', "
        "or --connect HOST:PORT");
  }
  absl::StatusOr<std::vector<std::string>> certificates =
      ReadCertificateFiles(files);
  if (!certificates.ok()) return certificates.status();
  for (std::string& der : *certificates) {
    request.add_certificates(std::move(der));
  }
  return request;
}

absl::StatusOr<ConnectOptions> BuildConnectOptions() {
  ConnectOptions options;
  options.target = absl::GetFlag(FLAGS_server);
  if (options.target.empty()) {
    const char* env = std::getenv(kServerEnvVar);
    options.target = (env != nullptr && env[0] != '\0') ? env : kDefaultServer;
  }
  options.tls_ca_file = absl::GetFlag(FLAGS_tls_ca);
  options.tls_cert_file = absl::GetFlag(FLAGS_tls_cert);
  options.tls_key_file = absl::GetFlag(FLAGS_tls_key);
  // Client credentials without --tls_ca would silently go out in plaintext.
  if (options.tls_ca_file.empty() &&
      (!options.tls_cert_file.empty() || !options.tls_key_file.empty())) {
    return absl::InvalidArgumentError("--tls_cert and --tls_key need --tls_ca");
  }
  options.plaintext = options.tls_ca_file.empty();
  return options;
}

int RunVerify(const std::vector<std::string>& args) {
  absl::StatusOr<ConnectOptions> options = BuildConnectOptions();
  if (!options.ok()) return Fail(options.status());
  absl::StatusOr<v1::VerifyRequest> request = BuildVerifyRequest(args);
  if (!request.ok()) return Fail(request.status());
  absl::StatusOr<std::unique_ptr<ChainVerifierClient>> client =
      ChainVerifierClient::Connect(*options);
  if (!client.ok()) return Fail(client.status());
  absl::StatusOr<v1::VerifyResponse> response = (*client)->Verify(*request);
  if (!response.ok()) {
    // The code tells a refused request (INVALID_ARGUMENT, NOT_FOUND) from an
    // unreachable or failing service (UNAVAILABLE).
    return Fail(absl::StrCat(
        "verify failed: ", absl::StatusCodeToString(response.status().code()),
        ": ", response.status().message()));
  }

  if (absl::GetFlag(FLAGS_json)) {
    google::protobuf::util::JsonPrintOptions json_options;
    json_options.always_print_primitive_fields = false;
    json_options.preserve_proto_field_names = true;
    std::string json;
    const auto status = google::protobuf::util::MessageToJsonString(
        *response, &json, json_options);
    if (!status.ok()) {
      return Fail(absl::StrCat("cannot render the response as JSON: ",
                               status.ToString()));
    }
    std::cout << json << "\n";
  } else {
    std::cout << FormatVerdict(*response);
  }
  std::cout.flush();
  if (!std::cout) return Fail("cannot write the result to stdout");
  return ExitCodeFor(*response);
}

int RunTrustDiffCommand(const std::vector<std::string>& args) {
  return RunTrustDiff(args, absl::GetFlag(FLAGS_json));
}

// A subcommand is one or more words ("verify", later "audit query"); the
// positional arguments after them are passed to `run`.
struct Subcommand {
  const char* name;
  const char* summary;
  int (*run)(const std::vector<std::string>& args);
};

constexpr Subcommand kSubcommands[] = {
    {"verify", "verify a certificate chain with the chainverify service",
     RunVerify},
    {"audit verify",
     "check the hash chain of audit log files (exit 0 intact, 1 broken)",
     RunAuditVerify},
    {"audit query", "print the audit records that match the filter flags",
     RunAuditQuery},
    // After the two above, which match first: usage for a bare "audit".
    {"audit", "audit verify | audit query (see below)", RunAuditUsage},
    {"trust diff",
     "compare two sets of trust sources, e.g. the OS store and a root "
     "program's certdata.txt (exit 0 same, 1 different)",
     RunTrustDiffCommand},
    {"trust", "trust diff (see below)", RunTrustUsage},
};

std::string UsageText() {
  std::string text =
      "usage: chainverify SUBCOMMAND [flags] [args]\n"
      "\n"
      "Subcommands:\n";
  for (const Subcommand& subcommand : kSubcommands) {
    absl::StrAppend(&text, "  ", subcommand.name, ": ", subcommand.summary,
                    "\n");
  }
  absl::StrAppend(
      &text,
      "\n"
      "verify --chain FILE[,FILE...] [FILE...] [--host NAME] "
      "[--usage server|client]\n"
      "       [--policy NAME] [--time RFC3339] [--json] [--server HOST:PORT]\n"
      "       [--request_id ID] [--label k=v[,k=v...]]\n"
      "       [--tls_ca FILE [--tls_cert FILE --tls_key FILE]]\n"
      "verify --connect HOST:PORT [--servername NAME] [other flags as above]\n"
      "  Certificate files come from --chain (comma-separated) followed by "
      "the\n"
      "  arguments after 'verify', leaf first. Each is PEM (one or more\n"
      "  CERTIFICATE blocks) or DER. With --connect, the chain and stapled\n"
      "  OCSP response come from a TLS handshake with HOST:PORT (not\n"
      "  verified locally); --host defaults to --servername, else HOST.\n"
      "\n"
      "Exit status: 0 TRUSTED, 1 REJECTED, 2 error (bad flags, unreadable "
      "file,\n"
      "TLS connect or handshake failure, RPC failure).\n"
      "\n",
      AuditUsageText(), "\n", TrustUsageText());
  return text;
}

int Main(int argc, char** argv) {
  // --help lists every subcommand's flags, not only this file's (absl's
  // default): the audit and trust flags live beside their subcommands.
  absl::FlagsUsageConfig usage_config;
  usage_config.contains_help_flags = [](absl::string_view file) {
    return absl::StartsWith(file, "client/");
  };
  usage_config.contains_helpshort_flags = usage_config.contains_help_flags;
  absl::SetFlagsUsageConfig(usage_config);
  absl::SetProgramUsageMessage(
      absl::StrCat("client of the chainverify service.\n\n", UsageText()));
  if (absl::Status status = CheckFlags(argc, argv); !status.ok()) {
    return Fail(status.message());
  }
  const std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  const std::vector<std::string> words(positional.begin() + 1,
                                       positional.end());
  for (const Subcommand& subcommand : kSubcommands) {
    const std::vector<std::string> name = absl::StrSplit(subcommand.name, ' ');
    if (words.size() >= name.size() &&
        std::equal(name.begin(), name.end(), words.begin())) {
      return subcommand.run(
          std::vector<std::string>(words.begin() + name.size(), words.end()));
    }
  }
  if (words.empty()) {
    std::cerr << "chainverify: no subcommand\n";
  } else {
    std::cerr << "chainverify: unknown subcommand '" << words[0] << "'\n";
  }
  std::cerr << UsageText() << "\nFlags: chainverify --help\n";
  return kExitError;
}

}  // namespace
}  // namespace chainverify::client

int main(int argc, char** argv) {
  return chainverify::client::Main(argc, argv);
}
