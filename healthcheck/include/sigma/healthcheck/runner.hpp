// Runs a preflight level (or named checks) and turns the results into a verdict: exit code and node reason.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "sigma/core/exit_codes.hpp"
#include "sigma/policy/site_config.hpp"
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
  std::vector<std::string> unjudged;  // throughput failures not held against a shared node ("membw slow ...")
};

inline constexpr std::size_t kMaxReasonLength = 64;

// Called before and after each check, for progress output.
struct RunObserver {
  std::function<void(std::size_t index, std::size_t total, const std::string& check, double budget_s)> started;
  std::function<void(std::size_t index, std::size_t total, const CheckResult& result)> finished;
};

// Whether throughput below baseline counts against the node. Not on a node that other jobs share: their load
// (a memory-copy loop in a 1-CPU job beside the burn-in) makes a healthy node look slow, and a user must not be
// able to drain a node at will. Wrong results count everywhere.
enum class Throughput { judged, shared_node };

RunReport run_plan(const RunPlan& plan, const PreflightConfig& config, const RunObserver& observer = {},
                   Throughput throughput = Throughput::judged);

// Exit code and reason from results: a failed check (SDC, slow, crash) = node_hardware; otherwise a check that
// only timed out = hang; else ok. Skipped checks never fail a node. On a shared node a check that failed on
// throughput alone does not count: it is listed in `unjudged` instead.
void decide_verdict(RunReport& report, Throughput throughput = Throughput::judged);

}  // namespace sigma::hc
