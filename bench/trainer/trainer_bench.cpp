// Speed of sigma-train on a fixed MoE config: tokens/s, CPU time per step, honest MFU (work done over the best
// sgemm rate measured in the same run), the 1 -> all-threads scaling of one rank, and the same model in PyTorch
// at its best thread count (bench/trainer/torch_moe_bench.py through /usr/bin/python3; skipped with a note
// without torch).
//   sigma_trainer_bench --threads 2 --capacity 0          (one rank: scaling and PyTorch too)
//   mpirun -n 2 --bind-to core sigma_trainer_bench --threads 1 --capacity 1.25
//   --no-torch, --no-scaling: only sigma at --threads (e.g. under a profiler)
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <mpi.h>
#include <sys/resource.h>
#include <nlohmann/json.hpp>

#include "bench_model.hpp"
#include "sigma/platform/mpi_process.hpp"
#include "sigma/platform/mpi_start.hpp"
#include "sigma/trainer/parallel.hpp"
#include "sigma/trainer/peak.hpp"
#include "sigma/trainer/sgemm.hpp"
#include "sigma/trainer/trainer.hpp"

using namespace sigma::trainer;

namespace {

struct Options {
  int threads = 1, steps = 10;
  float capacity = 0;
  bool torch = true, scaling = true;
};

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

// CPU seconds of this process so far, all threads (a pool's spin included).
double process_cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + 1e-6 * static_cast<double>(t.tv_usec); };
  return seconds(u.ru_utime) + seconds(u.ru_stime);
}

double load_average() {
  std::ifstream in("/proc/loadavg");
  double one = 0;
  in >> one;
  return one;
}

struct SigmaRun {
  double tokens_per_s = 0, median_s = 0, min_s = 0, max_s = 0, flops_per_s = 0, peak_gflops = 0;
  double cpu_s_per_step = 0;  // this process's CPU time per timed step: the work, whatever else the host runs
  int64_t dropped = 0;
  std::string peak_source;
  std::string rates_by_size;  // rank 0's sgemm rate at each size after the steps: how far the step's sizes are
                              // from the peak size
};

// Trains `steps` timed steps after 3 warm-up steps; the peak is the best of the trainer's start-up
// measurement and one taken after the steps (all ranks at once, same sizes).
SigmaRun run_sigma(const Options& o, MPI_Comm world_comm) {
  int world = 1;
  MPI_Comm_size(world_comm, &world);
  TrainConfig config = bench_model(o.capacity, o.threads, world);
  Trainer trainer(config, world_comm, bench_tokens());
  for (int i = 0; i < 3; ++i) trainer.step();  // warm-up: page faults, thread start
  std::vector<StepReport> reports;
  const double cpu_before = process_cpu_seconds();
  for (int i = 0; i < o.steps; ++i) reports.push_back(trainer.step());
  const double cpu_s_per_step = (process_cpu_seconds() - cpu_before) / o.steps;
  MPI_Barrier(world_comm);
  const int tokens = config.global_batch / world * config.model.seq_len;
  const std::vector<GemmShape> shapes = step_gemm_shapes(config.model, tokens);
  const PeakRate after_rate = measure_peak(shapes, 0.05);
  double after = after_rate.gflops, after_total = 0;
  MPI_Allreduce(&after, &after_total, 1, MPI_DOUBLE, MPI_SUM, world_comm);

  std::sort(reports.begin(), reports.end(), [](const auto& a, const auto& b) { return a.seconds < b.seconds; });
  const StepReport& median = reports[reports.size() / 2];
  SigmaRun r;
  r.median_s = median.seconds;
  r.cpu_s_per_step = cpu_s_per_step;
  r.min_s = reports.front().seconds;
  r.max_s = reports.back().seconds;
  r.tokens_per_s = median.tokens / median.seconds;
  r.flops_per_s = median.flops / median.seconds;
  r.dropped = median.dropped;
  r.peak_gflops = std::max(trainer.peak_gflops_all_ranks(), after_total);
  r.peak_source = fmt::format("{} (start {:.1f}, after the steps {:.1f})", trainer.peak_source(),
                              trainer.peak_gflops_all_ranks(), after_total);
  for (size_t i = 0; i < shapes.size(); ++i) {
    r.rates_by_size += fmt::format("{}{}x{}x{} ", i ? ", " : "", shapes[i].m, shapes[i].n, shapes[i].k);
    if (!after_rate.sigma_rates.empty()) r.rates_by_size += fmt::format("{:.0f}/", after_rate.sigma_rates[i]);
    r.rates_by_size += fmt::format("{:.0f}", after_rate.openblas_rates[i]);
  }
  return r;
}

// PyTorch's tokens/s at `threads`, or a negative value with the reason in `note`.
double run_torch(const Options& o, int threads, std::string& note) {
  const std::string script = SIGMA_TORCH_BENCH_SCRIPT;
  const std::string command =
      fmt::format("/usr/bin/python3 {} --threads {} --steps {} --capacity {} 2>&1", script, threads, o.steps, o.capacity);
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) {
    note = "cannot start /usr/bin/python3";
    return -1;
  }
  std::string out, last;
  char buf[4096];
  while (fgets(buf, sizeof buf, pipe)) out += buf;
  pclose(pipe);
  size_t start = out.rfind('{');
  if (start != std::string::npos) last = out.substr(start);
  auto parsed = nlohmann::json::parse(last, nullptr, false);
  if (parsed.is_discarded() || !parsed.contains("tokens_per_s")) {
    note = out.find("No module named 'torch'") != std::string::npos
               ? "PyTorch skipped: torch is not installed (Debian: apt-get install python3-torch)"
               : "PyTorch skipped: " + out.substr(0, out.find('\n'));
    return -1;
  }
  return parsed["tokens_per_s"].get<double>();
}

