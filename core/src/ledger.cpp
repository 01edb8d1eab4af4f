#include "sigma/core/ledger.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

#include "sigma/core/error.hpp"

namespace sigma {
namespace {

std::string now_rfc3339() {
  auto now = std::chrono::system_clock::now();
  auto micros = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
  std::time_t seconds = static_cast<std::time_t>(micros / 1'000'000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char date[32];
  std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &utc);
  return fmt::format("{}.{:06d}Z", date, static_cast<int>(micros % 1'000'000));
}

std::string env_or(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  return value && *value ? value : fallback;
}

std::string this_host() {
  char name[256] = {};
  gethostname(name, sizeof name - 1);
  // On a node of a multi-node-per-host test cluster the Slurm node name is the meaningful one.
  return env_or("SIGMA_NODE_NAME", env_or("SLURMD_NODENAME", name));
}

void fill_defaults(Event& e) {
  if (e.time.empty()) e.time = now_rfc3339();
  if (e.host.empty()) e.host = this_host();
  if (e.job_id.empty()) e.job_id = env_or("SLURM_JOB_ID", "");
  if (e.step_id.empty()) e.step_id = env_or("SLURM_STEP_ID", "");
}

std::string to_line(const Event& e) {
  nlohmann::json line = {{"time", e.time},     {"host", e.host},       {"job_id", e.job_id}, {"step", e.step_id},
                         {"component", e.component}, {"event", e.event}, {"details", e.details}};
  // replace: a non-UTF-8 byte in a log excerpt must not lose the whole event.
  return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

[[noreturn]] void io_failure(const std::string& path, const char* what) {
  throw Error(ExitCode::internal, fmt::format("{}: cannot {} event ledger: {}", path, what, std::strerror(errno)));
}

// Closes the descriptor on every path out of append_event.
struct FileDescriptor {
  int fd;
  ~FileDescriptor() {
    if (fd >= 0) close(fd);
  }
};

}  // namespace

void append_event(const std::string& ledger_path, Event event) {
  fill_defaults(event);
  const std::string line = to_line(event);
  FileDescriptor file{open(ledger_path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644)};
  if (file.fd < 0) io_failure(ledger_path, "open");
  // O_APPEND places each write at the end; the lock keeps a short write's remainder from being split by another
  // writer (and serialises writers on filesystems where O_APPEND alone is not atomic, such as NFS).
  if (flock(file.fd, LOCK_EX) != 0) io_failure(ledger_path, "lock");
  size_t written = 0;
  while (written < line.size()) {
    ssize_t n = write(file.fd, line.data() + written, line.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) io_failure(ledger_path, "write");
    written += static_cast<size_t>(n);
  }
  if (fsync(file.fd) != 0) io_failure(ledger_path, "fsync");
}

std::string record_event(const std::string& ledger_path, Event event) {
  if (ledger_path.empty()) return "";
  try {
    append_event(ledger_path, std::move(event));
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

LedgerContents read_ledger(const std::string& ledger_path) {
  std::ifstream in(ledger_path, std::ios::binary);
  if (!in) throw Error(ExitCode::not_found, fmt::format("{}: cannot open event ledger", ledger_path));
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();

  LedgerContents contents;
  size_t start = 0;
  size_t line_number = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    ++line_number;
    if (end == std::string::npos) {  // no newline: the writer died mid-line
      contents.torn_tail = true;
      break;
    }
    std::string_view line(text.data() + start, end - start);
    start = end + 1;
    if (line.empty()) continue;
    auto parsed = nlohmann::json::parse(line, nullptr, false);
    if (parsed.is_discarded() || !parsed.is_object()) {
      contents.bad_lines.push_back(fmt::format("{}:{}: not a JSON object", ledger_path, line_number));
      continue;
    }
    contents.events.push_back(std::move(parsed));
  }
  return contents;
}

}  // namespace sigma
