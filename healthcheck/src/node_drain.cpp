// Drain through libslurm, the way LBNL NHC does with scontrol, but without running a shell command as root.
#include "sigma/healthcheck/node_drain.hpp"

#include <slurm/slurm.h>
#include <slurm/slurm_errno.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include <fmt/format.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "sigma/core/error.hpp"

namespace sigma::hc {

std::string slurm_node_name() {
  if (const char* name = std::getenv("SLURMD_NODENAME"); name != nullptr && *name != '\0') return name;
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  std::string out(host);
  return out.substr(0, out.find('.'));
}

namespace {

constexpr int kDrainTimeoutSeconds = 60;  // slurmctld may be slow to answer; the prolog must not wait forever

// In the child: the update itself. libslurm calls exit() on a missing or unreachable configuration, so it must
// never run in the healthcheck's own process.
[[noreturn]] void drain_in_child(int out_fd, const std::string& node, const std::string& reason) {
  // libslurm's fatal() calls exit(); the exit handlers of libraries set up in the parent (OpenBLAS joins worker
  // threads that a forked child does not have) would then hang, so the first handler to run leaves at once.
  std::atexit([] { _exit(1); });
  slurm_init(nullptr);
  update_node_msg_t msg;
  slurm_init_update_node_msg(&msg);
  std::vector<char> names(node.begin(), node.end()), why(reason.begin(), reason.end());
  names.push_back('\0');
  why.push_back('\0');
  msg.node_names = names.data();
  msg.node_state = NODE_STATE_DRAIN;
  msg.reason = why.data();
  msg.reason_uid = getuid();
  if (slurm_update_node(&msg) == SLURM_SUCCESS) _exit(0);
  const std::string error = slurm_strerror(slurm_get_errno());
  if (write(out_fd, error.data(), error.size()) < 0) _exit(1);
  _exit(1);
}

std::string read_message(int fd) {
  std::string text;
  char buffer[512];
  ssize_t n;
  while ((n = read(fd, buffer, sizeof buffer)) > 0) text.append(buffer, static_cast<std::size_t>(n));
  return text;
}

}  // namespace

void drain_node(const std::string& node, const std::string& reason) {
  int fds[2];
  if (pipe(fds) != 0) throw Error(ExitCode::internal, "drain: pipe failed");
  const pid_t pid = fork();
  if (pid < 0) throw Error(ExitCode::internal, "drain: fork failed");
  if (pid == 0) {
    close(fds[0]);
    alarm(kDrainTimeoutSeconds);  // SIGALRM ends a child stuck on an unresponsive controller
    drain_in_child(fds[1], node, reason);
  }
  close(fds[1]);
  const std::string message = read_message(fds[0]);
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return;
  const std::string why = !message.empty()                ? message
                          : WIFSIGNALED(status)           ? fmt::format("timed out or killed (signal {})", WTERMSIG(status))
                                                          : "libslurm could not load its configuration";
  throw Error(ExitCode::transient, fmt::format("drain {}: slurm_update_node failed: {}", node, why));
}

}  // namespace sigma::hc
