// run_child: output, exit codes, a failed exec, a deadline that kills the whole process group, also after the
// child closed its output.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include "sigma/platform/child_process.hpp"
#include "sigma/core/error.hpp"

using namespace sigma;

namespace {

// Running, as opposed to gone or a zombie waiting for whoever inherited it to reap it.
bool running(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string pid_field, name, state;
  if (!(stat >> pid_field >> name >> state)) return false;
  return state != "Z" && state != "X";
}

}  // namespace

TEST(ChildProcess, CapturesOutputAndExitCode) {
  const ChildResult r = run_child({"/bin/sh", "-c", "echo out; echo err >&2; exit 7"}, {"PATH=/bin:/usr/bin"}, 10);
  EXPECT_EQ(r.exit_code, 7);
  EXPECT_EQ(r.out, "out\n");
  EXPECT_EQ(r.err_tail, "err\n");
  EXPECT_FALSE(r.timed_out);
}

TEST(ChildProcess, GetsOnlyTheEnvironmentItIsGiven) {
  setenv("SIGMA_CHILD_TEST_SECRET", "leak", 1);
  const ChildResult r = run_child({"/usr/bin/env"}, {"ONLY=this"}, 10);
  EXPECT_EQ(r.out, "ONLY=this\n");
}

TEST(ChildProcess, AFailedExecIs127WithTheReason) {
  const ChildResult r = run_child({"/nonexistent/program"}, {}, 10);
  EXPECT_EQ(r.exit_code, 127);
  EXPECT_NE(r.err_tail.find("exec failed"), std::string::npos);
}

TEST(ChildProcess, RefusesARelativeProgram) { EXPECT_THROW(run_child({"sh", "-c", "true"}, {}, 10), Error); }

TEST(ChildProcess, TheDeadlineKillsTheChildAndItsChildren) {
  // The shell starts a grandchild that holds the output pipe open; both must die at the deadline.
  const auto start = std::chrono::steady_clock::now();
  const ChildResult r = run_child({"/bin/sh", "-c", "sleep 60 & echo $!; wait"}, {"PATH=/bin:/usr/bin"}, 1);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.signal, SIGKILL);
  EXPECT_LT(seconds, 30);  // far below the grandchild's 60 s: it was killed, not waited for
  const pid_t grandchild = std::stoi(r.out);
  // SIGKILL is immediate, but the state the kernel shows may lag a moment on a busy machine.
  for (int i = 0; i < 100 && running(grandchild); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(running(grandchild)) << "grandchild " << grandchild << " survived";
}

TEST(ChildProcess, TheDeadlineHoldsAfterTheChildClosesItsOutput) {
  // Closing stdout and stderr ends what the caller reads, not the child: it must still die at the deadline.
  const auto start = std::chrono::steady_clock::now();
  const ChildResult r =
      run_child({"/bin/sh", "-c", "echo started; exec >&- 2>&-; sleep 30"}, {"PATH=/bin:/usr/bin"}, 1.5);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.signal, SIGKILL);
  EXPECT_FALSE(r.unreaped);
  EXPECT_EQ(r.out, "started\n");
  EXPECT_GE(seconds, 1.5);
  EXPECT_LT(seconds, 10);  // far below the child's 30 s
}

TEST(ChildProcess, AChildThatExitsInTimeIsNotTimedOut) {
  const ChildResult r = run_child({"/bin/sh", "-c", "exec >&- 2>&-; sleep 0.2; exit 3"}, {"PATH=/bin:/usr/bin"}, 10);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.signal, 0);
}

TEST(ChildProcess, StdinIsEmpty) {
  const ChildResult r = run_child({"/bin/cat"}, {}, 10);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "");
}
