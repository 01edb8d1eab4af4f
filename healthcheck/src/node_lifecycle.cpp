#include "sigma/healthcheck/node_lifecycle.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <optional>

#include "sigma/core/error.hpp"
#include "sigma/contracts/ledger.hpp"
#include "sigma/policy/node_drains.hpp"
#include "sigma/policy/validated_nodes.hpp"

namespace sigma::hc {
namespace {

// Slurm keeps whole seconds: a drain sigma recorded and the reason time Slurm gave it differ by this much at most.
constexpr double kSameDrainSlack_s = 5;

void warn(const std::string& message) { fmt::print(stderr, "sigma-healthcheck: warning: {}\n", message); }

// The ledger records what happened; failing to write it must not change what happens to the node.
void ledger_event(const SiteConfig& config, const std::string& node, LedgerEvent event, nlohmann::json details) {
  LedgerWriter(config.paths.ledger, Component::healthcheck, "sigma-healthcheck").record(event, std::move(details), node);
}

// The cache only saves time: when paths.state_dir is unusable, burn-ins simply are not skipped.
void update_cache(const SiteConfig& config, const std::string& node, const std::string& passed_level) {
  try {
    StateDir state(config.paths.state_dir);
    if (passed_level.empty()) {
      forget_node(state, node);
    } else {
      record_node_passed(state, node, passed_level, now_seconds());
    }
  } catch (const Error& e) {
    warn(e.what());
  }
}

// The node's drain history, after adding a drain at `at` when given. Unusable state: no history (a warning).
std::vector<double> drain_history(const SiteConfig& config, const std::string& node, std::optional<double> at) {
  try {
    StateDir state(config.paths.state_dir);
    if (at) record_node_drain(state, node, *at);
    return node_drain_times(state, node);
  } catch (const Error& e) {
    warn(e.what());
    return {};
  }
}

std::optional<NodeStatus> query(const NodeControl& control, const std::string& node) {
  try {
    return control.query(node);
  } catch (const Error& e) {
    warn(e.what());
    return std::nullopt;
  }
}

bool sigma_reason(const std::string& reason) { return reason.rfind(kSigmaReasonPrefix, 0) == 0; }

void set_drain(const NodeControl& control, const std::string& node, const std::string& reason) {
  try {
    control.drain(node, reason);
    fmt::print(stderr, "sigma-healthcheck: drained {}: {}\n", node, reason);
  } catch (const Error& e) {
    fmt::print(stderr, "sigma-healthcheck: {}\n", e.what());
  }
}

// Drains the node for `reason`, counting the drain; one drain too many within the flap window holds it for a
// human instead. A node that someone else drained in the meantime keeps their reason: it is drained anyway, and
// their reason is theirs (an admin's "replacing DIMM" must not become a sigma reason that recycling resumes).
void drain(const SiteConfig& config, const NodeControl& control, const std::string& node, const std::string& reason,
           LedgerEvent event) {
  update_cache(config, node, "");
  const auto current = query(control, node);
  if (current && current->drain && !sigma_reason(current->reason)) {
    fmt::print(stderr, "sigma-healthcheck: {} already drained by someone else (\"{}\"): not drained for {}\n", node,
               current->reason, reason);
    ledger_event(config, node, LedgerEvent::node_drain_skipped, {{"reason", reason}, {"current_reason", current->reason}});
    return;
  }
  const auto& recycle = config.preflight.recycle;
  const double now = now_seconds();
  const std::size_t drains = drains_within(drain_history(config, node, now), now, recycle.flap_window_s);
  const bool flapping = is_flapping(drains, recycle);
  const std::string applied = flapping ? flapping_reason(drains, recycle) : reason;
  set_drain(control, node, applied);
  ledger_event(config, node, event, {{"reason", applied}, {"check_reason", reason}, {"recent_drains", drains}});
  if (flapping) ledger_event(config, node, LedgerEvent::node_flapping, {{"reason", applied}, {"last_failure", reason}});
}

// Holds a node that keeps coming back for a human; the recycle never resumes a flapping reason.
ExitCode quarantine(const SiteConfig& config, const NodeControl& control, const std::string& node,
                    const NodeStatus& status, std::size_t drains) {
  const std::string reason = flapping_reason(drains, config.preflight.recycle);
  set_drain(control, node, reason);
  ledger_event(config, node, LedgerEvent::node_flapping, {{"reason", reason}, {"last_failure", status.reason}});
  return ExitCode::ok;
}

ExitCode recycle(const SiteConfig& config, const NodeControl& control, const std::string& node,
                 const NodeStatus& status, const RunLevel& run_level) {
  const auto& recycle = config.preflight.recycle;
  if (status.busy || !recycle.enabled) return ExitCode::ok;
  if (is_flapping_reason(status.reason)) {
    fmt::print(stderr, "sigma-healthcheck: {} is flapping (\"{}\"): left drained for a human\n", node, status.reason);
    return ExitCode::ok;
  }
  const double now = now_seconds();
  auto drains = drain_history(config, node, std::nullopt);
  // A sigma drain this history does not have yet (by sigma-launch, or an older sigma) counts once, at its time.
  if (status.reason_time > last_drain(drains) + kSameDrainSlack_s) drains = drain_history(config, node, status.reason_time);
  const std::size_t recent = drains_within(drains, now, recycle.flap_window_s);
  if (is_flapping(recent, recycle)) return quarantine(config, control, node, status, recent);
  // A re-drain restarts the hold-off, also when Slurm kept the reason time of an unchanged reason.
  const double drained_for = now - std::max(status.reason_time, last_drain(drains));
  if (drained_for < recycle.hold_off_s) {
    fmt::print(stderr, "sigma-healthcheck: {} drained by sigma ({}); re-validation in {:.0f}s\n", node,
               status.reason, recycle.hold_off_s - drained_for);
    return ExitCode::ok;
  }
  ledger_event(config, node, LedgerEvent::node_validating,
               {{"level", recycle.level}, {"drained_for_s", drained_for}, {"drain_reason", status.reason}});
  const RunReport report = run_level(recycle.level, Throughput::judged);
  // The burn-in took a while: act only if the node is still in the drain this pass began with.
  const auto current = query(control, node);
  if (!current || !same_drain(status, *current)) {
    const std::string now_reason = current ? (current->drain ? current->reason : "in service") : "unknown";
    fmt::print(stderr, "sigma-healthcheck: {} changed during its re-validation (now: \"{}\"): left alone\n", node,
               now_reason);
    ledger_event(config, node, LedgerEvent::node_recycle_abandoned,
                 {{"drain_reason", status.reason}, {"now", now_reason}, {"verdict", report.reason}});
    return report.exit_code;
  }
  if (report.exit_code != ExitCode::ok) {
    drain(config, control, node, report.reason, LedgerEvent::node_recycle_failed);
    return report.exit_code;
  }
  try {
    control.resume(node);
  } catch (const Error& e) {
    fmt::print(stderr, "sigma-healthcheck: {}\n", e.what());
    return ExitCode::ok;
  }
  update_cache(config, node, recycle.level);
  ledger_event(config, node, LedgerEvent::node_resumed, {{"level", recycle.level}, {"drained_for_s", drained_for}});
  fmt::print(stderr, "sigma-healthcheck: resumed {} after it passed {}\n", node, recycle.level);
  return ExitCode::ok;
}

}  // namespace

bool same_drain(const NodeStatus& before, const NodeStatus& now) {
  return now.drain && now.reason == before.reason && now.reason_time == before.reason_time;
}

ExitCode preflight_node(const SiteConfig& config, const std::string& node, const std::string& level,
                        const RunLevel& run_level, Throughput throughput, const NodeControl& control) {
  const RunReport report = run_level(level, throughput);
  if (report.exit_code != ExitCode::ok) {
    drain(config, control, node, report.reason, LedgerEvent::node_drained);
  } else if (!report.unjudged.empty()) {
    // Not a full pass: the cache must not vouch for a throughput nobody judged.
    update_cache(config, node, "");
    ledger_event(config, node, LedgerEvent::throughput_not_judged, {{"level", level}, {"unjudged", report.unjudged}});
  } else {
    update_cache(config, node, level);
  }
  return report.exit_code;
}

ExitCode nhc_node(const SiteConfig& config, const std::string& node, const std::string& level,
                  const RunLevel& run_level, const NodeControl& control) {
  const auto status = query(control, node);  // none: slurmctld unreachable; checked as a node in service
  if (!status || !status->drain) {
    // Jobs on the node (or not knowing) make its throughput no evidence about it.
    const bool alone = status && !status->busy;
    return preflight_node(config, node, level, run_level, alone ? Throughput::judged : Throughput::shared_node,
                          control);
  }
  update_cache(config, node, "");  // any drain invalidates the node's last pass
  if (!sigma_reason(status->reason)) {
    fmt::print(stderr, "sigma-healthcheck: {} drained by someone else (\"{}\"): left alone\n", node, status->reason);
    return ExitCode::ok;
  }
  return recycle(config, control, node, *status, run_level);
}

}  // namespace sigma::hc
