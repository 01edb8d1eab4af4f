#include "sigma/sim/shrink_model.hpp"

#include <cmath>

namespace sigma::sim {

int replicas(const Scenario& s, int nodes) { return nodes / s.shrink.nodes_per_replica; }

double relative_speed(const Scenario& s, int nodes, int full) {
  const int now = replicas(s, nodes), all = replicas(s, full);
  if (now <= 0 || full <= 0) return 0;
  double working = now;  // replicas' worth of throughput
  if (s.shrink.micro_batches_per_replica > 0) {
    const double batch = static_cast<double>(s.shrink.micro_batches_per_replica) * all;
    working = batch / std::ceil(batch / now);
  }
  return working * s.shrink.nodes_per_replica / full;
}

}  // namespace sigma::sim
