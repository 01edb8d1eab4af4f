// One preflight check: its result, what it is given, and the fixed set of checks a node can run.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "sigma/policy/site_config.hpp"
#include "sigma/healthcheck/baseline.hpp"

namespace sigma::hc {

enum class CheckStatus { pass, fail, skip };
std::string_view to_string(CheckStatus status);

struct CheckResult {
  std::string name;                       // gemm, membw, memtest, interconnect, cuda
  CheckStatus status = CheckStatus::pass;
  std::string reason;                     // short, fits a Slurm node reason: "gemm sdc 3/262144", "timeout"
  bool timed_out = false;                 // killed at its budget
  bool below_baseline = false;            // failed on throughput alone (results were correct): worth one re-run
  double seconds = 0;                     // wall time, measured by the parent
  std::map<std::string, double> metrics;  // e.g. "sgemm_n512_gflops"; baselines are keyed "check.metric"
  std::vector<std::string> notes;         // skipped parts and why, e.g. "bf16: skipped (CPU lacks avx512_bf16)"
};

nlohmann::json to_json(const CheckResult& result);
CheckResult check_result_from_json(const nlohmann::json& j);

// What a check runs with. Thresholds and fault injection come only from the admin-owned site config.
struct CheckContext {
  const PreflightConfig* config = nullptr;
  const BaselineMetrics* baseline = nullptr;  // this node type's medians; null = no throughput floor
  double budget_s = 10;                       // the check should finish well inside this; it is killed at it
};

using CheckFunction = CheckResult (*)(const CheckContext&);

// The checks that exist, in the order a level runs them. Names outside this set are rejected.
const std::vector<std::string>& check_names();
// nullopt for an unknown name.
std::optional<CheckFunction> find_check(const std::string& name);

// The individual checks (one file each).
CheckResult run_gemm_check(const CheckContext& ctx);
CheckResult run_membw_check(const CheckContext& ctx);
CheckResult run_memtest_check(const CheckContext& ctx);
CheckResult run_interconnect_check(const CheckContext& ctx);
CheckResult run_cuda_check(const CheckContext& ctx);

// Compares a measured throughput with the baseline: "" when fine (or no baseline), else a short reason such as
// "gemm slow sgemm_n512_gflops 61%". Higher is better for every metric this is used on.
std::string throughput_verdict(const CheckContext& ctx, const std::string& check, const std::string& metric,
                               double measured, double min_ratio);

}  // namespace sigma::hc
