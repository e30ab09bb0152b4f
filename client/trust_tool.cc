#include "client/trust_tool.h"

#include <google/protobuf/util/json_util.h>

#include <iostream>
#include <memory>
#include <utility>

#include "absl/flags/flag.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "server/pki/certificate_details.h"
#include "server/pki/openssl_util.h"
#include "server/pki/trust_diff.h"
#include "server/pki/trust_store.h"
#include "server/policy/trust_sources.h"

ABSL_FLAG(absl::Duration, expiring_within, absl::Hours(24 * 90),
          "trust diff: list anchors whose notAfter is within this span of --at "
          "(e.g. 2160h, 90 days).");
ABSL_FLAG(std::string, at, "",
          "trust diff: the RFC 3339 instant --expiring_within counts from. Default: now.");

namespace chainverify::client {
namespace {

int UsageError(absl::string_view message) {
  std::cerr << "chainverify: " << absl::StrReplaceAll(message, {{"\n", " "}}) << "\n";
  return kTrustError;
}

void SetTimestamp(absl::Time t, google::protobuf::Timestamp* ts) {
  const int64_t seconds = absl::ToUnixSeconds(t);
  ts->set_seconds(seconds);
  ts->set_nanos(0);
}

std::string FormatTime(const google::protobuf::Timestamp& ts) {
  return absl::FormatTime("%Y-%m-%d", absl::FromUnixSeconds(ts.seconds()), absl::UTCTimeZone());
}

absl::StatusOr<std::unique_ptr<pki::TrustStore>> Load(const std::vector<v1::TrustStore>& side) {
  auto store = std::make_unique<pki::TrustStore>();
  for (const v1::TrustStore& source : side) {
    absl::StatusOr<pki::LoadedTrustSource> loaded = policy::LoadTrustSource(source, "");
    if (!loaded.ok()) return loaded.status();
    store->AddSource(*loaded);
  }
  return store;
}

std::string Trust(const pki::TrustAnchor* entry, bool server) {
  if (entry == nullptr) return "absent";
  return (server ? entry->server_auth : entry->client_auth).Describe();
}

v1::TrustDiff::Entry ToProto(const pki::TrustDiffEntry& e) {
  v1::TrustDiff::Entry out;
  const pki::Certificate& cert = *e.any().certificate;
  out.set_subject(pki::NameToString(cert.subject()));
  out.set_sha256(pki::HexEncode(cert.sha256()));
  SetTimestamp(cert.not_after(), out.mutable_not_after());
  for (const pki::TrustAnchor* side : {e.old_entry, e.new_entry}) {
    if (side == nullptr) continue;
    for (const pki::AnchorOrigin& origin : side->origins) {
      if (out.label().empty() && pki::IsValidUtf8(origin.label)) out.set_label(origin.label);
    }
  }
  out.set_old_server_auth(Trust(e.old_entry, true));
  out.set_old_client_auth(Trust(e.old_entry, false));
  out.set_new_server_auth(Trust(e.new_entry, true));
  out.set_new_client_auth(Trust(e.new_entry, false));
  return out;
}

std::string SideText(const google::protobuf::RepeatedPtrField<v1::TrustSource>& sources) {
  std::vector<std::string> names;
  for (const v1::TrustSource& s : sources) {
    std::string kind = v1::TrustSource::Kind_Name(s.kind());
    for (char& c : kind) c = static_cast<char>(std::tolower(c));
    names.push_back(absl::StrCat(kind, ":", s.path()));
  }
  return absl::StrJoin(names, " + ");
}

std::string Usages(absl::string_view server, absl::string_view client) {
  if (server == "absent") return "absent";
  if (server == client) return absl::StrCat("server_auth and client_auth ", server);
  return absl::StrCat("server_auth ", server, "; client_auth ", client);
}

void AppendSection(const std::string& title,
                   const google::protobuf::RepeatedPtrField<v1::TrustDiff::Entry>& entries,
                   bool show_old, bool show_new, std::string* out) {
  absl::StrAppend(out, "\n", title, " (", entries.size(), ")", entries.empty() ? "" : ":", "\n");
  for (const v1::TrustDiff::Entry& e : entries) {
    absl::StrAppend(out, "  ", e.label().empty() ? e.subject() : absl::StrCat("\"", e.label(), "\""),
                    "  notAfter ", FormatTime(e.not_after()), "\n");
    if (!e.label().empty()) absl::StrAppend(out, "      subject ", e.subject(), "\n");
    absl::StrAppend(out, "      sha256 ", e.sha256(), "\n");
    if (show_old) {
      absl::StrAppend(out, "      OLD: ", Usages(e.old_server_auth(), e.old_client_auth()), "\n");
    }
    if (show_new) {
      absl::StrAppend(out, "      NEW: ", Usages(e.new_server_auth(), e.new_client_auth()), "\n");
    }
  }
}

}  // namespace

absl::StatusOr<std::vector<v1::TrustStore>> ParseTrustSources(const std::string& spec) {
  std::vector<v1::TrustStore> out;
  for (absl::string_view part : absl::StrSplit(spec, '+')) {
    v1::TrustStore source;
    const size_t colon = part.find(':');
    const absl::string_view kind = part.substr(0, colon);
    const std::string path =
        colon == absl::string_view::npos ? "" : std::string(part.substr(colon + 1));
    if (kind == "system" && colon == absl::string_view::npos) {
      source.set_system(true);
    } else if (kind == "pem_file" && !path.empty()) {
      source.set_pem_file(path);
    } else if (kind == "pem_directory" && !path.empty()) {
      source.set_pem_directory(path);
    } else if (kind == "mozilla_certdata" && !path.empty()) {
      source.set_mozilla_certdata(path);
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "trust source '", part, "' is not system, pem_file:PATH, pem_directory:PATH or "
          "mozilla_certdata:PATH"));
    }
    out.push_back(std::move(source));
  }
  return out;
}

