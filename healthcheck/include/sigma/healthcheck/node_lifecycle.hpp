// What a preflight verdict does to the node, the SIGMA paper's cordoned -> validating -> available lifecycle:
//   preflight (the job prolog): pass -> the validated-node cache; fail -> drain with the reason, forget the cache.
//   nhc (slurm.conf HealthCheckProgram): a node sigma drained (reason "sigma: ...") is burned in again at
//   preflight.recycle.level once it has been drained for recycle.hold_off_s, and resumed when it passes; a node
//   drained by an admin or by Slurm is never touched; a node in service is checked like preflight.
// The node is looked at again just before every resume or drain: a burn-in takes minutes, and an admin who
// drained the node meanwhile ("replacing DIMM") keeps the node drained with their reason. Every sigma drain is
// counted in the drain history (core node_drains.hpp); past preflight.recycle.flap_drains within flap_window_s
// the node is held for a human ("sigma: flapping N drains in W s"), which recycling never resumes.
// Every transition is a ledger event (component "healthcheck"), so `sigma-ledger show --host N` tells the story.
#pragma once

#include <functional>
#include <string>

#include "sigma/core/exit_codes.hpp"
#include "sigma/policy/site_config.hpp"
#include "sigma/platform/slurm_node.hpp"
#include "sigma/healthcheck/runner.hpp"

namespace sigma::hc {

// Runs a level's checks (and prints/records the report as the caller wishes).
using RunLevel = std::function<RunReport(const std::string& level, Throughput throughput)>;

// How the lifecycle reaches Slurm: libslurm (core slurm_node.hpp) unless a test simulates the controller.
struct NodeControl {
  std::function<NodeStatus(const std::string& node)> query = query_node;
  std::function<void(const std::string& node, const std::string& reason)> drain = drain_node;
  std::function<void(const std::string& node)> resume = resume_node;
};

// `throughput` is handed to run_level: shared_node when other jobs may run on the node during the burn-in. Either
// way, a report whose only failures are unjudged throughput neither drains the node nor leaves a cached pass.
ExitCode preflight_node(const SiteConfig& config, const std::string& node, const std::string& level,
                        const RunLevel& run_level, Throughput throughput = Throughput::judged,
                        const NodeControl& control = {});

ExitCode nhc_node(const SiteConfig& config, const std::string& node, const std::string& level,
                  const RunLevel& run_level, const NodeControl& control = {});

// True when `now` is still the drain that `before` saw: drained, same reason, same reason time.
bool same_drain(const NodeStatus& before, const NodeStatus& now);

}  // namespace sigma::hc
