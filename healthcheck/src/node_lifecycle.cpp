#include "sigma/healthcheck/node_lifecycle.hpp"

#include <fmt/format.h>

#include <memory>

#include "sigma/core/error.hpp"
#include "sigma/core/ledger.hpp"
#include "sigma/core/validated_nodes.hpp"
#include "sigma/core/slurm_node.hpp"

namespace sigma::hc {
namespace {

void warn(const std::string& message) { fmt::print(stderr, "sigma-healthcheck: warning: {}\n", message); }

// The ledger records what happened; failing to write it must not change what happens to the node.
void ledger_event(const SiteConfig& config, const std::string& node, const std::string& name, nlohmann::json details) {
  Event event;
  event.component = "healthcheck";
  event.event = name;
  event.host = node;
  event.details = std::move(details);
  if (const auto error = record_event(config.paths.ledger, std::move(event)); !error.empty()) warn(error);
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

void drain(const SiteConfig& config, const std::string& node, const std::string& reason, const char* event) {
  update_cache(config, node, "");
  try {
    drain_node(node, reason);
    fmt::print(stderr, "sigma-healthcheck: drained {}: {}\n", node, reason);
  } catch (const Error& e) {
    fmt::print(stderr, "sigma-healthcheck: {}\n", e.what());
  }
  ledger_event(config, node, event, {{"reason", reason}});
}

bool sigma_drained(const NodeStatus& status) { return status.reason.rfind(kSigmaReasonPrefix, 0) == 0; }

ExitCode recycle(const SiteConfig& config, const std::string& node, const NodeStatus& status,
                 const RunLevel& run_level) {
  const auto& recycle = config.preflight.recycle;
  const double drained_for = now_seconds() - status.reason_time;
  if (status.busy || !recycle.enabled) return ExitCode::ok;
  if (drained_for < recycle.hold_off_s) {
    fmt::print(stderr, "sigma-healthcheck: {} drained by sigma ({}); re-validation in {:.0f}s\n", node,
               status.reason, recycle.hold_off_s - drained_for);
    return ExitCode::ok;
  }
  ledger_event(config, node, "node_validating",
               {{"level", recycle.level}, {"drained_for_s", drained_for}, {"drain_reason", status.reason}});
  const RunReport report = run_level(recycle.level);
  if (report.exit_code != ExitCode::ok) {
    // Draining again with the new reason restarts the hold-off.
    drain(config, node, report.reason, "node_recycle_failed");
    return report.exit_code;
  }
  resume_node(node);
  update_cache(config, node, recycle.level);
  ledger_event(config, node, "node_resumed", {{"level", recycle.level}, {"drained_for_s", drained_for}});
  fmt::print(stderr, "sigma-healthcheck: resumed {} after it passed {}\n", node, recycle.level);
  return ExitCode::ok;
}

}  // namespace

ExitCode preflight_node(const SiteConfig& config, const std::string& node, const std::string& level,
                        const RunLevel& run_level) {
  const RunReport report = run_level(level);
  if (report.exit_code == ExitCode::ok) {
    update_cache(config, node, level);
  } else {
    drain(config, node, report.reason, "node_drained");
  }
  return report.exit_code;
}

ExitCode nhc_node(const SiteConfig& config, const std::string& node, const std::string& level,
                  const RunLevel& run_level) {
  NodeStatus status;
  try {
    status = query_node(node);
  } catch (const Error& e) {
    warn(fmt::format("{}; checking {} as a node in service", e.what(), node));  // slurmctld unreachable
  }
  if (!status.drain) return preflight_node(config, node, level, run_level);
  update_cache(config, node, "");  // any drain invalidates the node's last pass
  if (!sigma_drained(status)) {
    fmt::print(stderr, "sigma-healthcheck: {} drained by someone else (\"{}\"): left alone\n", node, status.reason);
    return ExitCode::ok;
  }
  return recycle(config, node, status, run_level);
}

}  // namespace sigma::hc
