// Fork, run, collect: the child writes its result as JSON to a pipe; the parent waits at most the budget.
#include "sigma/healthcheck/isolated_run.hpp"

#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>

#include "sigma/core/error.hpp"
#include "sigma/healthcheck/fault_injector.hpp"

namespace sigma::hc {
namespace {

using Clock = std::chrono::steady_clock;

void write_all(int fd, const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the parent is gone or stopped reading; nothing useful left to do
    done += static_cast<std::size_t>(n);
  }
}

[[noreturn]] void child_main(int out_fd, const std::string& name, CheckFunction check, const CheckContext& ctx) {
  CheckResult result;
  try {
    FaultInjector(ctx.config->fault_injection).on_check_start(name);
    result = check(ctx);
  } catch (const std::exception& e) {
    result.name = name;
    result.status = CheckStatus::fail;
    result.reason = fmt::format("{} error", name);
    result.notes.push_back(e.what());
  }
  write_all(out_fd, to_json(result).dump());
  close(out_fd);
  _exit(0);  // no atexit handlers or static destructors of the parent's state in the child
}

// Reads until EOF; false when the deadline passed first.
bool read_until_eof(int fd, Clock::time_point deadline, std::string& out) {
  char buffer[4096];
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    const int ready = poll(&p, 1, static_cast<int>(std::min<long long>(left, 1000)));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;
    const ssize_t n = read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return true;
    out.append(buffer, static_cast<std::size_t>(n));
  }
}

CheckResult failed(const std::string& name, std::string reason, bool timed_out = false) {
  CheckResult r;
  r.name = name;
  r.status = CheckStatus::fail;
  r.reason = std::move(reason);
  r.timed_out = timed_out;
  return r;
}

CheckResult from_child(const std::string& name, int status, const std::string& output) {
  if (WIFSIGNALED(status)) {
    const char* signal_name = sigabbrev_np(WTERMSIG(status));
    return failed(name, fmt::format("{} crash SIG{}", name, signal_name ? signal_name : "?"));
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return failed(name, fmt::format("{} crash exit {}", name, WEXITSTATUS(status)));
  }
  try {
    return check_result_from_json(nlohmann::json::parse(output));
  } catch (const std::exception&) {
    return failed(name, fmt::format("{} crash no result", name));
  }
}

}  // namespace

CheckResult run_isolated(const std::string& name, CheckFunction check, const CheckContext& ctx) {
  int fds[2];
  if (pipe(fds) != 0) throw Error(ExitCode::internal, fmt::format("pipe: {}", std::strerror(errno)));
  const auto start = Clock::now();
  const pid_t pid = fork();
  if (pid < 0) throw Error(ExitCode::internal, fmt::format("fork: {}", std::strerror(errno)));
  if (pid == 0) {
    close(fds[0]);
    child_main(fds[1], name, check, ctx);
  }
  close(fds[1]);
  std::string output;
  const auto deadline = start + std::chrono::duration<double>(ctx.budget_s);
  const bool finished = read_until_eof(fds[0], std::chrono::time_point_cast<Clock::duration>(deadline), output);
  close(fds[0]);
  if (!finished) kill(pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  CheckResult result = finished ? from_child(name, status, output) : failed(name, name + " timeout", true);
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return result;
}

}  // namespace sigma::hc
