#include "tests/testutil/shared_data.h"

#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace chainverify::testing {

std::string LocateSharedFile(const char* env_var, const std::string& relative_path,
                             std::string* why) {
  if (const char* env = std::getenv(env_var); env != nullptr && *env) {
    if (access(env, R_OK) != 0) {
      *why = absl::StrCat("$", env_var, "=", env, " does not exist or is unreadable");
      return "";
    }
    return env;
  }
  // shared_data.h is a data dependency of this library, so the runfiles tree
  // holds a symlink to the source file: its target tells where the checkout is.
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  if (srcdir == nullptr || workspace == nullptr) {
    *why = absl::StrCat("not running under bazel test (no TEST_SRCDIR) and $", env_var,
                        " is unset");
    return "";
  }
  constexpr char kMarker[] = "/tests/testutil/shared_data.h";
  const std::string link = absl::StrCat(srcdir, "/", workspace, kMarker);
  char real[PATH_MAX];
  if (realpath(link.c_str(), real) == nullptr || !absl::EndsWith(real, kMarker)) {
    *why = absl::StrCat("cannot resolve ", link, " to the source tree");
    return "";
  }
  const std::string path =
      absl::StrCat(absl::StripSuffix(real, kMarker), "/../", relative_path);
  if (access(path.c_str(), R_OK) != 0) {
    *why = absl::StrCat(path, " does not exist or is unreadable (set $", env_var, ")");
    return "";
  }
  return path;
}

std::string LocateMozillaCertdata(std::string* why) {
  return LocateSharedFile("CHAINVERIFY_CERTDATA", "shared/trust-data/mozilla/certdata.txt", why);
}

}  // namespace chainverify::testing
