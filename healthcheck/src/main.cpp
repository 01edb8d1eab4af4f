// sigma-healthcheck: preflight burn-in for a node, run as root from the Slurm prolog, as slurm.conf's
// HealthCheckProgram (nhc), or by an admin (calibrate). Every option is checked against a fixed set; nothing
// from the command line is executed, and fault injection can only come from the site config.
#include <sys/stat.h>
#include <unistd.h>

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include <iostream>

#include "sigma/core/cli.hpp"
#include "sigma/core/error.hpp"
#include "sigma/core/mpi_process.hpp"
#include "sigma/core/site_config.hpp"
#include "sigma/healthcheck/calibrate.hpp"
#include "sigma/healthcheck/node_drain.hpp"
#include "sigma/healthcheck/report.hpp"
#include "sigma/healthcheck/runner.hpp"

namespace po = boost::program_options;
using namespace sigma;
using namespace sigma::hc;

namespace {

constexpr const char* kUsage = R"(usage:
  sigma-healthcheck [run] [--level quick|standard|extended] [--check NAME]... [--json] [--config FILE]
  sigma-healthcheck nhc   [--level L] [--check NAME]... [--config FILE]
        run, and on failure drain this node through the Slurm API with the reason (HealthCheckProgram)
  sigma-healthcheck calibrate [--level L] [--check NAME]... [--runs N] [--output FILE] [--config FILE]
        run N times on a known-good node; write the medians as this node type's baseline
  sigma-healthcheck list      the checks and levels
checks: gemm membw memtest interconnect cuda  (interconnect: srun --mpi=pmix, one rank per node)
exit codes: 0 pass, 2 usage, 3 config, 10 a check failed (drain), 12 a check timed out and none failed)";

constexpr const char* kDefaultConfig = "/etc/sigma/site.yaml";
constexpr int kMaxCalibrationRuns = 100;

// As root, read only a config that only root can change: otherwise a user could weaken thresholds or turn on
// fault injection.
void require_admin_owned(const std::string& path) {
  if (geteuid() != 0) return;
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return;  // load_site_config reports the missing file
  if (st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH))) {
    throw Error(ExitCode::config, fmt::format("{}: must be owned by root and not group/world-writable", path));
  }
}

SiteConfig load_config(const po::variables_map& vm) {
  const auto path = vm["config"].as<std::string>();
  require_admin_owned(path);
  return load_site_config(path);
}

RunPlan plan_from(const po::variables_map& vm, const SiteConfig& config) {
  const std::string level = vm.count("level") ? vm["level"].as<std::string>() : config.preflight.default_level;
  const auto only = vm.count("check") ? vm["check"].as<std::vector<std::string>>() : std::vector<std::string>{};
  return make_plan(config.preflight, level, only);
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
  try {
    if (!config.paths.ledger.empty()) append_ledger_event(config.paths.ledger, report);
    if (!config.paths.metrics_dir.empty()) write_prometheus_textfile(config.paths.metrics_dir, report);
  } catch (const Error& e) {
    fmt::print(stderr, "sigma-healthcheck: warning: {}\n", e.what());
  }
}

RunReport run_and_record(const po::variables_map& vm, const SiteConfig& config) {
  const RunReport report = run_plan(plan_from(vm, config), config.preflight, progress_to_stderr());
  record(config, report);
  if (vm.count("json")) {
    std::cout << to_json(report).dump(2) << std::endl;
  } else {
    std::cout << format_table(report) << std::flush;
  }
  return report;
}

ExitCode nhc(const po::variables_map& vm, const SiteConfig& config) {
  const RunReport report = run_and_record(vm, config);
  if (report.exit_code == ExitCode::ok) return report.exit_code;
  const std::string node = slurm_node_name();
  try {
    drain_node(node, report.reason);
    fmt::print(stderr, "sigma-healthcheck: drained {}: {}\n", node, report.reason);
  } catch (const Error& e) {
    fmt::print(stderr, "sigma-healthcheck: {}\n", e.what());
  }
  return report.exit_code;
}

ExitCode calibrate_command(const po::variables_map& vm, const SiteConfig& config) {
  const int runs = vm["runs"].as<int>();
  if (runs < 1 || runs > kMaxCalibrationRuns) usage_error(fmt::format("--runs: expected 1..{}", kMaxCalibrationRuns));
  const std::string output = vm.count("output") ? vm["output"].as<std::string>() : config.preflight.baseline_file;
  if (output.empty()) usage_error("calibrate: preflight.baseline_file is not set; pass --output FILE");
  const auto medians = calibrate(plan_from(vm, config), config.preflight, runs, [](int run, const RunReport& r) {
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
  options.add_options()("help,h", "this text")("config", po::value<std::string>()->default_value(kDefaultConfig),
                                                "site config (root-owned)")(
      "level", po::value<std::string>(), "quick, standard or extended (default: preflight.default_level)")(
      "check", po::value<std::vector<std::string>>()->composing(), "run only this check (repeatable)")(
      "json", "print the report as JSON")("runs", po::value<int>()->default_value(5), "calibrate: runs")(
      "output", po::value<std::string>(), "calibrate: baseline file (default: preflight.baseline_file)")(
      "command", po::value<std::string>()->default_value("run"), "run, nhc, calibrate, list");
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
  if (command != "run" && command != "nhc" && command != "calibrate" && command != "list") {
    usage_error(fmt::format("expected a command run, nhc, calibrate or list, got \"{}\"", command));
  }
  const SiteConfig config = load_config(vm);
  if (command == "list") return list(config);
  if (command == "nhc") return nhc(vm, config);
  if (command == "calibrate") return calibrate_command(vm, config);
  return run_and_record(vm, config).exit_code;
}

}  // namespace

int main(int argc, char** argv) {
  sigma::core::prepare_mpi_process();  // the interconnect check initialises MPI
  return sigma::run_main("sigma-healthcheck", [&] { return run(argc, argv); });
}
