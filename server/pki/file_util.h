// Reading whole files, for the few places that load policy, PEM and CRL files.
#ifndef CHAINVERIFY_SERVER_PKI_FILE_UTIL_H_
#define CHAINVERIFY_SERVER_PKI_FILE_UTIL_H_

#include <string>

#include "absl/status/statusor.h"

namespace chainverify::pki {

// The contents of `path`; NOT_FOUND ("cannot open PATH") when it cannot be opened.
absl::StatusOr<std::string> ReadFileToString(const std::string& path);

}  // namespace chainverify::pki

#endif  // CHAINVERIFY_SERVER_PKI_FILE_UTIL_H_
