// sigma-train: `prepare` turns text files into a token file; `train` runs the MPI MoE trainer.
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>
#include <new>

#include <boost/program_options.hpp>
#include <fmt/format.h>
#include <mpi.h>

#include "sigma/contracts/env_names.hpp"
#include "sigma/contracts/node_name.hpp"
#include "sigma/platform/mpi_process.hpp"
#include "sigma/platform/mpi_start.hpp"

#include "sigma/ckpt/checkpoint_lifecycle.hpp"
#include "sigma/core/cli.hpp"
#include "sigma/core/error.hpp"
#include "sigma/contracts/heartbeat.hpp"
#include "sigma/platform/stop_signal.hpp"
#include "sigma/core/wall_clock.hpp"
#include "sigma/trainer/config.hpp"
#include "sigma/trainer/memory_footprint.hpp"
#include "sigma/trainer/telemetry.hpp"
#include "sigma/trainer/token_file.hpp"
#include "sigma/trainer/train_loop.hpp"
#include "sigma/trainer/trainer.hpp"

namespace po = boost::program_options;
using namespace sigma;
using namespace sigma::trainer;

namespace {

// For the heartbeats: a supervisor splits a restart into step launch, MPI start, loading, the first step.
double g_started_at = 0;
double g_mpi_ready_at = 0;


constexpr const char* kUsage =
    "usage: sigma-train prepare --output FILE TEXT_FILE...   (byte-level tokens, vocab 256)\n"
    "       sigma-train train [--config RUN.yaml] [--KEY VALUE...]\n"
    "       mpirun -n 2 sigma-train train --config RUN.yaml --ep-size 2\n"
    "       srun --mpi=pmix sigma-train train --config RUN.yaml\n";

po::variables_map parse(int argc, char** argv, const po::options_description& options,
                        const po::positional_options_description* positional) {
  po::variables_map vm;
  try {
    po::command_line_parser parser(argc, argv);
    parser.options(options);
    if (positional) parser.positional(*positional);
    po::store(parser.run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw Error(ExitCode::usage, fmt::format("{} (see sigma-train --help)", e.what()));
  }
  return vm;
}

ExitCode prepare(int argc, char** argv) {
  po::options_description options("sigma-train prepare");
  options.add_options()("help", "this help")("output,o", po::value<std::string>(), "token file to write")(
      "input", po::value<std::vector<std::string>>(), "text files");
  po::positional_options_description positional;
  positional.add("input", -1);
  auto vm = parse(argc, argv, options, &positional);
  if (vm.count("help")) {
    std::cout << kUsage << options;
    return ExitCode::ok;
  }
  if (!vm.count("output")) throw Error(ExitCode::usage, "prepare: option --output is required");
  if (!vm.count("input")) throw Error(ExitCode::usage, "prepare: expected at least one text file");
  TokenData data = tokenize_bytes(vm["input"].as<std::vector<std::string>>());
  write_token_file(vm["output"].as<std::string>(), data);
  fmt::print("{}: {} tokens, vocab {}\n", vm["output"].as<std::string>(), data.tokens.size(), data.vocab_size);
  return ExitCode::ok;
}

int non_negative_option(const po::variables_map& vm, const char* name) {
  const int value = vm[name].as<int>();
  if (value < 0) throw Error(ExitCode::usage, fmt::format("--{}: expected an integer >= 0, got {}", name, value));
  return value;
}

// Everything that can be wrong with the inputs, checked before any compute. Returns the config and data.
std::pair<TrainConfig, std::shared_ptr<TokenData>> load_inputs(int argc, char** argv, int world_size,
                                                               ckpt::LifecycleOptions& ckpt) {
  po::options_description options("sigma-train train options (YAML keys use underscores)");
  options.add_options()("help", "this help")(
      "ckpt-dir", po::value<std::string>(), "checkpoint directory: resume from its newest verified step, save into it")(
      "ckpt-every", po::value<int>(), "steps between checkpoints (overrides checkpoint_every)")(
      "ckpt-keep-last", po::value<int>(), "after each save keep only the newest K committed steps (0: all)")(
      "ckpt-keep-every", po::value<int>(), "also keep every step divisible by M (0: none)");
  add_config_options(options);
  auto vm = parse(argc, argv, options, nullptr);
  if (vm.count("help")) {
    std::cout << kUsage << options;
    throw HelpShown{};
  }
  TrainConfig config;
  apply_command_line(vm, config);
  if (vm.count("ckpt-dir")) ckpt.dir = vm["ckpt-dir"].as<std::string>();
  if (vm.count("ckpt-every")) config.checkpoint_every = non_negative_option(vm, "ckpt-every");
  if (vm.count("ckpt-keep-last")) ckpt.keep_last = non_negative_option(vm, "ckpt-keep-last");
  if (vm.count("ckpt-keep-every")) ckpt.keep_every = non_negative_option(vm, "ckpt-keep-every");
  if (ckpt.keep_every > 0 && ckpt.keep_last == 0)
    throw Error(ExitCode::usage, "--ckpt-keep-every: needs --ckpt-keep-last (without it every step is kept)");
  if (ckpt.keep_last > 0 && ckpt.dir.empty())
    throw Error(ExitCode::usage, "--ckpt-keep-last: needs --ckpt-dir");
  validate_config(config);
  ckpt.memory_every = config.memory_copy_every;
  ckpt.memory_root = config.memory_copy_dir;
  ckpt.memory_budget = config.memory_copy_budget;
  if (world_size % config.ep_size != 0)
    throw Error(ExitCode::config, fmt::format("config: ep_size={} does not divide the world size {}", config.ep_size,
                                              world_size));
  if (config.global_batch < world_size)
    throw Error(ExitCode::config, fmt::format("config: global_batch={} is smaller than the world size {} (every "
                                              "rank takes at least one sequence a step)",
                                              config.global_batch, world_size));
  auto data = std::make_shared<TokenData>(read_token_file(config.data));
  check_token_data(*data, config.data, config.model.vocab_size, config.model.seq_len);
  return {config, data};
}

// All ranks learn the first failing rank's exit code; that rank prints its message once.
ExitCode agree_on_failure(int rank, ExitCode mine, const std::string& message) {
  int candidate = mine == ExitCode::ok ? INT32_MAX : rank, first = INT32_MAX;
  MPI_Allreduce(&candidate, &first, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  if (first == INT32_MAX) return ExitCode::ok;
  int code = to_int(mine);
  MPI_Bcast(&code, 1, MPI_INT, first, MPI_COMM_WORLD);
  if (rank == first) fmt::print(stderr, "sigma-train: {}\n", printable(message));
  return static_cast<ExitCode>(code);
}

// Collective: refuses, with one line on every rank's behalf, a run whose footprint does not fit what this node
// and process may still allocate (the ranks on one node share MemAvailable and the cgroup).
void check_memory(const TrainConfig& config, int world_size, bool checkpoints) {
  MPI_Comm node;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
  int ranks_on_node = 1;
  MPI_Comm_size(node, &ranks_on_node);
  MPI_Comm_free(&node);
  check_memory_fits(estimate_memory_footprint(config, world_size, checkpoints), ranks_on_node, memory_headroom());
}

// Runs `phase` on every rank; all ranks learn the first failure's code (that rank prints its line).
template <typename Phase>
ExitCode agreed(int rank, Phase&& phase) {
  ExitCode failure = ExitCode::ok;
  std::string message;
  try {
    phase();
  } catch (const Error& e) {
    failure = e.code();
    message = e.what();
  } catch (const HelpShown&) {
    // printed: the phase's result stays empty, and the run ends with ok
  }
  return agree_on_failure(rank, failure, message);
}

// Resumes the trainer from the newest step that verifies and installs the checkpoint hooks: periodic saves in
// the background, a save that waits for its commit on a stop request and at the end, the roll-back after a spike.
void wire_checkpoints(ckpt::CheckpointLifecycle& checkpoints, Trainer& trainer, LoopHooks& hooks, int rank) {
  // Scalars that disagree with this run make the step broken: the load falls back to the step before.
  const ckpt::AcceptScalars accept = [&trainer](const nlohmann::json& scalars) { trainer.restore_scalars(scalars); };
  TrainingStateView view = trainer.state();
  if (auto loaded = checkpoints.resume(view, accept); loaded && rank == 0)
    fmt::print("sigma-train: resumed from {} (step {})\n", printable(loaded->step_dir), loaded->step);
  hooks.checkpoint = [&checkpoints](Trainer& t, CheckpointReason reason) {
    if (reason == CheckpointReason::periodic)
      checkpoints.save_in_background(t.completed_steps(), t.state());
    else
      checkpoints.save_and_commit(t.completed_steps(), t.state());
  };
  hooks.after_step = [&checkpoints](Trainer& t) { checkpoints.after_step(t.completed_steps(), t.state()); };
  hooks.rollback = [&checkpoints, accept](Trainer& t) {
    TrainingStateView state = t.state();
    return checkpoints.roll_back(state, accept).has_value();
  };
}

ExitCode train(int argc, char** argv) {
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  TrainConfig config;
  std::shared_ptr<TokenData> data;
  ckpt::LifecycleOptions ckpt;
  if (const char* ledger = std::getenv(env::kLedger)) ckpt.ledger_path = ledger;
  const ExitCode inputs = agreed(rank, [&] { std::tie(config, data) = load_inputs(argc, argv, size, ckpt); });
  if (inputs != ExitCode::ok || !data) return inputs;  // --help also lands here with ok and no data
  const ExitCode memory = agreed(rank, [&] { check_memory(config, size, !ckpt.dir.empty()); });
  if (memory != ExitCode::ok) return memory;

  Trainer trainer(config, MPI_COMM_WORLD, data);
  Telemetry telemetry(rank == 0 ? config.log_jsonl : "", rank == 0 ? config.heartbeat : "");
  if (rank == 0)
    fmt::print("sigma-train: {} ranks, ep_size {}, {} threads/rank, {:.1f} GFLOP/s measured sgemm peak ({}), "
               "{:.3g} flops/token with no drops\n",
               size, config.ep_size, config.threads, trainer.peak_gflops_all_ranks(), trainer.peak_source(),
               trainer.flops_per_token());
  LoopHooks hooks;
  // Under sigma-launch supervise every rank beats, so a stalled rank can be told from the ones waiting for it.
  const char* heartbeat_dir = std::getenv(env::kHeartbeatDir);
  const std::string node = this_node_name();
  long resumed_from = 0;
  double ready_at = 0;
  std::unique_ptr<LivenessBeat> alive;
  if (heartbeat_dir != nullptr && *heartbeat_dir != '\0') alive = std::make_unique<LivenessBeat>(heartbeat_dir, rank);
  hooks.on_step = [&](const StepReport& report) {
    if (heartbeat_dir != nullptr && *heartbeat_dir != '\0') {
      write_heartbeat(heartbeat_dir,
                      {rank, report.step, now_seconds(), node, resumed_from, g_started_at, g_mpi_ready_at, ready_at});
    }
    if (rank != 0) return;
    telemetry.record(report);
    if (report.step % config.log_every == 0 || report.step == config.steps)
      fmt::print("{}\n", progress_line(report, config.steps));
    std::fflush(stdout);
  };
  std::unique_ptr<ckpt::CheckpointLifecycle> checkpoints;
  if (!ckpt.dir.empty()) {
    checkpoints = std::make_unique<ckpt::CheckpointLifecycle>(MPI_COMM_WORLD, ckpt);
    wire_checkpoints(*checkpoints, trainer, hooks, rank);
    resumed_from = trainer.completed_steps();
  }
  ready_at = now_seconds();
  try {
    const ExitCode code = run_training(trainer, hooks);
    // Done, or stopped with the state in a file checkpoint: the in-memory copies only hold memory now.
    if (checkpoints) checkpoints->release_memory_copies();
    return code;
  } catch (const Error&) {
    // Raised on every rank at the same step (guardrails, checkpoint I/O): a save in flight can still commit.
    if (checkpoints) checkpoints->finish_before_exit();
    throw;
  }
}

}  // namespace

int main(int argc, char** argv) {
  g_started_at = now_seconds();
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0) {
    std::cout << kUsage;
    return argc < 2 ? to_int(ExitCode::usage) : 0;
  }
  std::string command = argv[1];
  if (command == "prepare") {
    try {
      return to_int(prepare(argc - 1, argv + 1));
    } catch (const Error& e) {
      fmt::print(stderr, "sigma-train: {}\n", printable(e.what()));
      return to_int(e.code());
    }
  }
  if (command != "train") {
    fmt::print(stderr, "sigma-train: unknown command '{}': expected 'prepare' or 'train' (see --help)\n",
               printable(command));
    return to_int(ExitCode::usage);
  }
  // First of all: a stop signal during start-up (MPI, data, init, resume) is then kept and honoured after the
  // first step (a checkpoint and requeue), instead of killing the process with nothing saved.
  install_stop_signal_handlers();
  sigma::core::start_mpi(&argc, &argv);
  g_mpi_ready_at = now_seconds();
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  ExitCode code = ExitCode::ok;
  try {
    code = train(argc - 1, argv + 1);
  } catch (const Error& e) {
    // Errors raised during training (numerical guardrail) are decided collectively, so every rank is here.
    if (rank == 0) fmt::print(stderr, "sigma-train: {}\n", printable(e.what()));
    code = e.code();
  } catch (const std::bad_alloc&) {
    // Memory went below what the footprint check saw (another process took it): the environment, not a bug.
    fmt::print(stderr, "sigma-train: rank {}: out of memory although the footprint check passed: memory was taken "
               "since, or the model allocates more than estimated\n", rank);
    MPI_Abort(MPI_COMM_WORLD, to_int(ExitCode::config));
  } catch (const std::exception& e) {
    fmt::print(stderr, "sigma-train: rank {}: internal error: {}\n", rank, printable(e.what()));
    MPI_Abort(MPI_COMM_WORLD, to_int(ExitCode::internal));
  }
  MPI_Finalize();
  return to_int(code);
}
