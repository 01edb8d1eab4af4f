// NHC-style mode: drain this node through the Slurm API with the failure reason, as slurm.conf's
// HealthCheckProgram expects of a health checker.
#pragma once

#include <string>

namespace sigma::hc {

// This node's Slurm name: SLURMD_NODENAME when slurmd set it, else the short hostname.
std::string slurm_node_name();

// slurm_update_node(NODE_STATE_DRAIN, reason) in a child process (libslurm exits on a bad config); throws
// sigma::Error(transient) with Slurm's error text, or why the child failed.
void drain_node(const std::string& node, const std::string& reason);

}  // namespace sigma::hc
