// An attempt's step as slurmctld holds it, to end it faster than srun does. srun learns of a task's end at once,
// but with --kill-on-bad-exit it then terminates the step (SIGTERM, the site's KillWait, SIGKILL), and a rank
// that handles SIGTERM (the trainer saves on it) while it waits for a dead peer lives on for KillWait (30 s by
// default); while that sequence runs, the step's tasks take no other signal (measured: a SIGKILL sent then waited
// for it). So the supervisor runs srun without --kill-on-bad-exit and ends the step itself: kill() sends SIGKILL
// to every task at once, before srun's abort.
// The step is found among the job's steps (job_steps): the one not held before the attempt's launch that runs on
// exactly its nodes. Outside a batch job, or when slurmctld cannot say, nothing is signalled (a warning): srun's
// own abort follows in any case.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace sigma::launch {

class SlurmStep {
 public:
  // `held_before`: job_steps() asked just before srun started ("7.0 on n[1-2]"); `nodes`: the attempt's.
  SlurmStep(std::vector<std::string> held_before, std::vector<std::string> nodes);

  void kill();

 private:
  // "JOB.STEP" ids of the step, looked up on first use.
  const std::vector<std::pair<unsigned, unsigned>>& ids();

  std::vector<std::string> held_before_, nodes_;
  std::optional<std::vector<std::pair<unsigned, unsigned>>> ids_;
};

// The ids of the steps among `held` ("7.0 on n[1-2]") that are not in `held_before` and run on exactly `nodes`.
std::vector<std::pair<unsigned, unsigned>> new_steps_on(const std::vector<std::string>& held,
                                                        const std::vector<std::string>& held_before,
                                                        const std::vector<std::string>& nodes);

}  // namespace sigma::launch
