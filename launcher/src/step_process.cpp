#include "sigma/launcher/step_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <thread>

#include "sigma/core/error.hpp"

namespace sigma::launch {

StepProcess::StepProcess(const std::vector<std::string>& argv,
                         const std::vector<std::pair<std::string, std::string>>& env) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw Error(ExitCode::internal, "step: pipe failed");
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_ = fork();
  if (pid_ < 0) throw Error(ExitCode::internal, fmt::format("step: fork failed: {}", std::strerror(errno)));
  if (pid_ == 0) {
    for (const auto& [name, value] : env) setenv(name.c_str(), value.c_str(), 1);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    // A batch script that runs the supervisor in the background hands it SIGINT and SIGQUIT ignored (bash does
    // so for asynchronous commands); srun must get SIGINT back, as abort() stops a step with it.
    ::signal(SIGINT, SIG_DFL);
    ::signal(SIGQUIT, SIG_DFL);
    dup2(fds[1], 2);
    execvp(args[0], args.data());
    fmt::print(stderr, "sigma-launch: cannot run {}: {}\n", argv[0], std::strerror(errno));
    _exit(127);
  }
  close(fds[1]);
  err_fd_ = fds[0];
}

StepProcess::~StepProcess() {
  if (err_fd_ >= 0) close(err_fd_);
  if (!ended_ && pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

std::optional<StepOutcome> StepProcess::poll(double timeout_s) {
  if (ended_) return ended_;
  if (err_fd_ >= 0) {
    pollfd p{err_fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout_s * 1000)) > 0) {
      char buffer[4096];
      const ssize_t n = read(err_fd_, buffer, sizeof buffer);
      if (n > 0) {
        if (write(2, buffer, static_cast<std::size_t>(n)) < 0) {  // the user still sees srun's messages
        }
        err_tail_.append(buffer, static_cast<std::size_t>(n));
        if (err_tail_.size() > kStepLogTail) err_tail_.erase(0, err_tail_.size() - kStepLogTail);
        keep_lines(buffer, static_cast<std::size_t>(n));
      } else if (n == 0) {
        close(err_fd_);
        err_fd_ = -1;
      }
    }
  } else {
    std::this_thread::sleep_for(std::chrono::duration<double>(timeout_s));
  }
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) != pid_) return std::nullopt;
  StepOutcome outcome;
  outcome.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 0;
  outcome.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  outcome.log = err_tail_;
  ended_ = outcome;
  return ended_;
}

void StepProcess::keep_lines(const char* data, std::size_t n) {
  for (const char* end = data + n; data < end;) {
    const char* newline = static_cast<const char*>(std::memchr(data, '\n', static_cast<std::size_t>(end - data)));
    const char* stop = newline != nullptr ? newline : end;
    partial_line_.append(data, std::min(static_cast<std::size_t>(stop - data), kStepLineBytes - partial_line_.size()));
    data = stop;
    if (newline == nullptr) break;
    ++data;
    lines_.push_back(std::move(partial_line_));
    partial_line_.clear();
    if (lines_.size() > kStepLinesKept) lines_.pop_front();
  }
}

std::vector<std::string> StepProcess::take_lines() {
  std::vector<std::string> out(std::make_move_iterator(lines_.begin()), std::make_move_iterator(lines_.end()));
  lines_.clear();
  return out;
}

void StepProcess::signal(int sig) const {
  if (!ended_ && pid_ > 0) kill(pid_, sig);
}

StepOutcome StepProcess::abort(double grace_s, const AbortAnswered& answered) {
  using Clock = std::chrono::steady_clock;
  signal(SIGINT);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  signal(SIGINT);  // a second SIGINT within a second: srun kills the step's tasks
  auto deadline = Clock::now() + std::chrono::duration<double>(grace_s);
  bool done = false;
  while (Clock::now() < deadline) {
    if (auto outcome = poll(0.1)) return *outcome;
    if (!done && answered && answered(take_lines())) {
      done = true;
      deadline = std::min(deadline, Clock::now() + std::chrono::duration<double>(kAfterAnswer_s));
    }
  }
  signal(SIGKILL);
  while (true) {
    if (auto outcome = poll(0.2)) return *outcome;
  }
}

}  // namespace sigma::launch
