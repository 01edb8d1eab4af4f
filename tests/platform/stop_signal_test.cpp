// The one stop-signal module (platform/stop_signal.hpp): SIGTERM and SIGUSR1 are recorded, not fatal, and leave
// interrupted system calls restarting.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <csignal>

#include "sigma/platform/stop_signal.hpp"

namespace sigma {
namespace {

TEST(StopSignal, TermAndUsr1AreRecordedWithTheirNumber) {
  install_stop_signal_handlers();
  for (int signal : {SIGTERM, SIGUSR1}) {
    clear_stop_request();
    EXPECT_FALSE(stop_requested());
    EXPECT_EQ(stop_signal_number(), 0);
    std::raise(signal);
    EXPECT_TRUE(stop_requested());
    EXPECT_EQ(stop_signal_number(), signal);
  }
  clear_stop_request();
  EXPECT_FALSE(stop_requested());
}

TEST(StopSignal, HandlersRestartInterruptedCalls) {
  install_stop_signal_handlers();
  install_stop_signal_handlers();  // idempotent
  for (int signal : {SIGTERM, SIGUSR1}) {
    struct sigaction current {};
    ASSERT_EQ(sigaction(signal, nullptr, &current), 0);
    EXPECT_NE(current.sa_handler, SIG_DFL) << signal;
    EXPECT_NE(current.sa_flags & SA_RESTART, 0) << signal;
  }
}

TEST(StopSignal, RequestStopActsLikeASignal) {
  clear_stop_request();
  request_stop(SIGUSR1);
  EXPECT_TRUE(stop_requested());
  EXPECT_EQ(stop_signal_number(), SIGUSR1);
  clear_stop_request();
}

// Without the handlers SIGTERM ends a process; with them a process that receives it goes on and can still tell
// which signal asked it to stop (here: it exits with that number).
TEST(StopSignal, ASignalAfterInstallationDoesNotEndTheProcess) {
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    install_stop_signal_handlers();
    kill(getpid(), SIGTERM);
    _exit(stop_signal_number());
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  EXPECT_EQ(WEXITSTATUS(status), SIGTERM);
}

}  // namespace
}  // namespace sigma
