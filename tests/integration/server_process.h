// Runs the real chainverifyd binary for integration tests: started on a
// loopback port chosen by the kernel (port 0), stopped with SIGTERM.
#ifndef CHAINVERIFY_TESTS_INTEGRATION_SERVER_PROCESS_H_
#define CHAINVERIFY_TESTS_INTEGRATION_SERVER_PROCESS_H_

#include <sys/types.h>

#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace chainverify::testing {

class ServerProcess {
 public:
  // Starts `binary` with `args` plus --listen=127.0.0.1:0 and waits for its
  // "listening on" line. With `stdout_path`, the server's whole stdout is
  // appended to that file (e.g. for --audit_stdout); otherwise only that
  // first line is read.
  static absl::StatusOr<ServerProcess> Start(const std::string& binary,
                                             std::vector<std::string> args,
                                             const std::string& stdout_path = "");
  ServerProcess(ServerProcess&& other) noexcept;
  ~ServerProcess();

  const std::string& target() const { return target_; }
  // The /metrics port, or 0.
  int metrics_port() const { return metrics_port_; }
  // The server's process id, e.g. to send it SIGHUP; -1 once stopped.
  pid_t pid() const { return pid_; }
  // Sends SIGTERM and returns the exit status (as from waitpid), or -1.
  int Stop();

 private:
  ServerProcess() = default;
  pid_t pid_ = -1;
  std::string target_;
  int metrics_port_ = 0;
};

// A helper process (an OCSP responder, an HTTP or TLS server) started for a
// test and killed with SIGKILL when it goes out of scope. Stdio goes to
// /dev/null.
class HelperProcess {
 public:
  // Starts argv (argv[0] an absolute path) and waits up to 10 s for something
  // to listen on `port` (see PortListening); listening() is false when the
  // helper has exited by then.
  HelperProcess(std::vector<std::string> argv, int port);
  ~HelperProcess();
  HelperProcess(const HelperProcess&) = delete;
  HelperProcess& operator=(const HelperProcess&) = delete;
  bool listening() const { return listening_; }

 private:
  pid_t pid_ = -1;
  bool listening_ = false;
};

// A loopback TCP port that was free a moment ago.
int FreeLoopbackPort();

// Whether something listens on `port`, read from /proc/net/tcp{,6} rather than
// by connecting: `openssl ocsp` and `openssl s_server` serve one connection at
// a time and stall on a probe that connects and sends nothing.
bool PortListening(int port);

// The whole HTTP/1.0 response to GET `path` on 127.0.0.1:`port`, or "".
std::string HttpGet(int port, const std::string& path);

// `name` inside the test's private temporary directory ($TEST_TMPDIR).
std::string TestTmpPath(const std::string& name);

// Writes `contents` to `path` (binary), replacing it.
void WriteTestFile(const std::string& path, const std::string& contents);

// The lines of a text file, without their newlines.
std::vector<std::string> ReadLines(const std::string& path);

// Resident set of process `pid` in KiB (VmRSS in /proc/<pid>/status), or -1
// when it cannot be read.
int64_t ResidentSetKib(pid_t pid);

// The audit log `dir`/audit.log and its rotated files (audit.log.*), in
// directory order.
std::vector<std::string> AuditLogFiles(const std::string& dir);

// The decision ids of the complete records (lines ending in '\n') in `files`.
std::set<std::string> LoggedDecisionIds(const std::vector<std::string>& files);

// Path of a runfile, e.g. "server/chainverifyd".
std::string Runfile(const std::string& path);

// Runs a command to completion; returns its exit code and captures stdout.
int RunCommand(const std::vector<std::string>& argv, std::string* stdout_text);

}  // namespace chainverify::testing

#endif  // CHAINVERIFY_TESTS_INTEGRATION_SERVER_PROCESS_H_
