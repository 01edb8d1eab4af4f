// The step as a child process, with a shell standing in for srun: its stderr lines reach the supervisor as they
// come, and an abort stops waiting for srun once the tasks that can answer have (a frozen node's never do).
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <chrono>

#include "sigma/launcher/step_process.hpp"

namespace sigma::launch {
namespace {

// A stand-in for srun whose last task never answers: it ignores SIGINT, as srun waits on for a frozen node.
const std::vector<std::string> kStuckSrun = {
    "sh", "-c", "trap '' INT; echo 'srun: error: n1: task 0: Killed' >&2; echo 'half a line' >&2; exec sleep 60"};

std::vector<std::string> lines_within(StepProcess& step, double seconds, std::size_t want) {
  std::vector<std::string> lines;
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (lines.size() < want && std::chrono::steady_clock::now() < until) {
    step.poll(0.1);
    for (auto& line : step.take_lines()) lines.push_back(std::move(line));
  }
  return lines;
}

TEST(StepProcess, StderrLinesComeAsTheyAreWritten) {
  StepProcess step({"sh", "-c", "printf 'one\\ntwo\\nthr' >&2; sleep 0.3; printf 'ee\\n' >&2; exec sleep 60"}, {});
  const auto lines = lines_within(step, 20, 3);
  EXPECT_EQ(lines, (std::vector<std::string>{"one", "two", "three"}));
  EXPECT_TRUE(step.take_lines().empty()) << "each line is handed over once";
  step.signal(SIGKILL);
}

TEST(StepProcess, AVeryLongLineIsCut) {
  StepProcess step({"sh", "-c", "head -c 100000 /dev/zero | tr '\\0' x >&2; echo >&2; exec sleep 60"}, {});
  const auto lines = lines_within(step, 20, 1);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0], std::string(kStepLineBytes, 'x'));
  step.signal(SIGKILL);
}

TEST(StepProcess, AnAbortStopsWaitingOnceTheTasksThatCanAnswerHave) {
  StepProcess step(kStuckSrun, {});
  // Lines read before the abort count, as the supervisor keeps them (and the stand-in ignores SIGINT by then).
  std::vector<std::string> seen = lines_within(step, 20, 1);
  ASSERT_FALSE(seen.empty());
  const auto started = std::chrono::steady_clock::now();
  const StepOutcome outcome = step.abort(30, [&](const std::vector<std::string>& lines) {
    seen.insert(seen.end(), lines.begin(), lines.end());
    return std::find(seen.begin(), seen.end(), "srun: error: n1: task 0: Killed") != seen.end();
  });
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  EXPECT_EQ(outcome.signal, SIGKILL) << "srun, which would have waited on, is killed";
  EXPECT_LT(took, 15) << "a generous bound: answered within a second, then kAfterAnswer_s";
  EXPECT_NE(outcome.log.find("srun: error: n1: task 0: Killed"), std::string::npos);
}

TEST(StepProcess, AnAbortWithoutAnAnswerWaitsTheGrace) {
  StepProcess step(kStuckSrun, {});
  ASSERT_FALSE(lines_within(step, 20, 1).empty());
  const auto started = std::chrono::steady_clock::now();
  const StepOutcome outcome = step.abort(2, [](const std::vector<std::string>&) { return false; });
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  EXPECT_EQ(outcome.signal, SIGKILL);
  EXPECT_GE(took, 2);
}

}  // namespace
}  // namespace sigma::launch
