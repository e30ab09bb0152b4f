#include "tests/integration/server_process.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace chainverify::testing {
namespace {

std::vector<char*> ToArgv(std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  return argv;
}

}  // namespace

std::string TestTmpPath(const std::string& name) {
  return absl::StrCat(std::getenv("TEST_TMPDIR"), "/", name);
}

void WriteTestFile(const std::string& path, const std::string& contents) {
  std::ofstream(path, std::ios::binary) << contents;
}

std::vector<std::string> ReadLines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

int64_t ResidentSetKib(pid_t pid) {
  for (const std::string& line : ReadLines(absl::StrCat("/proc/", pid, "/status"))) {
    absl::string_view value = line;
    if (!absl::ConsumePrefix(&value, "VmRSS:")) continue;
    value = absl::StripAsciiWhitespace(value);
    absl::ConsumeSuffix(&value, " kB");
    int64_t kib = -1;
    return absl::SimpleAtoi(value, &kib) ? kib : -1;
  }
  return -1;
}

std::vector<std::string> AuditLogFiles(const std::string& dir) {
  std::vector<std::string> files;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return files;
  while (dirent* e = readdir(d)) {
    if (absl::StartsWith(e->d_name, "audit.log")) files.push_back(absl::StrCat(dir, "/", e->d_name));
  }
  closedir(d);
  return files;
}

std::set<std::string> LoggedDecisionIds(const std::vector<std::string>& files) {
  const std::string kField = "\"decision_id\":\"";
  std::set<std::string> ids;
  for (const std::string& file : files) {
    std::ifstream in(file);
    std::string line;
    // getline also returns a torn final line (no '\n'): not a record.
    while (std::getline(in, line) && !in.eof()) {
      const size_t at = line.find(kField);
      if (at != std::string::npos) ids.insert(line.substr(at + kField.size(), 32));
    }
  }
  return ids;
}

std::string Runfile(const std::string& path) {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  if (srcdir == nullptr) return path;
  return absl::StrCat(srcdir, "/", workspace ? workspace : "chainverify", "/", path);
}

namespace {

// The server's first line from `fd` (a pipe), waiting at most 20 s.
std::string FirstLineFromPipe(int fd) {
  std::string line;
  pollfd pfd{fd, POLLIN, 0};
  while (line.find('\n') == std::string::npos) {
    if (poll(&pfd, 1, 20000) <= 0) break;
    char buf[256];
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n <= 0) break;
    line.append(buf, n);
  }
  return line;
}

