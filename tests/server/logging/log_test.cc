#include "server/logging/log.h"

#include "gtest/gtest.h"

namespace chainverify::logging {
namespace {

TEST(LogTest, FormatsOneJsonObjectWithEscapedFields) {
  EXPECT_EQ(FormatLogEvent(LogLevel::kWarning, "policy_reload_refused",
                           {{"path", "/etc/p.textproto"}, {"error", "line 3: \"x\"\n\tbad\x01"}},
                           "2026-11-27T00:00:00.000Z"),
            R"({"time":"2026-11-27T00:00:00.000Z","level":"warning","event":"policy_reload_refused",)"
            R"("path":"/etc/p.textproto","error":"line 3: \"x\"\n\tbad\u0001"})");
  EXPECT_EQ(FormatLogEvent(LogLevel::kError, "e", {}, "t"),
            R"({"time":"t","level":"error","event":"e"})");
}

}  // namespace
}  // namespace chainverify::logging
