// Cost of sigma-train's in-memory copies (ckpt/include/sigma/ckpt/memory_copies.hpp): tokens/s on the trainer
// bench's model with a copy taken every K steps (its own into the node's tmpfs, its mirror sent to and kept for
// the partner) against no copies, alternating in rounds in one process, so a noisy host slows both alike; the
// figure is the ratio of the medians. Each rank pretends to be its own node, so every copy has a partner.
// Not a test.
//   mpirun -n 2 --bind-to core sigma_memory_copies_bench [--rounds 6] [--steps 8] [--every 1,4,16]
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <sstream>
#include <string>
#include <vector>

#include <boost/program_options.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <mpi.h>

#include "bench_model.hpp"
#include "sigma/ckpt/memory_copies.hpp"
#include "sigma/platform/mpi_start.hpp"
#include "sigma/trainer/trainer.hpp"

using namespace sigma::trainer;

namespace {

// Tokens/s over `steps` steps, the slowest rank's, with a copy every `every` steps (0: none).
double timed_steps(Trainer& t, sigma::ckpt::MemoryCopies& copies, int steps, int every) {
  MPI_Barrier(MPI_COMM_WORLD);
  const auto start = std::chrono::steady_clock::now();
  double tokens = 0;
  for (int i = 0; i < steps; ++i) {
    tokens += t.step().tokens;
    if (every > 0 && t.completed_steps() % every == 0) copies.take(t.completed_steps(), t.state());
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), slowest = 0;
  MPI_Allreduce(&seconds, &slowest, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  return tokens / slowest;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

std::vector<int> parse_list(const std::string& text) {
  std::vector<int> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) out.push_back(std::stoi(item));
  return out;
}

void run(int rounds, int steps, const std::vector<int>& everies) {
  int rank = 0, world = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &world);
  TrainConfig config = bench_model(1.25f, 1, world);
  config.steps = 1 << 20;
  config.peak_gflops = 1;
  Trainer trainer(config, MPI_COMM_WORLD, bench_tokens());
  sigma::ckpt::MemoryCopies copies(MPI_COMM_WORLD, {"/dev/shm", fmt::format("bench-{}", getpid()),
                                                    fmt::format("bench-node-{}", rank)});
  timed_steps(trainer, copies, 3, 1);  // warm-up, and the copies' first take (directories, space check)
  std::vector<double> off;
  std::vector<std::vector<double>> on(everies.size());
  for (int r = 0; r < rounds; ++r) {
    if (r % 2 == 0) off.push_back(timed_steps(trainer, copies, steps, 0));
    for (size_t i = 0; i < everies.size(); ++i) on[i].push_back(timed_steps(trainer, copies, steps, everies[i]));
    if (r % 2 == 1) off.push_back(timed_steps(trainer, copies, steps, 0));
  }
  const auto state = trainer.state();
  double bytes = 0;
  for (const auto& s : state.tensors) {
    double n = 1;
    for (auto d : s.local_shape) n *= static_cast<double>(d);
    bytes += 4 * n;
  }
  copies.drop();
  if (rank != 0) return;
  const double base = median(off);
  fmt::print("sigma_memory_copies_bench: {} ranks, {} rounds x {} steps, state {:.1f} MiB per rank "
             "(the node's tmpfs holds 4x that per rank: two steps, own and mirrored)\n",
             world, rounds, steps, bytes / 1048576);
  fmt::print("  no copies:        {:.0f} tokens/s (median; rounds {:.0f})\n", base, fmt::join(off, " "));
  for (size_t i = 0; i < everies.size(); ++i) {
    const double rate = median(on[i]);
    fmt::print("  copy every {:>3}:  {:.0f} tokens/s (median; rounds {:.0f}), cost {:+.2f}%\n", everies[i], rate,
               fmt::join(on[i], " "), 100.0 * (base - rate) / base);
  }
}

}  // namespace

int main(int argc, char** argv) {
  namespace po = boost::program_options;
  po::options_description options("sigma_memory_copies_bench");
  int rounds = 6, steps = 8;
  std::string every = "1,4,16";
  options.add_options()("rounds", po::value(&rounds), "alternating rounds (default 6)")(
      "steps", po::value(&steps), "steps per setting in a round (default 8)")(
      "every", po::value(&every), "copy intervals to measure (default 1,4,16)");
  po::variables_map vm;
  std::vector<int> everies;
  try {
    po::store(po::parse_command_line(argc, argv, options), vm);
    po::notify(vm);
    everies = parse_list(every);
  } catch (const std::exception& e) {
    fmt::print(stderr, "sigma_memory_copies_bench: {}\n", e.what());
    return 2;
  }
  sigma::core::start_mpi(&argc, &argv);
  run(std::max(1, rounds), std::max(1, steps), everies);  // the trainer and copies free their state before MPI_Finalize
  MPI_Finalize();
  return 0;
}
