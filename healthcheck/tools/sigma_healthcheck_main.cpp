// sigma-healthcheck: preflight burn-in for a node, run as root from the Slurm prolog, as slurm.conf's
// HealthCheckProgram (nhc), or by an admin (calibrate). Every option is checked against a fixed set; nothing
// from the command line is executed, and fault injection can only come from the site config.
#include <boost/program_options.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <iostream>

#include "sigma/contracts/env_names.hpp"
#include "sigma/contracts/node_name.hpp"
#include "sigma/core/cli.hpp"
#include "sigma/core/error.hpp"
#include "sigma/platform/mpi_process.hpp"
#include "sigma/policy/site_config.hpp"
#include "sigma/healthcheck/calibrate.hpp"
#include "sigma/healthcheck/node_lifecycle.hpp"
#include "sigma/healthcheck/report.hpp"
#include "sigma/healthcheck/runner.hpp"
#include "sigma/platform/slurm_node.hpp"

namespace po = boost::program_options;
using namespace sigma;
using namespace sigma::hc;

namespace {

constexpr const char* kUsage = R"(usage:
  sigma-healthcheck [run] [--level quick|standard|extended] [--check NAME]... [--json] [--config FILE]
  sigma-healthcheck preflight [--level L] [--json] [--config FILE]
        the job prolog's burn-in: the level's node-local checks; pass: remembered in the validated-node cache;
        fail: this node is drained through the Slurm API with the reason
  sigma-healthcheck nhc   [--level L] [--check NAME]... [--config FILE]
        as HealthCheckProgram: a node in service is checked as by preflight; a node that sigma drained is
        burned in again at preflight.recycle.level after its hold-off and resumed when it passes; a node drained
        by anyone else is left alone
  sigma-healthcheck calibrate [--level L] [--check NAME]... [--runs N] [--output FILE] [--config FILE]
        run N times on a known-good node; write the medians as this node type's baseline
  sigma-healthcheck list      the checks and levels
checks: gemm membw memtest interconnect cuda  (interconnect: srun --mpi=pmix, one rank per node)
exit codes: 0 pass, 2 usage, 3 config, 10 a check failed (drain), 12 a check timed out and none failed)";

constexpr int kMaxCalibrationRuns = 100;

// As root, read only a config that only root can change. Fault injection applies to the nodes it names.
SiteConfig load_config(const po::variables_map& vm) {
  SiteConfig config = load_site_config_as_admin(vm["config"].as<std::string>());
  auto& faults = config.preflight.fault_injection;
  if (!faults.nodes.empty() && !hostlist_contains(faults.nodes, this_node_name())) faults.enabled = false;
  return config;
}

std::string level_from(const po::variables_map& vm, const SiteConfig& config) {
  return vm.count("level") ? vm["level"].as<std::string>() : config.preflight.default_level;
}

RunPlan plan_from(const po::variables_map& vm, const SiteConfig& config, const std::string& level) {
  const auto only = vm.count("check") ? vm["check"].as<std::vector<std::string>>() : std::vector<std::string>{};
  return make_plan(config.preflight, level, only);
}

// A job prolog runs on one node alone: the interconnect check needs one rank per node under srun, so the
// prolog's burn-in is the level's other checks (the interconnect is checked under srun by the job itself).
RunPlan node_local_plan(const SiteConfig& config, const std::string& level) {
  RunPlan plan = make_plan(config.preflight, level, {});
  std::erase(plan.checks, std::string("interconnect"));
  return plan;
}

RunObserver progress_to_stderr() {
  RunObserver observer;
  observer.started = [](std::size_t i, std::size_t total, const std::string& name, double budget) {
    fmt::print(stderr, "[{}/{}] {} (budget {:.0f}s) ...\n", i + 1, total, name, budget);
  };
  observer.finished = [](std::size_t, std::size_t, const CheckResult& r) {
    fmt::print(stderr, "      {}\n", format_progress_line(r));
  };
  return observer;
}

// The ledger and metrics record what happened; failing to write them must not change the node's verdict.
void record(const SiteConfig& config, const RunReport& report) {
  record_report(LedgerWriter(config.paths.ledger, Component::healthcheck, "sigma-healthcheck"), report);
  try {
    if (!config.paths.metrics_dir.empty()) write_prometheus_textfile(config.paths.metrics_dir, report);
  } catch (const Error& e) {
    fmt::print(stderr, "sigma-healthcheck: warning: {}\n", e.what());
  }
}

bool throughput_only_failure(const RunReport& report) {
  return std::any_of(report.results.begin(), report.results.end(), [](const CheckResult& r) {
    return r.status == CheckStatus::fail && r.below_baseline && !r.timed_out;
  });
}

// `throughput` is asked only when a check failed on throughput alone (it may ask slurmctld: no cost otherwise).
RunReport run_and_record(const po::variables_map& vm, const SiteConfig& config, const RunPlan& plan,
                         const std::function<Throughput()>& throughput = [] { return Throughput::judged; }) {
  RunReport report;
  report.level = plan.level;
  if (!plan.checks.empty()) report = run_plan(plan, config.preflight, progress_to_stderr());
  if (throughput_only_failure(report)) decide_verdict(report, throughput());
  record(config, report);
  if (vm.count("json")) {
    std::cout << to_json(report).dump(2) << std::endl;
  } else {
    std::cout << format_table(report) << std::flush;
  }
  return report;
}

