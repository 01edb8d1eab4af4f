// Running narrower: the job's throughput on fewer nodes than its full width, with the same global batch spread
// over fewer data-parallel replicas.
#pragma once

#include "sigma/sim/scenario.hpp"

namespace sigma::sim {

// Data-parallel replicas on `nodes` nodes (whole replicas only).
int replicas(const Scenario& s, int nodes);

// Throughput on `nodes` nodes relative to `full` nodes: in proportion to the replicas, or with
// micro_batches_per_step N, ceil(N / full replicas) / ceil(N / replicas) (each replica runs whole micro-batches,
// so a step takes as long as its busiest replica). 0 when no replica is left.
double relative_speed(const Scenario& s, int nodes, int full);

}  // namespace sigma::sim
