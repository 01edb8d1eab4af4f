// Runs the plan's checks one after another, each isolated in its own child with its share of the budget.
#include "sigma/healthcheck/runner.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "sigma/core/error.hpp"
#include "sigma/healthcheck/isolated_run.hpp"

namespace sigma::hc {
namespace {

// A throughput failure can be a co-tenant's burst rather than the node, so it is confirmed by one re-run when the
// level's budget still has room; a node that is really slow is slow again. Wrong results are never re-run: one
// silent corruption is enough. Interconnect is not re-run here: all ranks would have to agree to re-run together.
void confirm_if_slow(CheckResult& result, const std::string& name, const CheckContext& ctx, const RunPlan& plan,
                     std::chrono::steady_clock::time_point start) {
  if (!result.below_baseline || result.status != CheckStatus::fail) return;
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CheckContext again = ctx;
  again.budget_s = std::min(ctx.budget_s, plan.budget_s - elapsed);  // the re-run must not overrun the level
  if (again.budget_s < 2 * result.seconds) return;
  const std::string first_reason = result.reason;
  const double first_seconds = result.seconds;
  result = run_isolated(name, *find_check(name), again);
  result.seconds += first_seconds;
  result.notes.push_back(result.status == CheckStatus::pass ? "first run " + first_reason + ", re-run passed"
                                                            : "confirmed by a re-run (first: " + first_reason + ")");
}

}  // namespace

RunPlan make_plan(const PreflightConfig& config, const std::string& level, const std::vector<std::string>& only) {
  auto it = config.levels.find(level);
  if (it == config.levels.end()) {
    throw Error(ExitCode::usage, fmt::format("--level: expected quick, standard or extended, got \"{}\"", level));
  }
  RunPlan plan{level, only.empty() ? it->second.checks : only, it->second.budget_s};
  for (const auto& name : plan.checks) {
    if (!find_check(name)) {
      throw Error(ExitCode::usage,
                  fmt::format("--check: expected one of {}, got \"{}\"", fmt::join(check_names(), ", "), name));
    }
  }
  if (plan.checks.empty()) throw Error(ExitCode::config, fmt::format("level {} has no checks", level));
  return plan;
}

RunReport run_plan(const RunPlan& plan, const PreflightConfig& config, const RunObserver& observer,
                   Throughput throughput) {
  RunReport report;
  report.level = plan.level;
  report.node_type = node_type();
  const auto baseline = load_baseline(config.baseline_file, report.node_type);
  const auto start = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < plan.checks.size(); ++i) {
    const auto& name = plan.checks[i];
    CheckContext ctx{&config, baseline ? &*baseline : nullptr, plan.check_budget(i)};
    if (observer.started) observer.started(i, plan.checks.size(), name, ctx.budget_s);
    report.results.push_back(run_isolated(name, *find_check(name), ctx));
    confirm_if_slow(report.results.back(), name, ctx, plan, start);
    if (observer.finished) observer.finished(i, plan.checks.size(), report.results.back());
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  decide_verdict(report, throughput);
  return report;
}

void decide_verdict(RunReport& report, Throughput throughput) {
  std::vector<const CheckResult*> hardware, hung;
  report.unjudged.clear();
  for (const auto& r : report.results) {
    if (r.status != CheckStatus::fail) continue;
    if (r.below_baseline && !r.timed_out && throughput == Throughput::shared_node) {
      report.unjudged.push_back(r.reason);
      continue;
    }
    (r.timed_out ? hung : hardware).push_back(&r);
  }
  const auto& first = hardware.empty() ? hung : hardware;
  if (first.empty()) {
    report.exit_code = ExitCode::ok;
    report.reason.clear();
    return;
  }
  report.exit_code = hardware.empty() ? ExitCode::hang : ExitCode::node_hardware;
  const std::size_t others = hardware.size() + hung.size() - 1;
  std::string reason = "sigma: " + first.front()->reason;
  const std::string more = others ? fmt::format(" +{}", others) : "";
  if (reason.size() + more.size() > kMaxReasonLength) reason.resize(kMaxReasonLength - more.size());
  report.reason = reason + more;
}

}  // namespace sigma::hc
