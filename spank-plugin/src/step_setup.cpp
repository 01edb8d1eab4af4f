#include "sigma/spank/step_setup.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <exception>

#include "sigma/contracts/env_names.hpp"
#include "sigma/core/error.hpp"
#include "sigma/spank/job_verdict.hpp"

namespace sigma::spank {
namespace {

// The prolog's verdict; without one, verdict none at `asked` (what the job asked for) and why there is none.
JobVerdict verdict_for(const SiteConfig& config, const StepContext& context, PreflightLevel asked) {
  const auto none = [asked](const std::string& why) { return JobVerdict{asked, PrologVerdict::none, why, 0, 0, 0}; };
  try {
    if (!is_plain_name(context.node) || !is_plain_name(context.job_id)) {
      return none("no node name or job id in the step's environment");
    }
    const StateDir state(config.paths.state_dir);
    if (auto verdict = read_job_verdict(state, context.job_id, context.node)) return *verdict;
    return none("the job prolog left no verdict (is the plugin in slurmd's plugstack.conf?)");
  } catch (const Error& e) {
    return none(e.what());
  }
}

std::string refusal_for(const StepContext& context, const JobVerdict& verdict) {
  if (verdict.verdict == PrologVerdict::over_cap) return context.batch_step ? "sigma: " + verdict.reason : "";
  if (verdict.level == PreflightLevel::off || lets_job_start(verdict.verdict)) return "";
  return fmt::format("sigma: {} has no passing preflight {} for job {} ({}: {}); not starting on an unvalidated node",
                     context.node, level_name(verdict.level), context.job_id, verdict_name(verdict.verdict),
                     verdict.reason);
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
  // The level the node was burned in at is the prolog's; without a verdict, what the job asked for.
  const JobVerdict verdict = verdict_for(config, context, resolve_level(request, args, config));
  out.env = {{env::kPreflightLevel, level_name(verdict.level)},
             {env::kPreflightVerdict, verdict_name(verdict.verdict)},
             {env::kSiteConfig, args.config},
             {env::kLedger, config.paths.ledger},
             {env::kRestartCount, std::to_string(std::max(context.restart_count, verdict.restart_count))},
             {env::kMaxRequeues, std::to_string(requeue_cap(request, config))}};
  out.refusal = refusal_for(context, verdict);
  if (out.refusal.empty() && verdict.verdict == PrologVerdict::none) {
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