absl::StatusOr<v1::TrustDiff> DiffTrustSources(const std::vector<v1::TrustStore>& old_side,
                                               const std::vector<v1::TrustStore>& new_side,
                                               absl::Time expiring_before) {
  absl::StatusOr<std::unique_ptr<pki::TrustStore>> old_store = Load(old_side);
  if (!old_store.ok()) return old_store.status();
  absl::StatusOr<std::unique_ptr<pki::TrustStore>> new_store = Load(new_side);
  if (!new_store.ok()) return new_store.status();
  const pki::TrustDiffResult diff =
      pki::DiffTrustStores(**old_store, **new_store, expiring_before);
  v1::TrustDiff out;
  for (const auto& source : (*old_store)->sources()) {
    pki::DescribeTrustSource(source->source, "", out.add_old_sources());
  }
  for (const auto& source : (*new_store)->sources()) {
    pki::DescribeTrustSource(source->source, "", out.add_new_sources());
  }
  out.set_old_anchors(static_cast<int32_t>(diff.old_anchors));
  out.set_new_anchors(static_cast<int32_t>(diff.new_anchors));
  out.set_common_anchors(static_cast<int32_t>(diff.common_anchors));
  for (const auto& e : diff.only_in_old) *out.add_only_in_old() = ToProto(e);
  for (const auto& e : diff.only_in_new) *out.add_only_in_new() = ToProto(e);
  for (const auto& e : diff.constraints_differ) *out.add_constraints_differ() = ToProto(e);
  for (const auto& e : diff.expiring) *out.add_expiring() = ToProto(e);
  SetTimestamp(expiring_before, out.mutable_expiring_before());
  return out;
}

std::string FormatTrustDiff(const v1::TrustDiff& diff) {
  std::string out;
  absl::StrAppend(&out, "OLD: ", SideText(diff.old_sources()), " (", diff.old_anchors(),
                  " anchors)\n", "NEW: ", SideText(diff.new_sources()), " (", diff.new_anchors(),
                  " anchors)\n", "Anchors in both: ", diff.common_anchors(), "\n");
  AppendSection("Only in OLD: anchors that NEW does not hold or does not trust",
                diff.only_in_old(), false, true, &out);
  AppendSection("Only in NEW: anchors that OLD does not hold or does not trust",
                diff.only_in_new(), true, false, &out);
  AppendSection("Constraints differ: anchors of both whose usages or distrust-after differ",
                diff.constraints_differ(), true, true, &out);
  AppendSection(absl::StrCat("Expiring before ", FormatTime(diff.expiring_before()),
                             " (either side)"),
                diff.expiring(), false, false, &out);
  return out;
}

std::string TrustUsageText() {
  return "trust diff OLD NEW [--json] [--expiring_within=DURATION] [--at=RFC3339]\n"
         "  OLD and NEW: system, pem_file:PATH, pem_directory:PATH or\n"
         "  mozilla_certdata:PATH, several joined with '+'. Lists anchors only in\n"
         "  one side, anchors whose usages or distrust-after dates differ, and\n"
         "  anchors expiring soon. Exit status: 0 same anchors and constraints,\n"
         "  1 different, 2 error.";
}

int RunTrustUsage(const std::vector<std::string>& /*args*/) {
  std::cerr << "usage: chainverify " << TrustUsageText() << "\n";
  return kTrustError;
}

int RunTrustDiff(const std::vector<std::string>& args, bool json) {
  if (args.size() != 2) {
    return UsageError(absl::StrCat("trust diff wants two trust sources, OLD and NEW; got ",
                                   args.size(), " (see chainverify --help)"));
  }
  absl::Time at = absl::Now();
  if (const std::string text = absl::GetFlag(FLAGS_at); !text.empty()) {
    std::string error;
    if (!absl::ParseTime(absl::RFC3339_full, text, &at, &error)) {
      return UsageError(absl::StrCat("--at '", text, "' is not RFC 3339: ", error));
    }
  }
  absl::StatusOr<std::vector<v1::TrustStore>> old_side = ParseTrustSources(args[0]);
  if (!old_side.ok()) return UsageError(old_side.status().message());
  absl::StatusOr<std::vector<v1::TrustStore>> new_side = ParseTrustSources(args[1]);
  if (!new_side.ok()) return UsageError(new_side.status().message());
  absl::StatusOr<v1::TrustDiff> diff =
      DiffTrustSources(*old_side, *new_side, at + absl::GetFlag(FLAGS_expiring_within));
  if (!diff.ok()) return UsageError(diff.status().message());
  if (json) {
    google::protobuf::util::JsonPrintOptions options;
    options.preserve_proto_field_names = true;
    options.always_print_primitive_fields = true;
    std::string text;
    if (!google::protobuf::util::MessageToJsonString(*diff, &text, options).ok()) {
      return UsageError("cannot render the diff as JSON");
    }
    std::cout << text << "\n";
  } else {
    std::cout << FormatTrustDiff(*diff);
  }
  std::cout.flush();
  if (!std::cout) return UsageError("cannot write the result to stdout");
  const bool same = diff->only_in_old().empty() && diff->only_in_new().empty() &&
                    diff->constraints_differ().empty();
  return same ? kTrustSame : kTrustDifferent;
}

}  // namespace chainverify::client
