// Running narrower: the job's throughput on fewer nodes than its full width, with the same global batch spread
// over fewer data-parallel replicas.
#pragma once

#include "sigma/sim/scenario.hpp"

namespace sigma::sim {

// Data-parallel replicas on `nodes` nodes (whole replicas only).
int replicas(const Scenario& s, int nodes);

// Throughput on `nodes` nodes as a share of `full` nodes all working: nodes that form no whole replica do nothing.
// The global batch is sized for the full width: micro_batches_per_replica m on each of its R replicas. With m = 0
// throughput follows the replicas; with m > 0, r replicas run ceil(m R / r) micro-batches each, so a step takes as
// long as the busiest one. 0 when no replica is left.
double relative_speed(const Scenario& s, int nodes, int full);

}  // namespace sigma::sim
