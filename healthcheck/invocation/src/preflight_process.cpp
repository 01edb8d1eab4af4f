#include "sigma/healthcheck/preflight_process.hpp"

#include <vector>

namespace sigma {

ChildResult run_preflight(const SiteConfig& config, const std::string& config_path, const std::string& level,
                          const PreflightTarget& target) {
  std::vector<std::string> env = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C", "SLURMD_NODENAME=" + target.node,
                                  "SLURM_JOB_ID=" + target.job_id};
  if (!target.slurm_conf.empty()) env.push_back("SLURM_CONF=" + target.slurm_conf);
  const double budget = config.preflight.levels.at(level).budget_s;
  return run_child({config.paths.healthcheck_bin, "preflight", "--level", level, "--config", config_path, "--json"},
                   env, budget + kHealthcheckStartGrace_s);
}

}  // namespace sigma
