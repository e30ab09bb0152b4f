// Structured logs: one JSON object per line on stderr, so a cluster's log
// pipeline can index events by name instead of parsing prose.
//
//   LogEvent(LogLevel::kWarning, "policy_reload_refused",
//            {{"path", path}, {"error", message}});
// writes
//   {"time":"2026-11-27T02:30:00.123Z","level":"warning","event":"policy_reload_refused","path":"...","error":"..."}
#ifndef CHAINVERIFY_SERVER_LOGGING_LOG_H_
#define CHAINVERIFY_SERVER_LOGGING_LOG_H_

#include <initializer_list>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"

namespace chainverify::logging {

enum class LogLevel { kInfo, kWarning, kError };

using LogField = std::pair<absl::string_view, std::string>;

void LogEvent(LogLevel level, absl::string_view event, std::initializer_list<LogField> fields);

// The JSON line LogEvent writes (without the newline), for tests.
std::string FormatLogEvent(LogLevel level, absl::string_view event,
                           std::initializer_list<LogField> fields, absl::string_view time);

}  // namespace chainverify::logging

#endif  // CHAINVERIFY_SERVER_LOGGING_LOG_H_
