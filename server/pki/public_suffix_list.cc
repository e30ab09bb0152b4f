#include "server/pki/public_suffix_list.h"

#include <cstdint>
#include <fstream>
#include <sstream>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace chainverify::pki {
namespace {

// Decodes strict UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing
// above U+10FFFF). False on invalid input.
bool DecodeUtf8(absl::string_view in, std::vector<uint32_t>* out) {
  out->clear();
  size_t i = 0;
  while (i < in.size()) {
    const uint8_t b0 = static_cast<uint8_t>(in[i]);
    if (b0 < 0x80) {
      out->push_back(b0);
      ++i;
      continue;
    }
    int extra;  // continuation bytes
    uint32_t min;  // smallest code point of that length (no overlong forms)
    if ((b0 & 0xe0) == 0xc0) {
      extra = 1;
      min = 0x80;
    } else if ((b0 & 0xf0) == 0xe0) {
      extra = 2;
      min = 0x800;
    } else if ((b0 & 0xf8) == 0xf0) {
      extra = 3;
      min = 0x10000;
    } else {
      return false;
    }
    uint32_t cp = b0 & (0x3f >> extra);
    if (in.size() - i <= static_cast<size_t>(extra)) return false;
    for (int k = 1; k <= extra; ++k) {
      const uint8_t b = static_cast<uint8_t>(in[i + k]);
      if ((b & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (b & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      return false;
    }
    out->push_back(cp);
    i += extra + 1;
  }
  return true;
}

// RFC 3492 section 5 parameters.
constexpr uint32_t kBase = 36;
constexpr uint32_t kTMin = 1;
constexpr uint32_t kTMax = 26;
constexpr uint32_t kSkew = 38;
constexpr uint32_t kDamp = 700;
constexpr uint32_t kInitialBias = 72;
constexpr uint32_t kInitialN = 0x80;

// RFC 3492 section 6.1.
uint32_t Adapt(uint32_t delta, uint32_t num_points, bool first_time) {
  delta = first_time ? delta / kDamp : delta / 2;
  delta += delta / num_points;
  uint32_t k = 0;
  while (delta > ((kBase - kTMin) * kTMax) / 2) {
    delta /= kBase - kTMin;
    k += kBase;
  }
  return k + (((kBase - kTMin + 1) * delta) / (delta + kSkew));
}

char EncodeDigit(uint32_t d) {
  return static_cast<char>(d < 26 ? 'a' + d : '0' + (d - 26));
}

// RFC 3492 section 6.3, for one label's code points. False on overflow.
bool PunycodeEncode(const std::vector<uint32_t>& input, std::string* out) {
  for (uint32_t c : input) {
    if (c < 0x80) out->push_back(static_cast<char>(c));
  }
  const uint32_t basic = static_cast<uint32_t>(out->size());
  uint32_t handled = basic;
  if (basic > 0) out->push_back('-');
  uint32_t n = kInitialN;
  uint32_t delta = 0;
  uint32_t bias = kInitialBias;
  while (handled < input.size()) {
    uint32_t m = UINT32_MAX;
    for (uint32_t c : input) {
      if (c >= n && c < m) m = c;
    }
    if (m - n > (UINT32_MAX - delta) / (handled + 1)) return false;
    delta += (m - n) * (handled + 1);
    n = m;
    for (uint32_t c : input) {
      if (c < n && ++delta == 0) return false;
      if (c != n) continue;
      uint32_t q = delta;
      for (uint32_t k = kBase;; k += kBase) {
        const uint32_t t =
            k <= bias ? kTMin : (k >= bias + kTMax ? kTMax : k - bias);
        if (q < t) break;
        out->push_back(EncodeDigit(t + (q - t) % (kBase - t)));
        q = (q - t) / (kBase - t);
      }
      out->push_back(EncodeDigit(q));
      bias = Adapt(delta, handled + 1, handled == basic);
      delta = 0;
      ++handled;
    }
    ++delta;
    ++n;
  }
  return true;
}

// "a.b.c" -> "b.c"; "c" -> "".
absl::string_view Parent(absl::string_view domain) {
  const size_t dot = domain.find('.');
  return dot == absl::string_view::npos ? absl::string_view()
                                        : domain.substr(dot + 1);
}

absl::string_view LastLabel(absl::string_view domain) {
  const size_t dot = domain.rfind('.');
  return dot == absl::string_view::npos ? domain : domain.substr(dot + 1);
}

}  // namespace

std::optional<std::string> DomainToAscii(absl::string_view utf8_domain) {
  std::string out;
  std::vector<uint32_t> code_points;
  bool first = true;
  for (absl::string_view label : absl::StrSplit(utf8_domain, '.')) {
    if (!first) out.push_back('.');
    first = false;
    if (!DecodeUtf8(label, &code_points)) return std::nullopt;
    bool ascii = true;
    for (uint32_t& c : code_points) {
      if (c >= 0x80) {
        ascii = false;
      } else if (c >= 'A' && c <= 'Z') {
        c += 'a' - 'A';
      }
    }
    if (ascii) {
      absl::StrAppend(&out, absl::AsciiStrToLower(label));
      continue;
    }
    std::string encoded;
    if (!PunycodeEncode(code_points, &encoded)) return std::nullopt;
    absl::StrAppend(&out, "xn--", encoded);
  }
  return out;
}

absl::StatusOr<std::shared_ptr<const PublicSuffixList>> PublicSuffixList::Parse(
    absl::string_view text) {
  std::shared_ptr<PublicSuffixList> list(new PublicSuffixList());
  Section section = Section::kIcann;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty()) continue;
    if (absl::StartsWith(line, "//")) {
      if (absl::StrContains(line, "===BEGIN PRIVATE DOMAINS===")) {
        section = Section::kPrivate;
      } else if (absl::StrContains(line, "===BEGIN ICANN DOMAINS===")) {
        section = Section::kIcann;
      }
      continue;
    }
    // Only the text up to the first whitespace is the rule.
    const size_t space = line.find_first_of(" \t\r");
    if (space != absl::string_view::npos) line = line.substr(0, space);

    const bool exception = absl::ConsumePrefix(&line, "!");
    const bool wildcard = !exception && absl::ConsumePrefix(&line, "*.");
    const auto bad_rule = [&](absl::string_view why) {
      return absl::InvalidArgumentError(absl::StrCat(
          "public suffix list line ", line_number, ": ", why));
    };
    if (line.empty()) return bad_rule("empty rule");
    for (absl::string_view label : absl::StrSplit(line, '.')) {
      if (label.empty()) return bad_rule("empty label");
      if (absl::StrContains(label, '*')) {
        return bad_rule("'*' is allowed only as a whole left-most label");
      }
    }
    if (exception && !absl::StrContains(line, '.')) {
      return bad_rule("an exception rule needs at least two labels");
    }
    std::optional<std::string> ascii = DomainToAscii(line);
    if (!ascii.has_value()) return bad_rule("invalid UTF-8");

    if (section == Section::kIcann) {
      list->icann_tlds_.insert(std::string(LastLabel(*ascii)));
    }
    // A rule listed twice keeps its first (ICANN-first) section.
    if (exception) {
      list->exception_.insert(*std::move(ascii));
    } else if (wildcard) {
      list->wildcard_.emplace(*std::move(ascii), section);
    } else {
      list->exact_.emplace(*std::move(ascii), section);
    }
  }
  if (list->size() == 0) {
    return absl::InvalidArgumentError("public suffix list holds no rule");
  }
  return std::shared_ptr<const PublicSuffixList>(std::move(list));
}

absl::StatusOr<std::shared_ptr<const PublicSuffixList>> PublicSuffixList::Load(
    const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("cannot open ", path));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    return absl::DataLossError(absl::StrCat("cannot read ", path));
  }
  absl::StatusOr<std::shared_ptr<const PublicSuffixList>> list =
      Parse(text.str());
  if (!list.ok()) {
    return absl::Status(list.status().code(),
                        absl::StrCat(path, ": ", list.status().message()));
  }
  return list;
}

