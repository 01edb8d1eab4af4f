// The drain history (under paths.state_dir/drains/, one record per Slurm node): when sigma drained each node, so
// that a node which keeps failing and passing (an intermittent fault) is seen as flapping rather than resumed
// again and again, and so that a re-drain restarts the recycle hold-off even when Slurm keeps the old reason time
// (slurmctld leaves reason_time alone when the reason text is unchanged). Written by sigma-healthcheck (root),
// read by it and by the SPANK plugin's job prolog.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "sigma/policy/site_config.hpp"
#include "sigma/core/state_dir.hpp"

namespace sigma {

// At most this many drain times are kept per node (the most recent).
inline constexpr std::size_t kMaxDrainTimes = 64;

// The node's recorded drain times, oldest first; empty when none (or the record is unreadable).
std::vector<double> node_drain_times(const StateDir& state, const std::string& node);
// Adds a drain at `at` (seconds since the epoch) to the node's record.
void record_node_drain(StateDir& state, const std::string& node, double at);

// How many of `times` fall within the last `window_s` seconds before `now` (times after `now` count).
std::size_t drains_within(const std::vector<double>& times, double now, double window_s);
// The latest of `times`; 0 when empty.
double last_drain(const std::vector<double>& times);

// True when sigma drained the node within recycle.flap_window_s: a node with recent failures is burned in
// afresh, never vouched for by one earlier (cached) pass.
bool recently_drained(const StateDir& state, const std::string& node, const RecycleConfig& recycle, double now);

// True when `drains` within the window reach the site's threshold (recycle.flap_drains, 0 = never).
bool is_flapping(std::size_t drains, const RecycleConfig& recycle);
// The drain reason of a node held for a human, and the test for it (recycling never resumes such a node).
std::string flapping_reason(std::size_t drains, const RecycleConfig& recycle);
bool is_flapping_reason(const std::string& reason);

}  // namespace sigma
