// Runs a preflight level (or named checks) and turns the results into a verdict: exit code and node reason.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "sigma/core/exit_codes.hpp"
#include "sigma/core/site_config.hpp"
#include "sigma/healthcheck/check.hpp"

namespace sigma::hc {

struct RunPlan {
  std::string level;                 // quick, standard, extended
  std::vector<std::string> checks;   // in run order
  double budget_s = 30;              // for the whole level
  double check_budget(std::size_t) const { return budget_s / static_cast<double>(checks.size()); }
};

// The level's checks from the config, or only `only` (each validated against check_names()) when not empty.
RunPlan make_plan(const PreflightConfig& config, const std::string& level, const std::vector<std::string>& only);

struct RunReport {
  std::string level;
  std::string node_type;
  std::vector<CheckResult> results;
  double seconds = 0;
  ExitCode exit_code = ExitCode::ok;
  std::string reason;                // "" on pass; else "sigma: gemm sdc 3/262144" (at most kMaxReasonLength)
};

inline constexpr std::size_t kMaxReasonLength = 64;

// Called before and after each check, for progress output.
struct RunObserver {
  std::function<void(std::size_t index, std::size_t total, const std::string& check, double budget_s)> started;
  std::function<void(std::size_t index, std::size_t total, const CheckResult& result)> finished;
};

RunReport run_plan(const RunPlan& plan, const PreflightConfig& config, const RunObserver& observer = {});

// Exit code and reason from results: a failed check (SDC, slow, crash) = node_hardware; otherwise a check that
// only timed out = hang; else ok. Skipped checks never fail a node.
void decide_verdict(RunReport& report);

}  // namespace sigma::hc
