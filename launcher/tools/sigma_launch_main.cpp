// sigma-launch: the per-task PMIx wrapper (task) and the in-allocation supervisor (supervise) of a training job,
// and its heartbeats as JSON for scripts (beats). Thin: options here, the work in task.cpp, supervise.cpp,
// recovery_policy.cpp and beats_json.cpp.
#include <boost/program_options.hpp>
#include <fmt/format.h>

#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "sigma/contracts/env_names.hpp"
#include "sigma/core/cli.hpp"
#include "sigma/core/error.hpp"
#include "sigma/policy/site_config.hpp"
#include "sigma/launcher/beats_json.hpp"
#include "sigma/launcher/supervise.hpp"
#include "sigma/launcher/task.hpp"

namespace po = boost::program_options;
using namespace sigma;

namespace {

constexpr const char* kUsage = R"(usage:
  sigma-launch task [--preflight off|quick|standard|extended] [--config FILE] -- COMMAND [ARGS...]
        one per task under `srun --mpi=pmix`: burn in each node once (local rank 0) unless the SPANK plugin already
        did, exchange the verdicts over PMIx, then exec COMMAND; any failed node: every task exits 10
  sigma-launch supervise [--nodes N] [--spares S] [--min-nodes M] [--node-multiple D] [--ntasks-per-node K]
                         [--heartbeat-dir DIR [--beats progress|liveness]] [--config FILE] -- COMMAND [ARGS...]
        in a batch job (sbatch --no-kill; exec it from the script, or run it as a child the script forwards SIGUSR1
        and SIGTERM to): run COMMAND as `srun --mpi=pmix` on N nodes of the allocation, keep S spares, restart it
        without a failed node (on fewer nodes, down to M, when no spare is left; back to N when a drained node is
        resumed), or stop with an exit code from the contract; the spares: S, else the site's cluster.spare_nodes;
        --beats liveness: the program beats liveness only (no progress beats): no progress timeout
  sigma-launch beats --dir DIR
        the heartbeat directory DIR (--heartbeat-dir) as one JSON object: every rank's newest progress beat
exit codes: those of sigma-config exit-codes; the step's own code for a user error; 42 after SIGUSR1 (the state
saved); after SIGTERM alone (scancel, the time limit) it saves, then ends by SIGTERM: not a requeue request)";

// Everything after "--" is the training command, never parsed here.
std::pair<std::vector<std::string>, std::vector<std::string>> split_at_dashes(int argc, char** argv) {
  std::vector<std::string> ours, command;
  bool after = false;
  for (int i = 1; i < argc; ++i) {
    if (!after && std::strcmp(argv[i], "--") == 0) {
      after = true;
    } else {
      (after ? command : ours).emplace_back(argv[i]);
    }
  }
  return {ours, command};
}

std::string config_help() {
  return fmt::format("site config (default: $SIGMA_SITE_CONFIG, else {})", default_site_config_path());
}

std::string site_config_path(const po::variables_map& vm) {
  if (vm.count("config")) return vm["config"].as<std::string>();
  const char* from_plugin = std::getenv(env::kSiteConfig);  // set by the SPANK plugin
  return from_plugin && *from_plugin ? from_plugin : default_site_config_path();
}

ExitCode task(int argc, char** argv) {
  auto [ours, command] = split_at_dashes(argc, argv);
  po::options_description options("options");
  options.add_options()("help,h", "this text")("preflight", po::value<std::string>(),
                                                "level to burn in at (default: preflight.default_level)")(
      "config", po::value<std::string>(), config_help().c_str());
  po::variables_map vm;
  po::store(po::command_line_parser(ours).options(options).positional({}).run(), vm);
  po::notify(vm);
  if (vm.count("help")) {
    std::cout << kUsage << "\n\n" << options;
    return ExitCode::ok;
  }
  launch::TaskOptions opts;
  if (vm.count("preflight")) opts.preflight = vm["preflight"].as<std::string>();
  opts.config_path = site_config_path(vm);
  opts.command = command;
  return launch::run_task(opts, load_site_config(opts.config_path));
}

