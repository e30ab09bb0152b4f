#include "server/pki/file_util.h"

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace chainverify::pki {

absl::StatusOr<std::string> ReadFileToString(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

}  // namespace chainverify::pki
