// What a preflight verdict does to the node, the SIGMA paper's cordoned -> validating -> available lifecycle:
//   preflight (the job prolog): pass -> the validated-node cache; fail -> drain with the reason, forget the cache.
//   nhc (slurm.conf HealthCheckProgram): a node sigma drained (reason "sigma: ...") is burned in again at
//   preflight.recycle.level once it has been drained for recycle.hold_off_s, and resumed when it passes; a node
//   drained by an admin or by Slurm is never touched; a node in service is checked like preflight.
// Every transition is a ledger event (component "healthcheck"), so `sigma-ledger show --host N` tells the story.
#pragma once

#include <functional>
#include <string>

#include "sigma/core/exit_codes.hpp"
#include "sigma/core/site_config.hpp"
#include "sigma/healthcheck/runner.hpp"

namespace sigma::hc {

// Runs a level's checks (and prints/records the report as the caller wishes).
using RunLevel = std::function<RunReport(const std::string& level)>;

ExitCode preflight_node(const SiteConfig& config, const std::string& node, const std::string& level,
                        const RunLevel& run_level);

ExitCode nhc_node(const SiteConfig& config, const std::string& node, const std::string& level,
                  const RunLevel& run_level);

}  // namespace sigma::hc
