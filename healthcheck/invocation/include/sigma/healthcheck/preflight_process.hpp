// The one way sigma runs a node's burn-in from another program (the plugin's job prolog, sigma-launch task):
// `paths.healthcheck_bin preflight --level L --config C --json` through run_child, with a fixed argument list
// and a clean environment, killed at the level's budget plus a start-up grace.
#pragma once

#include <string>

#include "sigma/platform/child_process.hpp"
#include "sigma/policy/site_config.hpp"

namespace sigma {

// Whose burn-in it is: passed to the healthcheck so it drains the right node and tags the ledger.
struct PreflightTarget {
  std::string node;        // SLURMD_NODENAME
  std::string job_id;      // SLURM_JOB_ID
  std::string slurm_conf;  // SLURM_CONF ("" = libslurm's default), for the drain
};

// Seconds the healthcheck gets beyond the level's budget to start and write its report.
inline constexpr double kHealthcheckStartGrace_s = 3;

ChildResult run_preflight(const SiteConfig& config, const std::string& config_path, const std::string& level,
                          const PreflightTarget& target);

}  // namespace sigma
