// The discrete-event simulation of one training job on the scenario's cluster: failures arrive as Poisson
// processes per class while the job runs; each is detected, the blamed node is drained (recycled or repaired),
// a spare replaces it (or the job shrinks, and grows back when a node returns), and the job restarts from its
// newest in-memory copy or committed file checkpoint. Deterministic given the seed.
#pragma once

#include <cstdint>
#include <vector>

#include "sigma/sim/scenario.hpp"

namespace sigma::sim {

// Where the job's time went, in seconds of its full width (wall time x the share of its nodes concerned): the
// fields from useful_s to waiting_s sum to the horizon.
struct RunResult {
  double horizon_s = 0;
  double useful_s = 0;      // training whose result is kept
  double stall_s = 0;       // training paused by checkpoint saves
  double memory_s = 0;      // training time taken by in-memory peer copies
  double narrow_s = 0;      // running narrower than full width (the missing nodes' share)
  double redone_s = 0;      // training lost at a failure (after the newest copy or checkpoint restored)
  double recovery_s = 0;    // detection, restart or requeue, checkpoint load or memory restore, growing back
  double waiting_s = 0;     // no healthy spare: the job waits for a node to come back
  // Counts (means per run after simulate()).
  double interruptions = 0;
  std::vector<double> per_class;  // interruptions by scenario class (bad-node failures counted in their class)
  double bad_node_failures = 0;   // interruptions caused by a faulty node put back into service
  double spare_exhaustions = 0;   // replacements that found no healthy spare
  double requeues = 0;
  double memory_restores = 0;  // restarts from in-memory copies
  double file_restores = 0;    // restarts from the newest file checkpoint
  double shrinks = 0;          // nodes lost without a spare to replace them
  double grows = 0;            // restarts to take returned nodes back
  double utilization = 0;      // useful accelerator time over the whole cluster's (spares included)
};

// One run of scenario.horizon_days with `interval_s` between checkpoints.
RunResult simulate_once(const Scenario& s, double interval_s, uint64_t seed);

// The mean of every field over scenario.replications runs, seeds seed, seed+1, ...
RunResult simulate(const Scenario& s, double interval_s);

}  // namespace sigma::sim
