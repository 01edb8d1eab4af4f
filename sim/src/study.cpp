#include "sigma/sim/study.hpp"

#include <algorithm>
#include <cmath>

#include "sigma/sim/checkpoint_model.hpp"
#include "sigma/sim/memory_copy_model.hpp"

namespace sigma::sim {

Evaluation evaluate(Scenario s, int spares) {
  s.cluster.spare_nodes = spares;
  const double interval = checkpoint_interval_s(s);
  const int every = memory_copy_every_steps(s);
  const bool copies = s.memory_copy.enabled && every < kMaxEverySteps;  // none are made when none can restore
  return {spares, interval, copies ? every : 0, simulate(s, interval)};
}

SpareSearch best_spares(const Scenario& s, int max_spares) {
  SpareSearch search;
  const int top = std::min(max_spares, s.cluster.nodes - 1);
  for (int spares = 0; spares <= top; ++spares) {
    search.all.push_back(evaluate(s, spares));
    if (spares == 0 || search.all.back().result.utilization > search.best.result.utilization) {
      search.best = search.all.back();
    }
  }
  return search;
}

IntervalSweep sweep_interval(const Scenario& s, int points, double spread) {
  IntervalSweep sweep;
  const double center = young_daly_interval_s(s);
  sweep.young_daly = {center, simulate(s, center).utilization};
  sweep.best = sweep.young_daly;
  for (int i = 0; i < points; ++i) {
    const double exponent = points > 1 ? -1.0 + 2.0 * i / (points - 1) : 0.0;
    const double interval = center * std::pow(spread, exponent);
    sweep.points.push_back({interval, simulate(s, interval).utilization});
    if (sweep.points.back().utilization > sweep.best.utilization) sweep.best = sweep.points.back();
  }
  return sweep;
}

Scenario without_recovery_mechanisms(Scenario s) {
  s.policy.liveness = false;
  s.checkpoint.commit_when_durable = false;
  s.memory_copy.enabled = false;
  s.shrink.enabled = false;
  return s;
}

Scenario without_mechanisms(Scenario s) {
  s = without_recovery_mechanisms(s);
  s.policy.preflight = false;
  s.policy.in_allocation_restart = false;
  s.checkpoint.async = false;
  s.policy.recycling = false;
  return s;
}

std::vector<Variant> ablation(const Scenario& s, int max_spares) {
  struct Switch {
    const char* name;
    void (*apply)(Scenario&);
    bool only_with_memory_copies = false;  // a variant of the copies, meaningless when they are off
  };
  const Switch switches[] = {
      {"sigma (everything on)", [](Scenario&) {}},
      {"no liveness detection (Slurm's node timeout, rank exits)", [](Scenario& v) { v.policy.liveness = false; }},
      {"checkpoints committed at the next save, not when durable",
       [](Scenario& v) { v.checkpoint.commit_when_durable = false; }},
      {"no in-memory peer copies", [](Scenario& v) { v.memory_copy.enabled = false; }},
      {"in-memory copies every step (K = 1)", [](Scenario& v) { v.memory_copy.every_steps = 1; }, true},
      {"no shrink and grow (spares only)", [](Scenario& v) { v.shrink.enabled = false; }},
      {"no preflight", [](Scenario& v) { v.policy.preflight = false; }},
      {"requeue only (no in-allocation restart)", [](Scenario& v) { v.policy.in_allocation_restart = false; }},
      {"synchronous checkpoints", [](Scenario& v) { v.checkpoint.async = false; }},
      {"no node recycling", [](Scenario& v) { v.policy.recycling = false; }},
      {"none of the four recovery mechanisms above", [](Scenario& v) { v = without_recovery_mechanisms(v); }},
      {"none of them", [](Scenario& v) { v = without_mechanisms(v); }},
  };
  std::vector<Variant> variants;
  for (const auto& sw : switches) {
    if (sw.only_with_memory_copies && !s.memory_copy.enabled) continue;
    Scenario v = s;
    sw.apply(v);
    variants.push_back({sw.name, best_spares(v, max_spares).best});
  }
  return variants;
}

std::vector<RatePoint> utilization_curve(const Scenario& s, const std::vector<double>& rates, int max_spares) {
  std::vector<RatePoint> curve;
  for (double rate : rates) {
    Scenario v = s;
    v.failures_per_accelerator_day = rate;
    curve.push_back({rate, best_spares(v, max_spares).best});
  }
  return curve;
}

std::vector<GoalCheck> check_goals(const Scenario& s, int max_spares) {
  std::vector<GoalCheck> checks;
  for (const Goal& goal : s.goals) {
    Scenario v = s;
    v.failures_per_accelerator_day = goal.failures_per_accelerator_day;
    const Evaluation best = best_spares(v, max_spares).best;
    checks.push_back({goal, best, best.result.utilization >= goal.utilization});
  }
  return checks;
}

double rate_holding(const Scenario& s, double target, double low, double high, int max_spares) {
  // Whether some spare count reaches the target: the first that does settles it (the best would too).
  auto holds = [&](double rate) {
    Scenario v = s;
    v.failures_per_accelerator_day = rate;
    for (int spares = 0; spares <= std::min(max_spares, s.cluster.nodes - 1); ++spares) {
      if (evaluate(v, spares).result.utilization >= target) return true;
    }
    return false;
  };
  if (!holds(low)) return low;
  if (holds(high)) return high;
  while (high > low * 1.002) {  // to 0.2% of the rate, below the figure's three digits' step
    const double middle = std::sqrt(low * high);
    (holds(middle) ? low : high) = middle;
  }
  return low;
}

}  // namespace sigma::sim
