#include "sigma/sim/shrink_model.hpp"

#include <cmath>

namespace sigma::sim {

int replicas(const Scenario& s, int nodes) { return nodes / s.shrink.nodes_per_replica; }

double relative_speed(const Scenario& s, int nodes, int full) {
  const int now = replicas(s, nodes), all = replicas(s, full);
  if (now <= 0 || all <= 0) return 0;
  const int batch = s.shrink.micro_batches_per_step;
  if (batch <= 0) return static_cast<double>(now) / all;
  return std::ceil(static_cast<double>(batch) / all) / std::ceil(static_cast<double>(batch) / now);
}

}  // namespace sigma::sim
