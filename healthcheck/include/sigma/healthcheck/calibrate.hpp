// Calibration: run the checks several times on a known-good node and keep the median of every metric as the
// baseline for this node type.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "sigma/policy/site_config.hpp"
#include "sigma/healthcheck/baseline.hpp"
#include "sigma/healthcheck/runner.hpp"

namespace sigma::hc {

// Medians per "check.metric" over the runs; throws sigma::Error(node_hardware) when any run fails, because a
// baseline taken on a bad node would lower every threshold.
BaselineMetrics calibrate(const RunPlan& plan, const PreflightConfig& config, int runs,
                          const std::function<void(int run, const RunReport&)>& on_run = {});

}  // namespace sigma::hc
