#include "sigma/platform/child_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <thread>

#include "sigma/core/error.hpp"

namespace sigma {
namespace {

using Clock = std::chrono::steady_clock;

std::vector<char*> c_strings(const std::vector<std::string>& items) {
  std::vector<char*> out;
  for (const auto& s : items) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

// In the child, between fork and exec: only async-signal-safe calls.
[[noreturn]] void exec_child(char* const* argv, char* const* envp, int out_fd, int err_fd) {
  setpgid(0, 0);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);  // slurmd's blocked signals must not reach the child
  signal(SIGPIPE, SIG_DFL);
  const int null_fd = open("/dev/null", O_RDONLY);
  if (null_fd < 0 || dup2(null_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0) _exit(127);
  close_range(3, ~0U, 0);
  execve(argv[0], argv, envp);
  const char* why = strerror(errno);
  const char prefix[] = "exec failed: ";
  if (::write(2, prefix, sizeof prefix - 1) < 0 || ::write(2, why, strlen(why)) < 0) _exit(127);
  _exit(127);
}

void append_capped(std::string& to, const char* data, std::size_t n, std::size_t cap, bool keep_tail) {
  to.append(data, n);
  if (to.size() <= cap) return;
  if (keep_tail) {
    to.erase(0, to.size() - cap);
  } else {
    to.resize(cap);
  }
}

// Reads both pipes until they close or the deadline passes; returns false on timeout.
bool drain_pipes(int out_fd, int err_fd, Clock::time_point deadline, ChildResult& result) {
  pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
  int open_count = 2;
  char buffer[8192];
  while (open_count > 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    const int ready = poll(fds, 2, static_cast<int>(left));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) return false;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      const ssize_t n = read(fds[i].fd, buffer, sizeof buffer);
      if (n > 0) {
        append_capped(i == 0 ? result.out : result.err_tail, buffer, static_cast<std::size_t>(n),
                      i == 0 ? kMaxChildOutput : kMaxChildErrTail, i == 1);
      } else if (n == 0 || errno != EINTR) {
        fds[i].fd = -1;
        --open_count;
      }
    }
  }
  return true;
}

// How long a child killed with SIGKILL may take to die before the caller stops waiting for it. SIGKILL ends a
// process at once unless it is in uninterruptible sleep (a hung GPU driver or NFS server); such a child is left
// unreaped rather than let it hang the caller.
constexpr auto kReapGrace = std::chrono::seconds(2);
constexpr auto kReapPoll = std::chrono::milliseconds(10);

// The child's wait status once it has ended, or nullopt when it is still running at `deadline`. A child that can
// no longer be waited for (reaped by someone else, SIGCHLD ignored) counts as ended, status unknown (-1).
std::optional<int> wait_until(pid_t pid, Clock::time_point deadline) {
  for (;;) {
    int status = 0;
    const pid_t got = waitpid(pid, &status, WNOHANG);
    if (got == pid) return status;
    if (got < 0 && errno != EINTR) return -1;
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(kReapPoll);
  }
}

}  // namespace

ChildResult run_child(const std::vector<std::string>& argv, const std::vector<std::string>& env, double timeout_s) {
  if (argv.empty() || argv[0].empty() || argv[0][0] != '/') {
    throw Error(ExitCode::internal, "run_child: expected an absolute program path");
  }
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) throw Error(ExitCode::internal, "run_child: pipe failed");
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    close(out_pipe[0]);
    close(out_pipe[1]);
    throw Error(ExitCode::internal, "run_child: pipe failed");
  }
  auto args = c_strings(argv), envp = c_strings(env);
  const auto start = Clock::now();
  const pid_t pid = fork();
  if (pid == 0) exec_child(args.data(), envp.data(), out_pipe[1], err_pipe[1]);
  close(out_pipe[1]);
  close(err_pipe[1]);
  ChildResult result;
  if (pid < 0) {
    close(out_pipe[0]);
    close(err_pipe[0]);
    throw Error(ExitCode::internal, fmt::format("run_child: fork failed: {}", std::strerror(errno)));
  }
  setpgid(pid, pid);  // also here, so the group exists before any kill below
  // The deadline covers the child's whole life: its output closing early (exec >&-) does not end it.
  const auto deadline = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(timeout_s));
  const bool drained = drain_pipes(out_pipe[0], err_pipe[0], deadline, result);
  close(out_pipe[0]);
  close(err_pipe[0]);
  std::optional<int> status = drained ? wait_until(pid, deadline) : std::nullopt;
  result.timed_out = !status;
  // The group: at the deadline the child and all it started; after a clean exit, grandchildren left behind. The
  // child itself too, in case it left its group.
  kill(-pid, SIGKILL);
  if (!status) {
    kill(pid, SIGKILL);
    status = wait_until(pid, Clock::now() + kReapGrace);
    result.unreaped = !status;
  }
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (status && *status != -1 && WIFEXITED(*status)) result.exit_code = WEXITSTATUS(*status);
  if (status && *status != -1 && WIFSIGNALED(*status)) result.signal = WTERMSIG(*status);
  if (result.unreaped) result.signal = SIGKILL;  // sent; it takes effect when the child leaves the kernel
  return result;
}

}  // namespace sigma
