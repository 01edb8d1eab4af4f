// The questions asked of the simulator: which spare count and checkpoint interval maximise utilization, what
// each of sigma's mechanisms buys, and how utilization falls as failures become more frequent.
#pragma once

#include <string>
#include <vector>

#include "sigma/sim/scenario.hpp"
#include "sigma/sim/simulator.hpp"

namespace sigma::sim {

struct Evaluation {
  int spares = 0;
  double interval_s = 0;  // Young/Daly's for this spare count unless the scenario fixes one
  int every_steps = 0;    // in-memory copies every K steps (0 when they are off)
  RunResult result;
};

// The scenario with `spares` spare nodes, at its checkpoint interval.
Evaluation evaluate(Scenario s, int spares);

// Every spare count 0..max_spares (fewer than the cluster's nodes), and the best of them.
struct SpareSearch {
  std::vector<Evaluation> all;
  Evaluation best;
};
SpareSearch best_spares(const Scenario& s, int max_spares);

// Utilization over a log-spaced grid of intervals from young_daly/spread to young_daly*spread, at the scenario's
// spare count; the same seeds at every interval, so the curve is smooth.
struct IntervalPoint {
  double interval_s = 0;
  double utilization = 0;
};
struct IntervalSweep {
  std::vector<IntervalPoint> points;
  IntervalPoint best;
  IntervalPoint young_daly;
};
IntervalSweep sweep_interval(const Scenario& s, int points, double spread);

// The scenario without liveness detection, commits when durable, in-memory peer copies, and shrink and grow: sigma's
// recovery before them.
Scenario without_recovery_mechanisms(Scenario s);

// The scenario with every mechanism off: the recovery mechanisms above, preflight, in-allocation restart, async
// checkpoints and recycling.
Scenario without_mechanisms(Scenario s);

// One mechanism switched off at a time (spares re-optimised for each), then the recovery mechanisms together, and
// all of them; with memory copies on, also copies every step (K = 1) instead of the scenario's K.
struct Variant {
  std::string name;
  Evaluation evaluation;
};
std::vector<Variant> ablation(const Scenario& s, int max_spares);

// The best utilization (over spare counts) at each failure rate.
struct RatePoint {
  double failures_per_accelerator_day = 0;
  Evaluation best;
};
std::vector<RatePoint> utilization_curve(const Scenario& s, const std::vector<double>& rates, int max_spares);

// The scenario's goals: the best utilization at each goal's rate, and whether it reaches the goal.
struct GoalCheck {
  Goal goal;
  Evaluation best;
  bool met = false;
};
std::vector<GoalCheck> check_goals(const Scenario& s, int max_spares);

// The highest failure rate in [low, high] at which the best utilization is still at least `target`
// (bisection on a log scale to 0.2% of the rate; utilization falls as the rate rises).
double rate_holding(const Scenario& s, double target, double low, double high, int max_spares);

}  // namespace sigma::sim
