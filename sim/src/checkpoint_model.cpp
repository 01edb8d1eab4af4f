#include "sigma/sim/checkpoint_model.hpp"

#include <algorithm>
#include <cmath>

namespace sigma::sim {
namespace {

// Per-rank time at `rate`, or the filesystem's time for every rank's bytes together, whichever is longer.
double shared_io_s(const Scenario& s, double rate_per_accelerator) {
  const Checkpoint& c = s.checkpoint;
  const double total_bytes = c.state_bytes_per_accelerator * job_accelerators(s);
  return std::max(c.state_bytes_per_accelerator / rate_per_accelerator, total_bytes / c.filesystem_bytes_per_s);
}

}  // namespace

double save_s(const Scenario& s) { return shared_io_s(s, s.checkpoint.write_bytes_per_s_per_accelerator); }

double load_s(const Scenario& s) { return shared_io_s(s, s.checkpoint.read_bytes_per_s_per_accelerator); }

double save_stall_s(const Scenario& s) {
  if (!s.checkpoint.async) return save_s(s);
  return s.checkpoint.state_bytes_per_accelerator / s.checkpoint.copy_bytes_per_s_per_accelerator;
}

double job_mtbf_s(const Scenario& s) {
  const double per_second = s.failures_per_accelerator_day / 86400.0 * job_accelerators(s);
  return per_second > 0 ? 1.0 / per_second : HUGE_VAL;
}

double file_fallback_share(const Scenario& s) {
  if (!s.memory_copy.enabled || !s.policy.in_allocation_restart) return 1.0;
  double all = 0, drained = 0;  // only an incident that takes nodes can take a partner's node too
  for (const auto& c : s.classes) {
    all += c.share;
    if (c.node != NodeEffect::stays) drained += c.share;
  }
  return all > 0 ? s.memory_copy.partner_loss_fraction * drained / all : 0.0;
}

double daly_interval_s(double c, double m) {
  if (c >= 2 * m) return m;
  const double ratio = c / (2 * m);
  return std::sqrt(2 * c * m) * (1 + std::sqrt(ratio) / 3 + ratio / 9) - c;
}

double young_daly_interval_s(const Scenario& s) {
  const double share = file_fallback_share(s);
  const double m = share > 0 ? job_mtbf_s(s) / share : HUGE_VAL;
  const double c = save_stall_s(s);
  if (!std::isfinite(m)) return HUGE_VAL;
  if (!s.checkpoint.async) return daly_interval_s(c, m);
  const double redone_per_interval = s.checkpoint.commit_when_durable ? 0.5 : 1.5;
  return std::max(std::sqrt(c * m / redone_per_interval), save_s(s));
}

double checkpoint_interval_s(const Scenario& s) {
  return s.checkpoint.interval_s > 0 ? s.checkpoint.interval_s : young_daly_interval_s(s);
}

}  // namespace sigma::sim