// The first line written to `path` past `offset`, waiting at most 20 s while
// `*pid` runs (set to -1 once it has exited and been reaped).
std::string FirstLineFromFile(const std::string& path, std::streamoff offset, pid_t* pid) {
  std::string text;
  for (int i = 0; i < 1000; ++i) {
    std::ifstream in(path, std::ios::binary);
    in.seekg(offset);
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    if (text.find('\n') != std::string::npos) break;
    if (waitpid(*pid, nullptr, WNOHANG) != 0) {
      *pid = -1;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return text.substr(0, text.find('\n') + 1);
}

}  // namespace

absl::StatusOr<ServerProcess> ServerProcess::Start(const std::string& binary,
                                                   std::vector<std::string> args,
                                                   const std::string& stdout_path) {
  int out[2];
  if (pipe(out) != 0) return absl::InternalError("pipe failed");
  args.insert(args.begin(), binary);
  args.push_back("--listen=127.0.0.1:0");
  // Tests run in parallel: metrics on a port of the kernel's choosing too.
  bool has_metrics_flag = false;
  for (const std::string& a : args) has_metrics_flag |= absl::StartsWith(a, "--metrics_listen");
  if (!has_metrics_flag) args.push_back("--metrics_listen=127.0.0.1:0");
  std::streamoff offset = 0;
  if (!stdout_path.empty()) {
    std::ifstream existing(stdout_path, std::ios::binary | std::ios::ate);
    if (existing) offset = existing.tellg();
  }
  pid_t pid = fork();
  if (pid < 0) return absl::InternalError("fork failed");
  if (pid == 0) {
    const int fd = stdout_path.empty()
                       ? out[1]
                       : open(stdout_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    dup2(fd, STDOUT_FILENO);
    close(out[0]);
    close(out[1]);
    std::vector<char*> argv = ToArgv(args);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(out[1]);
  ServerProcess server;
  server.pid_ = pid;
  // The first line names the chosen ports.
  const std::string line = stdout_path.empty()
                               ? FirstLineFromPipe(out[0])
                               : FirstLineFromFile(stdout_path, offset, &server.pid_);
  close(out[0]);
  constexpr absl::string_view kPrefix = "listening on ";
  if (!absl::StartsWith(line, kPrefix)) {
    server.Stop();
    return absl::UnavailableError(absl::StrCat("server did not start: '", line, "'"));
  }
  std::string rest = line.substr(kPrefix.size());
  server.target_ = rest.substr(0, rest.find(' '));
  const std::string kMetrics = "metrics on port ";
  const size_t at = rest.find(kMetrics);
  if (at != std::string::npos) server.metrics_port_ = std::atoi(rest.c_str() + at + kMetrics.size());
  return server;
}

ServerProcess::ServerProcess(ServerProcess&& other) noexcept
    : pid_(other.pid_), target_(std::move(other.target_)), metrics_port_(other.metrics_port_) {
  other.pid_ = -1;
}

ServerProcess::~ServerProcess() { Stop(); }

int ServerProcess::Stop() {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return status;
}

HelperProcess::HelperProcess(std::vector<std::string> argv_in, int port) {
  std::vector<std::string> args = std::move(argv_in);
  pid_ = fork();
  if (pid_ == 0) {
    freopen("/dev/null", "r", stdin);
    freopen("/dev/null", "w", stdout);
    freopen("/dev/null", "w", stderr);
    std::vector<char*> argv = ToArgv(args);
    execv(argv[0], argv.data());
    _exit(127);
  }
  for (int i = 0; i < 200 && !PortListening(port); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  // A helper that exited (its port taken, say) is not what listens there.
  if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
    pid_ = -1;
    return;
  }
  listening_ = PortListening(port);
}

HelperProcess::~HelperProcess() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
}

int FreeLoopbackPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

bool PortListening(int port) {
  const std::string hex_port =
      absl::AsciiStrToUpper(absl::StrCat(":", absl::Hex(port, absl::kZeroPad4)));
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream in(table);
    for (std::string line; std::getline(in, line);) {
      // Fields: sl local_address rem_address st ...; st 0A is LISTEN.
      std::istringstream fields(line);
      std::string sl, local, remote, state;
      fields >> sl >> local >> remote >> state;
      if (state == "0A" && absl::EndsWith(local, hex_port)) return true;
    }
  }
  return false;
}

std::string HttpGet(int port, const std::string& path) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string response;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    const std::string request = absl::StrCat("GET ", path, " HTTP/1.0\r\n\r\n");
    if (write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size())) {
      char buf[4096];
      ssize_t n;
      while ((n = read(fd, buf, sizeof(buf))) > 0) response.append(buf, n);
    }
  }
  close(fd);
  return response;
}

int RunCommand(const std::vector<std::string>& argv_in, std::string* stdout_text) {
  std::vector<std::string> args = argv_in;
  int out[2];
  if (pipe(out) != 0) return -1;
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], STDOUT_FILENO);
    close(out[0]);
    close(out[1]);
    std::vector<char*> argv = ToArgv(args);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(out[1]);
  char buf[4096];
  ssize_t n;
  while ((n = read(out[0], buf, sizeof(buf))) > 0) {
    if (stdout_text != nullptr) stdout_text->append(buf, n);
  }
  close(out[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace chainverify::testing