const PublicSuffixList* PublicSuffixList::Default() {
  // Function-local static: initialized once, thread-safe (C++11 6.7), and
  // never destroyed, so pointers handed out stay valid at exit. The static
  // holds the heap shared_ptr itself, not only what it points to, so that the
  // allocation stays reachable (LeakSanitizer reported it as a leak when only
  // the list's address was kept).
  static const std::shared_ptr<const PublicSuffixList>* const holder =
      []() -> const std::shared_ptr<const PublicSuffixList>* {
    absl::StatusOr<std::shared_ptr<const PublicSuffixList>> loaded =
        Load(kDefaultPath);
    if (!loaded.ok()) return nullptr;
    return new std::shared_ptr<const PublicSuffixList>(*std::move(loaded));
  }();
  return holder != nullptr ? holder->get() : nullptr;
}

std::optional<PublicSuffixList::Section> PublicSuffixList::PublicSuffixSection(
    absl::string_view domain) const {
  if (domain.empty()) return std::nullopt;
  const std::string name = absl::AsciiStrToLower(domain);
  for (absl::string_view label : absl::StrSplit(name, '.')) {
    if (label.empty()) return std::nullopt;
  }
  // An exception rule matching the name or one of its ancestors makes the
  // public suffix that rule minus its left-most label: shorter than `name`.
  for (absl::string_view s = name; !s.empty(); s = Parent(s)) {
    if (exception_.contains(s)) return std::nullopt;
  }
  if (auto it = exact_.find(name); it != exact_.end()) return it->second;
  const absl::string_view parent = Parent(name);
  if (parent.empty()) return Section::kIcann;  // the implicit rule "*"
  if (auto it = wildcard_.find(parent); it != wildcard_.end()) {
    return it->second;
  }
  return std::nullopt;
}

bool PublicSuffixList::IsIcannTld(absl::string_view label) const {
  return icann_tlds_.contains(absl::AsciiStrToLower(label));
}

}  // namespace chainverify::pki
