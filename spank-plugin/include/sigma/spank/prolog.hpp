// The job prolog on one node, as root inside slurmd (slurm_spank_job_prolog): decide the level, skip the burn-in
// on a node the validated-node cache vouches for, else run `paths.healthcheck_bin preflight` within the level's
// budget (killed at the budget), and leave the verdict for the job's tasks. A job requeued more times than its
// cap is not burned in: its verdict "over_cap" makes its batch step refuse to start. A failing node is drained by the
// healthcheck with the check's reason; returning allow=false then makes Slurm requeue a batch job elsewhere.
#pragma once

#include <string>
#include <vector>

#include "sigma/spank/options.hpp"

namespace sigma::spank {

struct PrologContext {
  std::vector<std::string> plugin_args;  // plugstack.conf's, parsed inside: a bad one must never fail the prolog
  RawOptions options;     // validated inside: a bad value must never fail the prolog (that would drain the node)
  std::string node;        // SLURMD_NODENAME, set by slurmd
  std::string job_id;      // SLURM_JOB_ID, set by slurmd
  std::string slurm_conf;  // SLURM_CONF, passed on so the healthcheck can drain through the API
  unsigned restart_count = 0;  // SLURM_JOB_RESTART_COUNT (from the job credential): times Slurm requeued it
};

struct PrologOutcome {
  bool allow = true;       // false: the prolog fails, Slurm drains the node and requeues a batch job
  std::string message;     // one line for slurmd's log (and the user, where Slurm shows it)
};

// Never throws: every failure becomes an outcome.
PrologOutcome run_job_prolog(const PrologContext& context);

}  // namespace sigma::spank
