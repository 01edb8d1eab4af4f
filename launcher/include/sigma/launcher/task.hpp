// sigma-launch task: one per task of a step (srun --mpi=pmix sigma-launch task -- CMD ...). A PMIx client: its
// rank, local rank, the job size and its node come from PMIx, not from guessed environment variables. Unless the
// SPANK plugin already validated this node at the level asked for (SIGMA_PREFLIGHT_*), local rank 0 runs the
// node's preflight; every task publishes its node's verdict (PMIx_Put/Commit) and a fence with data collection
// gives every task every verdict. Any failed node: every task exits node_hardware (10), the failed nodes having
// been drained by the healthcheck with their reasons (and a batch job is requeued by RequeueExit without them).
// Otherwise PMIx_Finalize and exec CMD, whose MPI_Init then works in the same step.
#pragma once

#include <string>
#include <vector>

#include "sigma/contracts/preflight_level.hpp"
#include "sigma/core/exit_codes.hpp"
#include "sigma/policy/site_config.hpp"

namespace sigma::launch {

struct TaskOptions {
  std::string preflight;             // "" = the site's default_level; "off" = no preflight here
  std::string config_path;           // passed to the healthcheck
  std::vector<std::string> command;
};

// True when SIGMA_PREFLIGHT_VERDICT/LEVEL (set by the SPANK plugin) show this node passed `level` or stronger.
bool validated_by_plugin(PreflightLevel level, const char* plugin_level, const char* plugin_verdict);

// Returns only on failure; on success it execs the command.
ExitCode run_task(const TaskOptions& options, const SiteConfig& config);

}  // namespace sigma::launch
