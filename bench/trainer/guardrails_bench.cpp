// Cost of sigma-train's guardrails: tokens/s with every guardrail on (gradient norm compared across replicas
// every step, loss-spike window, straggler monitor, replica weight hash every 50 steps) against all of them off,
// on the trainer bench's model. The two runs alternate in rounds of a few steps (off-on, then on-off) in one
// process, so a noisy host slows both alike; the figure is the ratio of the medians. Not a test.
//   mpirun -n 2 --bind-to core sigma_guardrails_bench [--rounds 8] [--steps 10]
// Both runs link the MPI timing wrappers (mpi_wait_clock.hpp: two clock reads per blocking MPI call); the
// non-finite check is one 3-value all-reduce per step in both.
#include <algorithm>
#include <chrono>
#include <fstream>
#include <string>
#include <vector>

#include <boost/program_options.hpp>
#include <fmt/format.h>
#include <fmt/ostream.h>
#include <mpi.h>

#include "bench_model.hpp"
#include "sigma/platform/mpi_process.hpp"
#include "sigma/platform/mpi_start.hpp"
#include "sigma/trainer/guardrails/spike_detector.hpp"
#include "sigma/trainer/trainer.hpp"

using namespace sigma::trainer;

namespace {

TrainConfig model_config(int world, bool guarded) {
  TrainConfig c = bench_model(1.25f, 1, world);
  c.steps = 1 << 20;
  c.peak_gflops = 1;
  c.guard.grad_norm_check = guarded;
  c.guard.spike_window = guarded ? 50 : 0;
  c.guard.straggler_margin = guarded ? 0.5 : 0;
  c.replica_check_every = guarded ? 50 : 0;
  return c;
}

// Tokens/s over `steps` steps, as the slowest rank saw it.
double timed_steps(Trainer& t, int steps) {
  MPI_Barrier(MPI_COMM_WORLD);
  const auto start = std::chrono::steady_clock::now();
  double tokens = 0;
  for (int i = 0; i < steps; ++i) {
    tokens += t.step().tokens;
    const int every = t.config().replica_check_every;
    if (every > 0 && t.completed_steps() % every == 0) t.check_replicas();
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), slowest = 0;
  MPI_Allreduce(&seconds, &slowest, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  return tokens / slowest;
}

// Seconds per call of `work`, the slowest rank's, over `calls` calls.
template <typename Work>
double seconds_per_call(int calls, Work work) {
  MPI_Barrier(MPI_COMM_WORLD);
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < calls; ++i) work();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / calls, slowest = 0;
  MPI_Allreduce(&seconds, &slowest, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  return slowest;
}

// The guardrails' own work in one step, each piece timed alone (a noisy host hides a 1% difference between
// two whole runs, not the pieces): the 3-value all-reduce of the finiteness and norm comparison, the
// straggler all-gather, the spike judgement, and the replica hash divided by its interval.
void print_piece_costs(Trainer& on, double step_seconds) {
  uint64_t in[3] = {1, 2, 0}, out[3];
  const double reduce = seconds_per_call(
      2000, [&] { MPI_Allreduce(in, out, 3, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD); });
  std::vector<double> times(2 * static_cast<size_t>(on.comm().size()));
  double mine[2] = {0.1, 0.01};
  const double gather = seconds_per_call(
      2000, [&] { MPI_Allgather(mine, 2, MPI_DOUBLE, times.data(), 2, MPI_DOUBLE, MPI_COMM_WORLD); });
  SpikeDetector spikes(50, 6, 0.1);
  for (int i = 0; i < 50; ++i) spikes.accept(i, 3.0 + 0.01 * (i % 7));
  volatile bool seen = false;
  const double judge = seconds_per_call(2000, [&] { seen = spikes.judge(3.1).spike; });
  const double hash = seconds_per_call(5, [&] { on.check_replicas(); });
  const double per_step = reduce + gather + judge + hash / on.config().replica_check_every;
  if (on.comm().rank() != 0) return;
  fmt::print("  pieces per step: all-reduce {:.1f} us, all-gather {:.1f} us, spike judgement {:.1f} us, "
             "replica hash {:.0f} us / {} steps\n",
             1e6 * reduce, 1e6 * gather, 1e6 * judge, 1e6 * hash, on.config().replica_check_every);
  fmt::print("  pieces: {:.1f} us per step = {:.3f}% of the median guarded step ({:.1f} ms)\n", 1e6 * per_step,
             100 * per_step / step_seconds, 1e3 * step_seconds);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

double load_average() {
  double one = 0;
  std::ifstream("/proc/loadavg") >> one;
  return one;
}

void run(int rounds, int steps) {
  int rank = 0, world = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &world);
  auto data = bench_tokens();
  Trainer off(model_config(world, false), MPI_COMM_WORLD, data);
  Trainer on(model_config(world, true), MPI_COMM_WORLD, data);
  timed_steps(off, 3);  // warm-up: first touches of activations and BLAS buffers
  timed_steps(on, 3);
  const double load_before = load_average();
  std::vector<double> off_rates, on_rates;
  for (int r = 0; r < rounds; ++r) {
    const bool off_first = r % 2 == 0;
    if (off_first) off_rates.push_back(timed_steps(off, steps));
    on_rates.push_back(timed_steps(on, steps));
    if (!off_first) off_rates.push_back(timed_steps(off, steps));
  }
  if (rank == 0) {
    const double a = median(off_rates), b = median(on_rates);
    fmt::print("sigma_guardrails_bench: {} ranks, {} rounds x {} steps each, load average {:.2f} -> {:.2f}\n", world,
               rounds, steps, load_before, load_average());
    fmt::print("  guardrails off: {:.0f} tokens/s (median; rounds {:.0f})\n", a, fmt::join(off_rates, " "));
    fmt::print("  guardrails on:  {:.0f} tokens/s (median; rounds {:.0f})\n", b, fmt::join(on_rates, " "));
    fmt::print("  cost: {:+.2f}% (on vs off, medians)\n", 100.0 * (a - b) / a);
  }
  double on_median = median(on_rates);
  MPI_Bcast(&on_median, 1, MPI_DOUBLE, 0, MPI_COMM_WORLD);
  const double tokens_per_step = static_cast<double>(on.config().global_batch) * on.config().model.seq_len;
  print_piece_costs(on, tokens_per_step / on_median);
}

}  // namespace

int main(int argc, char** argv) {
  namespace po = boost::program_options;
  po::options_description options("sigma_guardrails_bench");
  int rounds = 8, steps = 10;
  options.add_options()("rounds", po::value(&rounds), "off/on rounds (default 8)")(
      "steps", po::value(&steps), "steps per run in a round (default 10)");
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, options), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    fmt::print(stderr, "sigma_guardrails_bench: {}\n{}", e.what(), fmt::streamed(options));
    return 2;
  }
  sigma::core::start_mpi(&argc, &argv);
  run(std::max(1, rounds), std::max(1, steps));  // the trainers free their communicators before MPI_Finalize
  MPI_Finalize();
  return 0;
}
