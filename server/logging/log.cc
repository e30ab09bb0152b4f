#include "server/logging/log.h"

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace chainverify::logging {
namespace {

// JSON string escaping (RFC 8259 section 7).
void AppendJsonString(absl::string_view text, std::string* out) {
  out->push_back('"');
  for (unsigned char c : text) {
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      default:
        if (c < 0x20) {
          absl::StrAppendFormat(out, "\\u%04x", c);
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
  }
  out->push_back('"');
}

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarning: return "warning";
    default: return "error";
  }
}

}  // namespace

std::string FormatLogEvent(LogLevel level, absl::string_view event,
                           std::initializer_list<LogField> fields, absl::string_view time) {
  std::string line = "{\"time\":";
  AppendJsonString(time, &line);
  absl::StrAppend(&line, ",\"level\":\"", LevelName(level), "\",\"event\":");
  AppendJsonString(event, &line);
  for (const LogField& field : fields) {
    line.push_back(',');
    AppendJsonString(field.first, &line);
    line.push_back(':');
    AppendJsonString(field.second, &line);
  }
  line.push_back('}');
  return line;
}

void LogEvent(LogLevel level, absl::string_view event, std::initializer_list<LogField> fields) {
  const std::string line =
      FormatLogEvent(level, event, fields,
                     absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone())) +
      "\n";
  // One write per line, so concurrent events do not interleave.
  std::fwrite(line.data(), 1, line.size(), stderr);
}

}  // namespace chainverify::logging
