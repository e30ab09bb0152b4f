#include "fuzz/fuzz_input.h"

#include <algorithm>

namespace chainverify::fuzz {

std::vector<std::string> SplitParts(absl::string_view data, size_t max_parts) {
  std::vector<std::string> parts;
  while (data.size() >= 2 && parts.size() < max_parts) {
    const size_t length =
        (static_cast<size_t>(static_cast<uint8_t>(data[0])) << 8) |
        static_cast<uint8_t>(data[1]);
    data.remove_prefix(2);
    const size_t take = std::min(length, data.size());
    parts.emplace_back(data.substr(0, take));
    data.remove_prefix(take);
  }
  return parts;
}

std::string JoinParts(const std::vector<std::string>& parts) {
  std::string out;
  for (const std::string& part : parts) {
    const size_t length = std::min<size_t>(part.size(), 0xffff);
    out.push_back(static_cast<char>(length >> 8));
    out.push_back(static_cast<char>(length & 0xff));
    out.append(part, 0, length);
  }
  return out;
}

}  // namespace chainverify::fuzz
