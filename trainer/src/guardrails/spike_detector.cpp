#include "sigma/trainer/guardrails/spike_detector.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace sigma::trainer {
namespace {

double median_of(std::vector<double> values) {
  const size_t mid = values.size() / 2;
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(mid), values.end());
  double upper = values[mid];
  if (values.size() % 2 == 1) return upper;
  double lower = *std::max_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(mid));
  return 0.5 * (lower + upper);
}

}  // namespace

SpikeVerdict SpikeDetector::judge(double loss) const {
  SpikeVerdict verdict;
  if (window_ <= 0 || static_cast<int>(losses_.size()) < window_) return verdict;
  std::vector<double> values;
  for (const auto& [step, value] : losses_) values.push_back(value);
  verdict.median = median_of(values);
  for (auto& v : values) v = std::abs(v - verdict.median);
  const double spread = 1.4826 * median_of(values);
  verdict.threshold = verdict.median + std::max(mads_ * spread, min_rise_ * std::abs(verdict.median));
  verdict.spike = loss > verdict.threshold;
  return verdict;
}

void SpikeDetector::accept(int step, double loss) {
  if (window_ <= 0) return;
  losses_.emplace_back(step, loss);
  while (static_cast<int>(losses_.size()) > window_) losses_.pop_front();
}

void SpikeDetector::forget_after(int step) {
  while (!losses_.empty() && losses_.back().first > step) losses_.pop_back();
}

}  // namespace sigma::trainer
