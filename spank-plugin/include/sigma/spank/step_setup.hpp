// When a job step starts on a node (slurmstepd, slurm_spank_user_init, before the tasks exist): what the tasks
// are told (SIGMA_* variables) and whether they may start at all. The decisions were made by the job prolog as
// root and left in the job's verdict record; this side only reads them. Tasks refuse to start, with one line for
// the user, when the job asked for preflight and this node has no passing verdict (failing closed: a missing or
// broken site config included), or, in the batch step, when the prolog found the job over its requeue cap. A job
// that runs although sigma could not do its part on the node (no usable site config, no verdict) is told why.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "sigma/spank/options.hpp"

namespace sigma::spank {

struct StepContext {
  std::vector<std::string> plugin_args;  // plugstack.conf's, parsed inside (a bad one refuses like a broken config)
  RawOptions options;     // validated inside: a bad value must never fail the prolog (that would drain the node)
  std::string node;             // slurmstepd's SLURMD_NODENAME
  std::string job_id;           // S_JOB_ID
  std::uint32_t restart_count = 0;  // S_SLURM_RESTART_COUNT (0 in batch steps here; the verdict has the count)
  bool batch_step = false;          // the batch script's step: the one place the requeue cap is enforced
};

struct StepSetup {
  std::vector<std::pair<std::string, std::string>> env;  // for every task of the step
  std::string refusal;                                    // non-empty: the tasks must not start; why
  std::string warning;  // non-empty: sigma could not do its part here (a broken site config); for the job's stderr
};

// Never throws.
StepSetup prepare_step(const StepContext& context);

}  // namespace sigma::spank