// --beats: what the program writes in the heartbeat directory, which it needs.
launch::Beats beats_option(const std::string& value, bool without_dir) {
  if (value != "progress" && value != "liveness") {
    usage_error(fmt::format("--beats \"{}\": expected progress or liveness", value));
  }
  if (without_dir) usage_error("--beats: needs --heartbeat-dir (where the program beats)");
  return value == "progress" ? launch::Beats::progress : launch::Beats::liveness;
}

ExitCode supervise(int argc, char** argv) {
  auto [ours, command] = split_at_dashes(argc, argv);
  po::options_description options("options");
  options.add_options()("help,h", "this text")("nodes", po::value<int>()->default_value(0),
                                                "nodes for the step (default: all but the spares)")(
      "spares", po::value<int>(), "spare nodes kept aside (default: cluster.spare_nodes)")(
      "min-nodes", po::value<int>()->default_value(0),
      "with no spare left, go on without a failed node down to this many (default: never shrink)")(
      "node-multiple", po::value<int>()->default_value(1),
      "a shrunk step's node count stays a multiple of this (so the program's world size stays a multiple of its "
      "expert-parallel size)")(
      "ntasks-per-node", po::value<int>()->default_value(1), "tasks per node")(
      "heartbeat-dir", po::value<std::string>(), "directory for per-rank heartbeats (hang detection)")(
      "beats", po::value<std::string>()->default_value("progress"),
      "what the program beats in --heartbeat-dir: progress (every step) or liveness (only)")(
      "config", po::value<std::string>(), config_help().c_str());
  po::variables_map vm;
  po::store(po::command_line_parser(ours).options(options).positional({}).run(), vm);
  po::notify(vm);
  if (vm.count("help") || ours.empty()) {
    std::cout << kUsage << "\n\n" << options;
    return vm.count("help") ? ExitCode::ok : ExitCode::usage;
  }
  launch::SuperviseOptions opts;
  opts.nodes = vm["nodes"].as<int>();
  if (vm.count("spares")) opts.spares = vm["spares"].as<int>();
  opts.tasks_per_node = vm["ntasks-per-node"].as<int>();
  opts.min_nodes = vm["min-nodes"].as<int>();
  opts.node_multiple = vm["node-multiple"].as<int>();
  if (opts.nodes < 0 || (opts.spares && *opts.spares < 0) || opts.min_nodes < 0) {
    usage_error("--nodes, --spares and --min-nodes: expected numbers >= 0");
  }
  if (opts.tasks_per_node < 1 || opts.node_multiple < 1) {
    usage_error("--ntasks-per-node and --node-multiple: expected numbers >= 1");
  }
  if (vm.count("heartbeat-dir")) opts.heartbeat_dir = vm["heartbeat-dir"].as<std::string>();
  opts.beats = beats_option(vm["beats"].as<std::string>(), !vm["beats"].defaulted() && opts.heartbeat_dir.empty());
  opts.command = command;
  return launch::supervise(opts, load_site_config(site_config_path(vm)));
}

// For scripts that follow a run (the demo, the fault matrix): the beats through core's reader, printed as JSON.
ExitCode beats(int argc, char** argv) {
  po::options_description options("options");
  options.add_options()("help,h", "this text")("dir", po::value<std::string>(), "the heartbeat directory");
  po::variables_map vm;
  po::store(po::command_line_parser(argc, argv).options(options).positional({}).run(), vm);
  po::notify(vm);
  if (vm.count("help")) {
    std::cout << kUsage << "\n\n" << options;
    return ExitCode::ok;
  }
  if (!vm.count("dir")) usage_error("beats: expected --dir DIR");
  const auto json = launch::heartbeats_json(vm["dir"].as<std::string>());
  std::cout << json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;
  return ExitCode::ok;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && std::strcmp(argv[1], "supervise") == 0) {
    return run_main("sigma-launch", [&] { return supervise(argc - 1, argv + 1); });
  }
  if (argc >= 2 && std::strcmp(argv[1], "task") == 0) {
    return run_main("sigma-launch", [&] { return task(argc - 1, argv + 1); });
  }
  if (argc >= 2 && std::strcmp(argv[1], "beats") == 0) {
    return run_main("sigma-launch", [&] { return beats(argc - 1, argv + 1); });
  }
  std::cerr << kUsage << "\n";
  return to_int(argc >= 2 && (std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0)
                    ? ExitCode::ok
                    : ExitCode::usage);
}
