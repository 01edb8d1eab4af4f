#include "sigma/trainer/guardrails/straggler_tracker.hpp"

#include <algorithm>

namespace sigma::trainer {
namespace {

double median_without(const std::vector<double>& values, size_t skip) {
  std::vector<double> others;
  for (size_t i = 0; i < values.size(); ++i)
    if (i != skip) others.push_back(values[i]);
  if (others.empty()) return values[skip];
  std::sort(others.begin(), others.end());
  const size_t mid = others.size() / 2;
  return others.size() % 2 == 1 ? others[mid] : 0.5 * (others[mid - 1] + others[mid]);
}

}  // namespace

StragglerTracker::StragglerTracker(double margin, int steps, double min_seconds, int ranks)
    : margin_(margin), min_seconds_(min_seconds), steps_(steps), run_(static_cast<size_t>(ranks), 0),
      flagged_(static_cast<size_t>(ranks), false) {}

std::vector<StragglerChange> StragglerTracker::update(const std::vector<double>& compute_seconds) {
  std::vector<StragglerChange> changes;
  for (size_t r = 0; r < compute_seconds.size() && r < run_.size(); ++r) {
    const double others = median_without(compute_seconds, r);
    const double mine = compute_seconds[r];
    const bool slow = mine > others * (1 + margin_) && mine - others >= min_seconds_;
    run_[r] = slow != flagged_[r] ? run_[r] + 1 : 0;
    if (run_[r] < steps_) continue;
    flagged_[r] = slow;
    run_[r] = 0;
    changes.push_back({static_cast<int>(r), slow, mine, others});
  }
  return changes;
}

}  // namespace sigma::trainer
