// sigma-config: validate a site config, print the effective config, the defaults, the default path, the exit-code
// contract, or classify a failed step with the config's taxonomy.
#include <boost/program_options.hpp>
#include <fmt/format.h>
#include <fmt/ostream.h>
#include <nlohmann/json.hpp>


#include "sigma/core/cli.hpp"
#include "sigma/core/error.hpp"
#include "sigma/policy/site_config.hpp"
#include "sigma/core/trusted_path.hpp"

namespace po = boost::program_options;
using namespace sigma;

namespace {

constexpr std::size_t kMaxLogBytes = 256 * 1024 * 1024;

constexpr const char* kUsage = R"(usage:
  sigma-config check [--allow-fault-injection] FILE...
                                    validate site configs; one line per file. A config that turns on
                                    preflight.fault_injection (healthy nodes made to fail their burn-in) is
                                    refused unless --allow-fault-injection says it is meant (a test cluster)
  sigma-config show FILE            print the effective config, defaults filled in
  sigma-config defaults             print every default
  sigma-config default-path         print the site config read when none is named
  sigma-config exit-codes           print the exit-code contract
  sigma-config requeue-exit         print the value for slurm.conf RequeueExit
  sigma-config classify FILE --exit-code N [--signal S] [--log LOGFILE]
                                    classify a failed step with FILE's taxonomy (JSON verdict)
exit codes: 0 ok, 2 usage, 3 config invalid, 5 file not found)";

// Why a config that is valid must still not go into production unasked: fault injection makes healthy nodes fail
// their burn-in and be drained. "" when it is off.
std::string fault_injection_problem(const SiteConfig& config) {
  const FaultInjectionConfig& faults = config.preflight.fault_injection;
  if (!faults.enabled) return "";
  return fmt::format("preflight.fault_injection is enabled {}: their burn-ins fail on purpose and drain them",
                     faults.nodes.empty() ? "on every node" : "on nodes " + faults.nodes);
}

// Every file is checked (one line each); the exit code is the first failure's. Ownership is only a warning here:
// the programs that run as root refuse such a file themselves.
ExitCode check(const std::vector<std::string>& files, bool allow_fault_injection) {
  if (files.empty()) usage_error("check: expected at least one FILE");
  ExitCode result = ExitCode::ok;
  for (const auto& file : files) {
    std::string faults;
    std::vector<std::string> warnings;
    try {
      const SiteConfig config = load_site_config(file);
      faults = fault_injection_problem(config);
      warnings = config.warnings;
    } catch (const Error& e) {
      fmt::print(stderr, "sigma-config: {}\n", printable(e.what()));
      if (result == ExitCode::ok) result = e.code();
      continue;
    }
    if (!faults.empty() && !allow_fault_injection) {
      fmt::print(stderr, "sigma-config: {}: {}; refused without --allow-fault-injection (for test clusters)\n",
                 printable(file), printable(faults));
      if (result == ExitCode::ok) result = ExitCode::config;
      continue;
    }
    fmt::print("{}: ok\n", file);
    if (!faults.empty()) fmt::print(stderr, "sigma-config: warning: {}: {}\n", printable(file), printable(faults));
    for (const auto& warning : warnings) fmt::print(stderr, "sigma-config: warning: {}\n", printable(warning));
    if (const auto problem = admin_trust_problem(file); !problem.empty()) {
      fmt::print(stderr, "sigma-config: warning: {}: {}; sigma's root-run programs (the prolog, the healthcheck) "
                 "will refuse it\n", file, problem);
    }
  }
  return result;
}

ExitCode exit_codes() {
  fmt::print("{:>4}  {:<14} {:<8} {}\n", "code", "name", "requeue", "meaning");
  for (const auto& info : exit_code_table()) {
    fmt::print("{:>4}  {:<14} {:<8} {}\n", to_int(info.code), info.name, info.requeue ? "yes" : "no", info.meaning);
  }
  return ExitCode::ok;
}

std::string read_log(const std::string& path) {
  if (path.empty()) return "";
  return read_regular_file(path, kMaxLogBytes, "--log file");
}

ExitCode classify(const std::string& file, const po::variables_map& vm) {
  if (!vm.count("exit-code")) usage_error("classify: --exit-code is required");
  SiteConfig config = load_site_config(file);
  Taxonomy taxonomy(config.taxonomy);
  StepOutcome outcome{vm["exit-code"].as<int>(), vm["signal"].as<int>(), read_log(vm["log"].as<std::string>())};
  Verdict verdict = taxonomy.classify(outcome);
  nlohmann::json out = {{"rule", verdict.rule},
                        {"class", to_string(verdict.failure_class)},
                        {"action", to_string(verdict.action)},
                        {"fault_code", verdict.fault_code},
                        {"evidence", verdict.evidence}};
  fmt::print("{}\n", out.dump());
  return ExitCode::ok;
}

ExitCode run(int argc, char** argv) {
  po::options_description options("options");
  options.add_options()("help,h", "show usage")("exit-code", po::value<int>(), "exit code of the failed step")(
      "signal", po::value<int>()->default_value(0), "signal that killed the step (0 = none)")(
      "log", po::value<std::string>()->default_value(""), "log file of the failed step")(
      "allow-fault-injection", po::bool_switch(), "check: accept a config that turns on fault injection");
  CommandLine line = parse_command_line(argc, argv, options);
  const po::variables_map& vm = line.options;

  auto args = line.args;
  if (vm.count("help")) {
    fmt::print("{}\n\n{}", kUsage, fmt::streamed(options));
    return ExitCode::ok;
  }
  if (args.empty()) {
    usage_error("expected a command: check, show, defaults, default-path, exit-codes, requeue-exit, classify");
  }
  const std::string command = args.front();
  args.erase(args.begin());
  if (command == "check") return check(args, vm["allow-fault-injection"].as<bool>());
  if (command == "show" && args.size() == 1) {
    fmt::print("{}", to_yaml(load_site_config(args[0])));
    return ExitCode::ok;
  }
  if (command == "defaults" && args.empty()) {
    SiteConfig defaults = default_site_config();
    defaults.cluster.name = "example";
    fmt::print("# every default; cluster.name has none and must be set\n{}", to_yaml(defaults));
    return ExitCode::ok;
  }
  if (command == "default-path" && args.empty()) {
    fmt::print("{}\n", default_site_config_path());
    return ExitCode::ok;
  }
  if (command == "exit-codes" && args.empty()) return exit_codes();
  if (command == "requeue-exit" && args.empty()) {
    fmt::print("{}\n", requeue_exit_list());
    return ExitCode::ok;
  }
  if (command == "classify" && args.size() == 1) return classify(args[0], vm);
  usage_error(fmt::format("unknown command or wrong number of arguments: \"{}\"", command));
}

}  // namespace

int main(int argc, char** argv) {
  return run_main("sigma-config", [&] { return run(argc, argv); });
}
