// Calibration: medians over several passing runs of this node.
#include "sigma/healthcheck/calibrate.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "sigma/core/error.hpp"

namespace sigma::hc {
namespace {

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const std::size_t mid = values.size() / 2;
  return values.size() % 2 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

}  // namespace

BaselineMetrics calibrate(const RunPlan& plan, const PreflightConfig& config, int runs,
                          const std::function<void(int run, const RunReport&)>& on_run) {
  // Calibration measures the node as it is: an old baseline must not fail it, so runs use none.
  PreflightConfig unfloored = config;
  unfloored.baseline_file.clear();
  std::map<std::string, std::vector<double>> samples;
  for (int run = 0; run < runs; ++run) {
    RunReport report = run_plan(plan, unfloored);
    if (on_run) on_run(run, report);
    if (report.exit_code != ExitCode::ok) {
      throw Error(ExitCode::node_hardware,
                  fmt::format("calibrate: run {} failed ({}); calibrate only on a known-good node", run + 1,
                              report.reason));
    }
    for (const auto& r : report.results) {
      for (const auto& [metric, value] : r.metrics) samples[r.name + "." + metric].push_back(value);
    }
  }
  BaselineMetrics medians;
  for (auto& [key, values] : samples) medians[key] = median(std::move(values));
  return medians;
}

}  // namespace sigma::hc
