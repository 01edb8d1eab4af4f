// One training step as a child process (srun ...): started with extra environment, its stderr passed through to
// ours while the last part is kept for the taxonomy, signals forwarded, and aborted as a whole when it hangs.
#pragma once

#include <sys/types.h>

#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sigma/policy/taxonomy.hpp"

namespace sigma::launch {

class StepProcess {
 public:
  // argv[0] is looked up in PATH (the supervisor runs as the job's user, like the batch script).
  StepProcess(const std::vector<std::string>& argv, const std::vector<std::pair<std::string, std::string>>& env);
  ~StepProcess();
  StepProcess(const StepProcess&) = delete;
  StepProcess& operator=(const StepProcess&) = delete;

  // Waits up to timeout_s for output or the end; returns the outcome once the step has ended.
  std::optional<StepOutcome> poll(double timeout_s);
  void signal(int sig) const;
  // The whole lines of stderr that came since the last call (each cut to kStepLineBytes; at most kStepLinesKept).
  std::vector<std::string> take_lines();

  // Whether the tasks still running no longer matter, given the lines that came since the last call: the abort
  // stops waiting for srun then.
  using AbortAnswered = std::function<bool(const std::vector<std::string>& new_lines)>;
  // Ends a step that does not end by itself: srun's "abort" (SIGINT twice: the step's tasks get SIGKILL). srun
  // returns only when every node of the step has answered, which a frozen or dead node never does: once
  // `answered` says what is left does not matter (the nodes that can answer have reported their tasks' end), srun
  // gets kAfterAnswer_s to end by itself, then SIGKILL; after grace_s it gets SIGKILL in any case. Returns the
  // outcome (its log includes srun's lines about the abort).
  StepOutcome abort(double grace_s, const AbortAnswered& answered = {});

  static constexpr double kAfterAnswer_s = 1;

 private:
  void keep_lines(const char* data, std::size_t n);

  pid_t pid_ = -1;
  int err_fd_ = -1;
  std::string err_tail_;
  std::string partial_line_;
  std::deque<std::string> lines_;
  std::optional<StepOutcome> ended_;
};

inline constexpr std::size_t kStepLogTail = 64 * 1024;
inline constexpr std::size_t kStepLineBytes = 4096;  // srun's own lines are short; the program's may not be
inline constexpr std::size_t kStepLinesKept = 1024;  // a chatty program between two takes: the oldest go

}  // namespace sigma::launch