// Throughput is judged only where no other job can run beside the burn-in: the job the prolog runs for holds
// every CPU of the node (or no job is named: an admin's own run). Not knowing counts as shared.
Throughput preflight_throughput(const std::string& node) {
  const char* job = std::getenv(env::kSlurmJobId);
  if (job == nullptr || *job == '\0') return Throughput::judged;
  try {
    return job_has_whole_node(job, node) ? Throughput::judged : Throughput::shared_node;
  } catch (const Error& e) {
    fmt::print(stderr, "sigma-healthcheck: warning: {}; throughput not judged\n", e.what());
    return Throughput::shared_node;
  }
}

// The prolog's burn-in: whether the node is shared is asked of slurmctld only after a throughput failure.
ExitCode preflight(const po::variables_map& vm, const SiteConfig& config) {
  const std::string node = this_node_name();
  return preflight_node(config, node, level_from(vm, config), [&](const std::string& level, Throughput) {
    return run_and_record(vm, config, node_local_plan(config, level), [&] { return preflight_throughput(node); });
  });
}

ExitCode nhc(const po::variables_map& vm, const SiteConfig& config) {
  return nhc_node(config, this_node_name(), level_from(vm, config), [&](const std::string& level, Throughput throughput) {
    return run_and_record(vm, config, plan_from(vm, config, level), [throughput] { return throughput; });
  });
}

ExitCode calibrate_command(const po::variables_map& vm, const SiteConfig& config) {
  const int runs = vm["runs"].as<int>();
  if (runs < 1 || runs > kMaxCalibrationRuns) usage_error(fmt::format("--runs: expected 1..{}", kMaxCalibrationRuns));
  const std::string output = vm.count("output") ? vm["output"].as<std::string>() : config.preflight.baseline_file;
  if (output.empty()) usage_error("calibrate: preflight.baseline_file is not set; pass --output FILE");
  const auto medians = calibrate(plan_from(vm, config, level_from(vm, config)), config.preflight, runs, [](int run, const RunReport& r) {
    fmt::print(stderr, "calibrate: run {} {} in {:.1f}s\n", run + 1, r.exit_code == ExitCode::ok ? "ok" : "FAILED",
               r.seconds);
  });
  save_baseline(output, node_type(), medians, runs);
  fmt::print("{}: baseline for {} ({} metrics, median of {} runs)\n", output, node_type(), medians.size(), runs);
  for (const auto& [key, value] : medians) fmt::print("  {:<40} {:.4g}\n", key, value);
  return ExitCode::ok;
}

ExitCode list(const SiteConfig& config) {
  fmt::print("checks: {}\n", fmt::join(check_names(), " "));
  for (const auto& [name, level] : config.preflight.levels) {
    fmt::print("level {:<9} budget {:>6.0f}s  checks: {}\n", name, level.budget_s, fmt::join(level.checks, " "));
  }
  return ExitCode::ok;
}

ExitCode run(int argc, char** argv) {
  po::options_description options("options");
  options.add_options()("help,h", "this text")(
      "config", po::value<std::string>()->default_value(default_site_config_path()), "site config (root-owned)")(
      "level", po::value<std::string>(), "quick, standard or extended (default: preflight.default_level)")(
      "check", po::value<std::vector<std::string>>()->composing(), "run only this check (repeatable)")(
      "json", "print the report as JSON")("runs", po::value<int>()->default_value(5), "calibrate: runs")(
      "output", po::value<std::string>(), "calibrate: baseline file (default: preflight.baseline_file)")(
      "command", po::value<std::string>()->default_value("run"), "run, preflight, nhc, calibrate, list");
  po::positional_options_description positional;
  positional.add("command", 1);
  po::variables_map vm;
  po::store(po::command_line_parser(argc, argv).options(options).positional(positional).run(), vm);
  po::notify(vm);
  if (vm.count("help")) {
    std::cout << kUsage << "\n\n" << options;
    return ExitCode::ok;
  }
  const std::string command = vm["command"].as<std::string>();
  const std::vector<std::string> commands = {"run", "preflight", "nhc", "calibrate", "list"};
  if (std::find(commands.begin(), commands.end(), command) == commands.end()) {
    usage_error(fmt::format("expected a command {}, got \"{}\"", fmt::join(commands, ", "), command));
  }
  const SiteConfig config = load_config(vm);
  if (command == "list") return list(config);
  if (command == "preflight") return preflight(vm, config);
  if (command == "nhc") return nhc(vm, config);
  if (command == "calibrate") return calibrate_command(vm, config);
  return run_and_record(vm, config, plan_from(vm, config, level_from(vm, config))).exit_code;
}

}  // namespace

int main(int argc, char** argv) {
  return sigma::run_main("sigma-healthcheck", [&] { return run(argc, argv); });
}
