#include "sigma/spank/step_setup.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <exception>

#include "sigma/core/error.hpp"
#include "sigma/spank/job_verdict.hpp"

namespace sigma::spank {
namespace {

JobVerdict verdict_for(const SiteConfig& config, const StepContext& context) {
  try {
    if (!is_plain_name(context.node) || !is_plain_name(context.job_id)) {
      return {"", "none", "no node name or job id in the step's environment", 0, 0, 0};
    }
    const StateDir state(config.paths.state_dir);
    if (auto verdict = read_job_verdict(state, context.job_id, context.node)) return *verdict;
    return {"", "none", "the job prolog left no verdict (is the plugin in slurmd's plugstack.conf?)", 0, 0, 0};
  } catch (const Error& e) {
    return {"", "none", e.what(), 0, 0, 0};
  }
}

std::string refusal_for(const StepContext& context, const std::string& level, const JobVerdict& verdict) {
  if (verdict.verdict == "over_cap") return context.batch_step ? "sigma: " + verdict.reason : "";
  if (level == "off" || verdict_passed(verdict.verdict)) return "";
  return fmt::format("sigma: {} has no passing preflight {} for job {} ({}: {}); not starting on an unvalidated node",
                     context.node, level, context.job_id, verdict.verdict, verdict.reason);
}

StepSetup setup(const StepContext& context) {
  StepSetup out;
  const JobRequest request = parse_job_request(context.options);
  PluginArgs args;
  SiteConfig config;
  try {
    args = parse_plugin_args(context.plugin_args);
    config = load_site_config_as_admin(args.config);
  } catch (const Error& e) {
    if (wants_preflight(request, context.plugin_args)) {
      out.refusal = fmt::format("sigma: preflight cannot run on {}: {}; not starting on an unvalidated node",
                                context.node, e.what());
    } else {
      out.warning = fmt::format("sigma: warning: {}: {}; no preflight or requeue cap for this job here",
                                context.node, e.what());
    }
    return out;
  }
  const JobVerdict verdict = verdict_for(config, context);
  // The level the node was burned in at is the prolog's; without a verdict, what the job asked for.
  const std::string level = verdict.level.empty() ? resolve_level(request, args, config) : verdict.level;
  out.env = {{"SIGMA_PREFLIGHT_LEVEL", level},
             {"SIGMA_PREFLIGHT_VERDICT", verdict.verdict},
             {"SIGMA_SITE_CONFIG", args.config},
             {"SIGMA_LEDGER", config.paths.ledger},
             {"SIGMA_RESTART_COUNT", std::to_string(std::max(context.restart_count, verdict.restart_count))},
             {"SIGMA_MAX_REQUEUES", std::to_string(requeue_cap(request, config))}};
  out.refusal = refusal_for(context, level, verdict);
  if (out.refusal.empty() && verdict.verdict == "none") {
    out.warning = fmt::format("sigma: warning: {}: {}; no requeue cap for this job here", context.node, verdict.reason);
  }
  return out;
}

}  // namespace

StepSetup prepare_step(const StepContext& context) {
  try {
    return setup(context);
  } catch (const Error& e) {
    return {{}, fmt::format("sigma: {}", e.what()), ""};
  } catch (const std::exception& e) {
    return {{}, fmt::format("sigma: internal error preparing the step on {}: {}", context.node, e.what()), ""};
  }
}

}  // namespace sigma::spank
