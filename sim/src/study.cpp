#include "sigma/sim/study.hpp"

#include <algorithm>
#include <cmath>

#include "sigma/sim/checkpoint_model.hpp"

namespace sigma::sim {

Evaluation evaluate(Scenario s, int spares) {
  s.cluster.spare_nodes = spares;
  const double interval = checkpoint_interval_s(s);
  return {spares, interval, simulate(s, interval)};
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

Scenario without_mechanisms(Scenario s) {
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
  };
  const Switch switches[] = {
      {"sigma (everything on)", [](Scenario&) {}},
      {"no preflight", [](Scenario& v) { v.policy.preflight = false; }},
      {"requeue only (no in-allocation restart)", [](Scenario& v) { v.policy.in_allocation_restart = false; }},
      {"synchronous checkpoints", [](Scenario& v) { v.checkpoint.async = false; }},
      {"no node recycling", [](Scenario& v) { v.policy.recycling = false; }},
      {"none of them", [](Scenario& v) { v = without_mechanisms(v); }},
  };
  std::vector<Variant> variants;
  for (const auto& sw : switches) {
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

double rate_holding(const Scenario& s, double target, double low, double high, int max_spares) {
  auto holds = [&](double rate) {
    Scenario v = s;
    v.failures_per_accelerator_day = rate;
    return best_spares(v, max_spares).best.result.utilization >= target;
  };
  if (!holds(low)) return low;
  if (holds(high)) return high;
  for (int i = 0; i < 20; ++i) {  // 20 halvings of the log range: well under 1% of the rate
    const double middle = std::sqrt(low * high);
    (holds(middle) ? low : high) = middle;
  }
  return low;
}

}  // namespace sigma::sim
