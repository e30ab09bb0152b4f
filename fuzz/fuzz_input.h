// Helpers shared by the fuzz targets: splitting one input into several byte
// strings, so one target can take a chain, a CRL and its issuer, and so on.
#ifndef CHAINVERIFY_FUZZ_FUZZ_INPUT_H_
#define CHAINVERIFY_FUZZ_FUZZ_INPUT_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace chainverify::fuzz {

// Splits `data` into at most `max_parts` parts, each encoded as a 2-byte
// big-endian length followed by that many bytes. A part whose length runs past
// the end takes what is left. The seed writer (seed_corpus.cc) uses JoinParts.
std::vector<std::string> SplitParts(absl::string_view data, size_t max_parts);

// The inverse of SplitParts for parts of at most 65535 bytes.
std::string JoinParts(const std::vector<std::string>& parts);

}  // namespace chainverify::fuzz

#endif  // CHAINVERIFY_FUZZ_FUZZ_INPUT_H_
