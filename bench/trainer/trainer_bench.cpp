// Speed of sigma-train on a fixed small MoE config: tokens/s and MFU against the OpenBLAS sgemm peak measured
// in the same run on the same cores (before and after the training steps, to show how noisy the host was).
//   mpirun -n 1 sigma_trainer_bench --threads 2
//   mpirun -n 2 --bind-to core sigma_trainer_bench --threads 1
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include <cblas.h>
#include <fmt/format.h>
#include <mpi.h>

#include "sigma/trainer/peak.hpp"
#include "sigma/trainer/trainer.hpp"

using namespace sigma::trainer;

namespace {

TrainConfig bench_config(int threads, int world) {
  TrainConfig c;
  c.model.vocab_size = 256;
  c.model.d_model = 256;
  c.model.n_layers = 2;
  c.model.n_heads = 4;
  c.model.seq_len = 128;
  c.model.n_experts = 8;
  c.model.d_ff = 512;
  c.model.top_k = {2};
  c.model.capacity_factor = 1.25f;
  c.global_batch = 16;
  c.steps = 1000;
  c.threads = threads;
  c.ep_size = world;
  c.data = "synthetic";
  return c;
}

std::shared_ptr<TokenData> bench_tokens() {
  auto data = std::make_shared<TokenData>();
  data->vocab_size = 256;
  uint64_t x = 2463534242ull;
  for (int i = 0; i < 1 << 20; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    data->tokens.push_back(static_cast<uint32_t>(x & 255));
  }
  return data;
}

double load_average() {
  std::ifstream in("/proc/loadavg");
  double one = 0;
  in >> one;
  return one;
}

double summed_peak(MPI_Comm world) {
  MPI_Barrier(world);
  double mine = measure_sgemm_gflops(1024, 1.0), total = 0;
  MPI_Allreduce(&mine, &total, 1, MPI_DOUBLE, MPI_SUM, world);
  return total;
}

void run(int argc, char** argv) {
  int rank = 0, world = 1, threads = 1, steps = 10;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &world);
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--threads") == 0) threads = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--steps") == 0) steps = std::atoi(argv[i + 1]);
  }
  openblas_set_num_threads(threads);
  double load_before = load_average();
  double peak_before = summed_peak(MPI_COMM_WORLD);

  TrainConfig config = bench_config(threads, world);
  config.peak_gflops = peak_before / world;
  Trainer trainer(config, MPI_COMM_WORLD, bench_tokens());
  for (int i = 0; i < 3; ++i) trainer.step();  // warm-up: page faults, OpenBLAS thread start
  std::vector<double> step_seconds;
  for (int i = 0; i < steps; ++i) step_seconds.push_back(trainer.step().seconds);
  double peak_after = summed_peak(MPI_COMM_WORLD);

  std::sort(step_seconds.begin(), step_seconds.end());
  const double tokens = static_cast<double>(config.global_batch) * config.model.seq_len;
  const double median = step_seconds[step_seconds.size() / 2];
  const double tok_s = tokens / median;
  const double achieved = trainer.flops_per_token() * tok_s / 1e9;
  const double peak = std::max(peak_before, peak_after);
  if (rank == 0) {
    fmt::print("sigma-train bench: {} rank(s) x {} thread(s), D={} L={} H={} T={} E={} F={} top-{} batch {}\n", world,
               threads, config.model.d_model, config.model.n_layers, config.model.n_heads, config.model.seq_len,
               config.model.n_experts, config.model.d_ff, config.model.top_k[0], config.global_batch);
    fmt::print("  sgemm peak (all ranks, n=1024): {:.1f} GFLOP/s before, {:.1f} after\n", peak_before, peak_after);
    fmt::print("  step time: median {:.1f} ms, min {:.1f} ms, max {:.1f} ms over {} steps\n", 1e3 * median,
               1e3 * step_seconds.front(), 1e3 * step_seconds.back(), steps);
    fmt::print("  {:.0f} tokens/s, {:.1f} GFLOP/s model flops, MFU {:.1f}% of the measured peak\n", tok_s, achieved,
               100 * achieved / peak);
    fmt::print("  load average (1 min) before: {:.2f}, after: {:.2f}\n", load_before, load_average());
    fmt::print("{{\"ranks\":{},\"threads\":{},\"tokens_per_s\":{:.1f},\"model_gflops\":{:.2f},\"peak_gflops\":{:.2f},"
               "\"mfu\":{:.4f},\"median_step_s\":{:.5f}}}\n",
               world, threads, tok_s, achieved, peak, achieved / peak, median);
  }
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  run(argc, argv);  // the trainer (and its communicators) must be gone before MPI_Finalize
  MPI_Finalize();
  return 0;
}
