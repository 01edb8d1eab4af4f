// One training step as a child process (srun ...): started with extra environment, its stderr passed through to
// ours while the last part is kept for the taxonomy, signals forwarded, and aborted as a whole when it hangs.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sigma/core/taxonomy.hpp"

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
  // Ends a step that does not end by itself: srun's "abort" (SIGINT twice: the step's tasks get SIGKILL), then
  // SIGKILL to srun after grace_s. Returns the outcome.
  StepOutcome abort(double grace_s);

 private:
  pid_t pid_ = -1;
  int err_fd_ = -1;
  std::string err_tail_;
  std::optional<StepOutcome> ended_;
};

inline constexpr std::size_t kStepLogTail = 64 * 1024;

}  // namespace sigma::launch
