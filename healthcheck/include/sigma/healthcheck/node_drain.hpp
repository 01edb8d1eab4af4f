// NHC-style mode: drain this node through the Slurm API with the failure reason, as slurm.conf's
// HealthCheckProgram expects of a health checker.
#pragma once

#include <string>

namespace sigma::hc {

// This node's Slurm name: SLURMD_NODENAME when slurmd set it, else the short hostname.
std::string slurm_node_name();

// slurm_update_node(NODE_STATE_DRAIN, reason); throws sigma::Error(transient) with Slurm's error text on failure.
void drain_node(const std::string& node, const std::string& reason);

}  // namespace sigma::hc
