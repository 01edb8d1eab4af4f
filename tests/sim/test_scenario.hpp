// The small scenario the simulator tests start from: 32 nodes x 8, one class of failure that keeps its node,
// checkpoints of 10 s (filesystem bound), every recovery mechanism that needs inputs off.
#pragma once

#include "sigma/sim/scenario.hpp"

namespace sigma::sim::test {

inline Scenario base_scenario() {
  Scenario s;
  s.source = "test";
  s.cluster = {32, 8, 0};
  s.horizon_days = 30;
  s.replications = 4;
  s.seed = 7;
  s.failures_per_accelerator_day = 2e-3;
  s.classes = {{"software", 1, 5.0, 1.5, NodeEffect::stays, 0}};
  const double bytes = 1e9;
  s.checkpoint = {0, false, bytes, 1e12, 1e12, 1e10, bytes * 32 * 8 / 10.0};
  s.policy.requeue_s = 6;
  s.policy.recycle_s = 720;
  s.policy.manual_triage_s = 86400;
  return s;
}

inline double horizon_s(const Scenario& s) { return s.horizon_days * 86400; }

}  // namespace sigma::sim::test
