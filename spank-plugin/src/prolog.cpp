#include "sigma/spank/prolog.hpp"

#include <sys/stat.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <exception>

#include "sigma/core/error.hpp"
#include "sigma/contracts/ledger.hpp"
#include "sigma/policy/node_drains.hpp"
#include "sigma/healthcheck/preflight_process.hpp"
#include "sigma/policy/validated_nodes.hpp"
#include "sigma/spank/job_verdict.hpp"

namespace sigma::spank {
namespace {

// Whether an event was written must not decide whether a job runs (LedgerWriter only warns).
void ledger_event(const SiteConfig& config, const PrologContext& context, LedgerEvent event, nlohmann::json details) {
  LedgerWriter(config.paths.ledger, Component::spank, "sigma").record(event, std::move(details), context.node,
                                                                    context.job_id);
}

// Root runs this binary: it must be as trustworthy as the site config that names it.
void require_admin_binary(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    throw Error(ExitCode::config, fmt::format("paths.healthcheck_bin {}: not an executable file", path));
  }
  if (geteuid() == 0 && (st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH)))) {
    throw Error(ExitCode::config,
                fmt::format("paths.healthcheck_bin {}: must be owned by root and not group/world-writable", path));
  }
}

std::string last_line(const std::string& text) {
  std::string trimmed = text.substr(0, text.find_last_not_of("\n ") + 1);
  const auto newline = trimmed.rfind('\n');
  return newline == std::string::npos ? trimmed : trimmed.substr(newline + 1);
}

// The verdict from the healthcheck's exit and its JSON report.
JobVerdict verdict_of(const ChildResult& run, PreflightLevel level, double budget_s) {
  JobVerdict v{level, PrologVerdict::pass, "", run.seconds, 0, 0};
  if (run.timed_out) {
    v.verdict = PrologVerdict::killed;
    v.reason = fmt::format("sigma: preflight {} over budget {:.0f}s, killed", level_name(level), budget_s);
    return v;
  }
  if (run.exit_code == 0) return v;
  const auto report = nlohmann::json::parse(run.out, nullptr, false);
  const bool node_fault = run.exit_code == to_int(ExitCode::node_hardware) || run.exit_code == to_int(ExitCode::hang);
  v.verdict = node_fault ? PrologVerdict::fail : PrologVerdict::error;
  v.reason = report.is_object() ? report.value("reason", "") : "";
  if (v.reason.empty()) {
    v.reason = fmt::format("sigma-healthcheck exited {}{}: {}", run.exit_code,
                           run.signal ? fmt::format(" (signal {})", run.signal) : "", last_line(run.err_tail));
  }
  return v;
}

JobVerdict burn_in(const SiteConfig& config, const PluginArgs& args, const PrologContext& context,
                   PreflightLevel level) {
  require_admin_binary(config.paths.healthcheck_bin);
  const std::string name = level_name(level);
  const ChildResult run = run_preflight(config, args.config, name, {context.node, context.job_id, context.slurm_conf});
  return verdict_of(run, level, config.preflight.levels.at(name).budget_s);
}

// A cached pass, when the node has one that covers `level` and has not been drained lately (an intermittent fault
// passes now and then: one pass must not vouch for a node that keeps failing).
std::optional<JobVerdict> cached_pass(const SiteConfig& config, const StateDir& state, const PrologContext& context,
                                      PreflightLevel level) {
  if (recently_drained(state, context.node, config.preflight.recycle, now_seconds())) return std::nullopt;
  const auto validation = node_validation(state, context.node);
  if (!validation_covers(validation, level, config.preflight.result_ttl_s, now_seconds(),
                         current_boot_id())) {
    return std::nullopt;
  }
  return JobVerdict{level, PrologVerdict::cached, fmt::format("passed {} {:.0f}s ago", validation->level,
                                                 now_seconds() - validation->passed_at), 0, 0, 0};
}

