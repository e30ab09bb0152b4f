// Data files the project reads from ../shared (beside the checkout) and never
// copies in: the x509-limbo suite, Mozilla's certdata.txt.
#ifndef CHAINVERIFY_TESTS_TESTUTIL_SHARED_DATA_H_
#define CHAINVERIFY_TESTS_TESTUTIL_SHARED_DATA_H_

#include <string>

namespace chainverify::testing {

// The file named by the environment variable `env_var` when set and
// non-empty; else `relative_path` under the directory that holds the source
// checkout (e.g. "shared/trust-data/mozilla/certdata.txt"), found by following
// this library's runfiles symlink back to the source tree. "" when neither
// exists, with `why` saying where it looked.
std::string LocateSharedFile(const char* env_var, const std::string& relative_path,
                             std::string* why);

// $CHAINVERIFY_CERTDATA, else ../shared/trust-data/mozilla/certdata.txt.
std::string LocateMozillaCertdata(std::string* why);

}  // namespace chainverify::testing

#endif  // CHAINVERIFY_TESTS_TESTUTIL_SHARED_DATA_H_
