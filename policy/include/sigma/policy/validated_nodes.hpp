// The validated-node cache (under paths.state_dir/validated/, one record per Slurm node): a node that passed
// preflight at a level is not burned in again at that level or a weaker one until preflight.result_ttl_s has
// passed or the node has rebooted. Any failure or drain removes the record. Written by sigma-healthcheck (root),
// read by the SPANK plugin's job prolog; records survive slurmd restarts because they are files.
#pragma once

#include <optional>
#include <string>

#include "sigma/contracts/preflight_level.hpp"
#include "sigma/core/state_dir.hpp"
#include "sigma/core/wall_clock.hpp"

namespace sigma {

struct NodeValidation {
  std::string level;      // quick, standard, extended
  double passed_at = 0;   // seconds since the epoch
  std::string boot_id;    // /proc/sys/kernel/random/boot_id when it passed
};

void record_node_passed(StateDir& state, const std::string& node, const std::string& level, double now);
void forget_node(StateDir& state, const std::string& node);
std::optional<NodeValidation> node_validation(const StateDir& state, const std::string& node);

// True when `validation` is for `level` or a stronger one, younger than ttl_s, and from this boot.
bool validation_covers(const std::optional<NodeValidation>& validation, PreflightLevel level, double ttl_s,
                       double now, const std::string& boot_id);

// This boot's identity (changes at every reboot); "" when unknown.
std::string current_boot_id();

}  // namespace sigma
