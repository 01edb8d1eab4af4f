// The prolog's verdict for one job on one node (paths.state_dir/jobs/<job>.<node>): written by the job prolog
// (root, slurmd), read when the job's steps start on that node (slurmstepd) to tell the tasks, removed by the
// job epilog. It is how the prolog, a separate process, speaks to the job's tasks.
#pragma once

#include <optional>
#include <string>

#include "sigma/contracts/preflight_level.hpp"
#include "sigma/contracts/verdicts.hpp"
#include "sigma/core/state_dir.hpp"

namespace sigma::spank {

struct JobVerdict {
  PreflightLevel level = PreflightLevel::off;
  PrologVerdict verdict = PrologVerdict::none;
  std::string reason;   // why it did not pass ("" on pass)
  double seconds = 0;   // the prolog's burn-in time
  int requeue_cap = 0;  // the job's cap (the user's --sigma-max-requeues within the site's policy.max_requeues)
  unsigned restart_count = 0;  // times Slurm had requeued the job, from its credential
};

void write_job_verdict(StateDir& state, const std::string& job_id, const std::string& node, const JobVerdict& v);
// nullopt when there is none, or when it names a level or verdict this version does not know.
std::optional<JobVerdict> read_job_verdict(const StateDir& state, const std::string& job_id, const std::string& node);
void remove_job_verdict(StateDir& state, const std::string& job_id, const std::string& node);

}  // namespace sigma::spank
