#include "tests/conformance/limbo_suite.h"

#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"

namespace chainverify::conformance {
namespace {

struct GzCloser {
  void operator()(gzFile f) const { gzclose(f); }
};

}  // namespace

absl::StatusOr<std::string> ReadMaybeGzipped(const std::string& path) {
  // zlib reads non-gzip input transparently, which is what lets one code path
  // accept both plain and compressed suites.
  gzFile raw = nullptr;
  if (path == "-") {
    // gzclose closes the descriptor it was given; stdin must stay open for
    // whoever else owns it.
    int fd = dup(STDIN_FILENO);
    if (fd < 0) {
      return absl::InternalError(
          absl::StrCat("dup(stdin): ", std::strerror(errno)));
    }
    raw = gzdopen(fd, "rb");
    if (raw == nullptr) close(fd);
  } else {
    raw = gzopen(path.c_str(), "rb");
  }
  if (raw == nullptr) {
    return absl::NotFoundError(absl::StrCat("cannot open ",
                                            path == "-" ? "stdin" : path, ": ",
                                            std::strerror(errno)));
  }
  std::unique_ptr<gzFile_s, GzCloser> file(raw);
  std::string contents;
  char buffer[1 << 16];
  for (;;) {
    int n = gzread(file.get(), buffer, sizeof(buffer));
    if (n < 0) {
      int code = 0;
      const char* message = gzerror(file.get(), &code);
      return absl::DataLossError(absl::StrCat("reading ", path, ": ", message));
    }
    if (n == 0) break;
    contents.append(buffer, n);
  }
  return contents;
}

absl::StatusOr<Limbo> ParseSuite(absl::string_view json) {
  Limbo suite;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), &suite, options);
  if (!status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("suite JSON: ", status.ToString()));
  }
  if (suite.version() != kSuiteVersion) {
    return absl::InvalidArgumentError(
        absl::StrCat("suite schema version ", suite.version(),
                     ", this harness reads version ", kSuiteVersion));
  }
  return suite;
}

absl::StatusOr<Limbo> LoadSuite(const std::string& path) {
  absl::StatusOr<std::string> json = ReadMaybeGzipped(path);
  if (!json.ok()) return json.status();
  return ParseSuite(*json);
}

absl::string_view Namespace(absl::string_view id) {
  size_t colons = id.find("::");
  return colons == absl::string_view::npos ? id : id.substr(0, colons);
}

}  // namespace chainverify::conformance
