// sigma-ckpt: look at, verify and prune a checkpoint directory without starting a job (no MPI launch needed).
#include <boost/program_options.hpp>
#include <filesystem>
#include <fmt/format.h>
#include <fmt/ostream.h>
#include <fmt/ranges.h>

#include "manifest.hpp"
#include "sigma/ckpt/catalog.hpp"
#include "sigma/core/cli.hpp"
#include "sigma/core/error.hpp"

namespace po = boost::program_options;
using namespace sigma;
using namespace sigma::ckpt;

namespace {

constexpr const char* kUsage = R"(usage:
  sigma-ckpt list DIR
  sigma-ckpt inspect DIR [--step N]
  sigma-ckpt verify DIR [--step N]
  sigma-ckpt prune DIR --keep-last K [--keep-every M]
exit codes: 0 ok, 2 usage, 4 corrupt checkpoint, 5 checkpoint or file missing)";

std::string existing_dir(const CommandLine& cl) {
  if (cl.args.size() != 2) usage_error(fmt::format("{}: expected exactly one DIR", cl.args.at(0)));
  const std::string dir = cl.args[1];
  if (!std::filesystem::is_directory(dir))
    throw Error(ExitCode::not_found, fmt::format("{}: not a directory", dir));
  return dir;
}

// The step directory that --step names, else the one latest names, else the newest.
std::string chosen_step_dir(const std::string& dir, const po::variables_map& vm) {
  std::optional<int64_t> step;
  if (vm.count("step")) step = vm["step"].as<int64_t>();
  if (!step) step = latest_step(dir);
  if (!step) {
    auto steps = list_steps(dir);
    if (steps.empty()) throw Error(ExitCode::not_found, fmt::format("{}: holds no step_N checkpoint", dir));
    step = steps.back().step;
  }
  const std::string path = dir + "/" + step_dir_name(*step);
  if (!std::filesystem::is_directory(path))
    throw Error(ExitCode::not_found, fmt::format("{}: no such checkpoint step", path));
  return path;
}

ExitCode list(const std::string& dir) {
  const auto latest = latest_step(dir);
  for (const StepEntry& s : list_steps(dir)) {
    const VerifyReport r = verify_step(s.path);
    fmt::print("{:>10}  {:>12} bytes  {:<9}{}\n", s.step, s.bytes, r.verdict == ExitCode::ok ? "verified" : "BROKEN",
               latest == s.step ? "  (latest)" : "");
  }
  return ExitCode::ok;
}

ExitCode inspect(const std::string& step_dir) {
  const Manifest m = read_manifest(step_dir);
  fmt::print("step {}  world_size {}  tensors {}\nscalars {}\n", m.step, m.world_size, m.tensors.size(),
             m.scalars.dump());
  for (const auto& [name, t] : m.tensors) {
    fmt::print("{:<40} float32 [{}]", name, fmt::join(t.global_shape, ", "));
    for (const PieceRecord& p : t.pieces) fmt::print("  {}:{}[{}:{}]", p.file, p.dataset, p.row_begin, p.row_end);
    fmt::print("\n");
  }
  return ExitCode::ok;
}

ExitCode verify(const std::string& step_dir) {
  const VerifyReport r = verify_step(step_dir);
  for (const std::string& problem : r.problems) fmt::print(stderr, "sigma-ckpt: {}\n", problem);
  if (r.verdict == ExitCode::ok) fmt::print("{}: verified\n", step_dir);
  return r.verdict;
}

ExitCode prune(const std::string& dir, const po::variables_map& vm) {
  if (!vm.count("keep-last")) usage_error("prune: --keep-last K is required");
  const int keep_last = vm["keep-last"].as<int>();
  const int64_t keep_every = vm.count("keep-every") ? vm["keep-every"].as<int64_t>() : 0;
  if (keep_last < 1) usage_error(fmt::format("--keep-last {}: expected an integer >= 1", keep_last));
  if (keep_every < 0) usage_error(fmt::format("--keep-every {}: expected an integer >= 0", keep_every));
  for (const std::string& path : prune_steps(dir, keep_last, keep_every)) fmt::print("removed {}\n", path);
  return ExitCode::ok;
}

}  // namespace

int main(int argc, char** argv) {
  return run_main("sigma-ckpt", [&] {
    po::options_description options("options");
    options.add_options()("help,h", "show usage")("step", po::value<int64_t>(), "step to inspect or verify")(
        "keep-last", po::value<int>(), "prune: keep the newest K steps")(
        "keep-every", po::value<int64_t>(), "prune: also keep every step divisible by M");
    const CommandLine cl = parse_command_line(argc, argv, options);
    if (cl.options.count("help")) {
      fmt::print("{}\n{}", kUsage, fmt::format("{}", fmt::streamed(options)));
      return ExitCode::ok;
    }
    if (cl.args.empty()) usage_error("expected a command: list, inspect, verify or prune");
    const std::string& command = cl.args[0];
    if (command == "list") return list(existing_dir(cl));
    if (command == "inspect") return inspect(chosen_step_dir(existing_dir(cl), cl.options));
    if (command == "verify") return verify(chosen_step_dir(existing_dir(cl), cl.options));
    if (command == "prune") return prune(existing_dir(cl), cl.options);
    usage_error(fmt::format("unknown command '{}': expected list, inspect, verify or prune", command));
  });
}