void print_sigma(const char* label, const SigmaRun& r) {
  fmt::print("  {}: {:.0f} tokens/s (median step {:.1f} ms, min {:.1f}, max {:.1f}; CPU {:.1f} ms per step), dropped {}\n",
             label, r.tokens_per_s, 1e3 * r.median_s, 1e3 * r.min_s, 1e3 * r.max_s, 1e3 * r.cpu_s_per_step, r.dropped);
  fmt::print("    MFU {:.1f}% = {:.1f} GFLOP/s done (expert work of kept assignments only) / {:.1f} GFLOP/s peak: {}\n",
             100 * r.flops_per_s / 1e9 / r.peak_gflops, r.flops_per_s / 1e9, r.peak_gflops, r.peak_source);
  fmt::print("    sgemm GFLOP/s by size (rank 0, its threads, after the steps; {}): {}\n",
             own_sgemm_available() ? "sigma's/OpenBLAS's" : "OpenBLAS's", r.rates_by_size);
}

void run(int argc, char** argv) {
  int rank = 0, world = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &world);
  Options o;
  for (int i = 1; i < argc; ++i) {
    const bool has_value = i + 1 < argc;
    if (std::strcmp(argv[i], "--threads") == 0 && has_value) o.threads = std::atoi(argv[++i]);
    else if (std::strcmp(argv[i], "--steps") == 0 && has_value) o.steps = std::atoi(argv[++i]);
    else if (std::strcmp(argv[i], "--capacity") == 0 && has_value) o.capacity = static_cast<float>(std::atof(argv[++i]));
    else if (std::strcmp(argv[i], "--no-torch") == 0) o.torch = false;
    else if (std::strcmp(argv[i], "--no-scaling") == 0) o.scaling = false;
  }
  const double load_before = load_average();
  const TrainConfig shown = bench_model(o.capacity, o.threads, world);
  if (rank == 0)
    fmt::print("sigma-train bench: {} rank(s) x {} thread(s), D={} L={} H={} T={} E={} F={} top-{} batch {} capacity {}\n",
               world, o.threads, shown.model.d_model, shown.model.n_layers, shown.model.n_heads, shown.model.seq_len,
               shown.model.n_experts, shown.model.d_ff, shown.model.top_k[0], shown.global_batch, o.capacity);
  SigmaRun all = run_sigma(o, MPI_COMM_WORLD);
  nlohmann::json result = {{"ranks", world}, {"threads", o.threads}, {"capacity", o.capacity},
                           {"tokens_per_s", all.tokens_per_s}, {"model_gflops", all.flops_per_s / 1e9},
                           {"peak_gflops", all.peak_gflops}, {"peak_source", all.peak_source},
                           {"mfu", all.flops_per_s / 1e9 / all.peak_gflops}, {"median_step_s", all.median_s},
                           {"cpu_s_per_step", all.cpu_s_per_step}, {"sgemm_gflops_by_size", all.rates_by_size}};
  if (rank == 0) print_sigma(fmt::format("sigma {}x{}", world, o.threads).c_str(), all);

  if (world == 1 && o.threads > 1 && o.scaling) {  // scaling of one rank: the same run with one thread
    Options one = o;
    one.threads = 1;
    SigmaRun single = run_sigma(one, MPI_COMM_WORLD);
    print_sigma("sigma 1x1", single);
    fmt::print("  one rank, 1 -> {} threads: {:.2f}x tokens/s\n", o.threads, all.tokens_per_s / single.tokens_per_s);
    result["tokens_per_s_1_thread"] = single.tokens_per_s;
    result["thread_scaling"] = all.tokens_per_s / single.tokens_per_s;
  }
  set_compute_threads(o.threads);

  if (world == 1 && o.torch) {  // PyTorch at every thread count up to ours, the best one compared
    double best = -1;
    int best_threads = 0;
    std::string note;
    for (int t = 1; t <= o.threads && note.empty(); ++t) {
      double tok = run_torch(o, t, note);
      if (tok > 0) fmt::print("  PyTorch, {} thread(s): {:.0f} tokens/s\n", t, tok);
      if (tok > best) best = tok, best_threads = t;
    }
    if (best > 0) {
      fmt::print("  sigma {:.0f} tokens/s vs PyTorch best ({} thread(s)) {:.0f} tokens/s: {:.2f}x\n", all.tokens_per_s,
                 best_threads, best, all.tokens_per_s / best);
      result["torch_best_tokens_per_s"] = best;
      result["torch_best_threads"] = best_threads;
      result["vs_torch"] = all.tokens_per_s / best;
    } else {
      fmt::print("  {}\n", note);
    }
  } else if (rank == 0) {
    fmt::print("  PyTorch and the thread scaling run only with one rank (mpirun -n 1 or no mpirun)\n");
  }
  if (rank == 0) {
    fmt::print("  load average (1 min) before: {:.2f}, after: {:.2f}\n", load_before, load_average());
    fmt::print("{}\n", result.dump());
  }
}

}  // namespace

int main(int argc, char** argv) {
  sigma::core::start_mpi(&argc, &argv);
  run(argc, argv);  // the trainer (and its communicators) must be gone before MPI_Finalize
  MPI_Finalize();
  return 0;
}
