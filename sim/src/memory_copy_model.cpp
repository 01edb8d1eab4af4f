#include "sigma/sim/memory_copy_model.hpp"

#include <algorithm>
#include <cmath>

#include "sigma/sim/checkpoint_model.hpp"

namespace sigma::sim {

bool memory_restores(const Scenario& s) { return s.memory_copy.enabled && s.policy.in_allocation_restart; }

double memory_copy_overhead(const Scenario& s, int every_steps) {
  if (!s.memory_copy.enabled) return 0;
  const double o = s.memory_copy.step_overhead;
  return o / (every_steps + o);
}

double memory_copy_waste(const Scenario& s, int every_steps, double m) {
  return memory_copy_overhead(s, every_steps) + s.memory_copy.step_s * (1 + every_steps / 2.0) / m;
}

int memory_copy_every_steps(const Scenario& s) {
  if (s.memory_copy.every_steps > 0) return s.memory_copy.every_steps;
  const double share = 1 - file_fallback_share(s);
  const double m = share > 0 ? job_mtbf_s(s) / share : HUGE_VAL;
  if (!memory_restores(s) || !std::isfinite(m)) return kMaxEverySteps;
  const double best = std::sqrt(2 * s.memory_copy.step_overhead * m / s.memory_copy.step_s);
  const int low = static_cast<int>(std::clamp(std::floor(best), 1.0, 1.0 * kMaxEverySteps));
  const int high = std::min(low + 1, kMaxEverySteps);
  return memory_copy_waste(s, high, m) < memory_copy_waste(s, low, m) ? high : low;
}

double memory_redone_s(double training_s, double step_s, int every_steps) {
  if (training_s < step_s) return training_s;
  const double span = every_steps * step_s;
  const double usable = std::floor((training_s - step_s) / span) * span;
  return training_s - usable;
}

double memory_restore_s(const Scenario& s) {
  return s.checkpoint.state_bytes_per_accelerator / s.memory_copy.restore_bytes_per_s_per_accelerator;
}

}  // namespace sigma::sim