// Only the node's own fault (a failed or hung burn-in) fails the prolog; a healthcheck that could not run at all
// ("error") is the admin's to fix, and a job over its requeue cap is the job's: their steps refuse to start with
// the reason instead, and the node stays in service.
PrologOutcome outcome_of(const JobVerdict& v, const PrologContext& context) {
  const std::string message =
      lets_job_start(v.verdict) ? "" : fmt::format("sigma: {} preflight {} for job {}: {}", context.node,
                                                    level_name(v.level), context.job_id, v.reason);
  return {!is_node_fault(v.verdict), message};
}

PrologOutcome decide(const SiteConfig& config, const PluginArgs& args, const PrologContext& context,
                     std::chrono::steady_clock::time_point start) {
  if (!is_plain_name(context.node) || !is_plain_name(context.job_id)) {
    throw Error(ExitCode::config, "SLURMD_NODENAME or SLURM_JOB_ID missing or malformed in the prolog environment");
  }
  StateDir state(config.paths.state_dir);
  const JobRequest request = parse_job_request(context.options);
  const PreflightLevel level = resolve_level(request, args, config);
  const int cap = requeue_cap(request, config);
  JobVerdict verdict{level, PrologVerdict::off, "", 0, cap, context.restart_count};
  if (context.restart_count > static_cast<unsigned>(cap)) {
    verdict.verdict = PrologVerdict::over_cap;
    verdict.reason = fmt::format(
        "job {} was requeued {} times, more than its cap of {} (--sigma-max-requeues, at most the site's "
        "policy.max_requeues {}): ending it instead of running it again",
        context.job_id, context.restart_count, cap, config.policy.max_requeues);
    ledger_event(config, context, LedgerEvent::requeue_cap_reached, {{"restart_count", context.restart_count}, {"cap", cap}});
  } else if (level != PreflightLevel::off) {
    auto cached = request.fresh ? std::nullopt : cached_pass(config, state, context, level);
    verdict = cached ? *cached : burn_in(config, args, context, level);
    verdict.requeue_cap = cap;
    verdict.restart_count = context.restart_count;
  }
  if (verdict.verdict == PrologVerdict::killed) {
    forget_node(state, context.node);
    ledger_event(config, context, LedgerEvent::preflight_killed, {{"level", level_name(level)}, {"reason", verdict.reason}});
  }
  write_job_verdict(state, context.job_id, context.node, verdict);
  const double prolog_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ledger_event(config, context, LedgerEvent::job_prolog,
               {{"level", level_name(level)}, {"verdict", verdict_name(verdict.verdict)}, {"reason", verdict.reason},
                {"burn_in_s", verdict.seconds}, {"prolog_s", prolog_s}});
  return outcome_of(verdict, context);
}

PrologOutcome prolog(const PrologContext& context) {
  const auto start = std::chrono::steady_clock::now();
  const PluginArgs args = parse_plugin_args(context.plugin_args);
  const SiteConfig config = load_site_config_as_admin(args.config);
  try {
    return decide(config, args, context, start);
  } catch (const std::exception& e) {
    // The site config named the ledger: what went wrong is kept there too, not only in slurmd's log.
    ledger_event(config, context, LedgerEvent::prolog_error, {{"error", e.what()}});
    throw;
  }
}

}  // namespace

PrologOutcome run_job_prolog(const PrologContext& context) {
  try {
    return prolog(context);
  } catch (const Error& e) {
    // A bad plugstack.conf argument, a broken site config or state directory is the admin's to fix, not the
    // node's: the prolog lets the job through, and its steps refuse to start (failing closed, with this message
    // for the user) when the job asked for preflight, or tell the job why sigma did nothing when it did not.
    return {true, fmt::format("sigma: job prolog on {}: {}", context.node, e.what())};
  } catch (const std::exception& e) {
    return {true, fmt::format("sigma: job prolog on {}: internal error: {}", context.node, e.what())};
  }
}

}  // namespace sigma::spank
