// sigma-train's own kernels (and one expert's FFN through OpenBLAS) timed alone at the bench model's sizes
// (bench_model.hpp: D=256, H=4, T=256, 8 sequences = 2048 tokens, E=8, F=512, top-2 so ~512 rows an expert,
// vocabulary 256): the best of --reps calls each, one layer's worth, on --threads threads. Where the
// trainer bench's step time goes, part by part, without a profiler. Not a test.
//   sigma_kernels_bench --threads 1 --reps 30
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <random>
#include <vector>

#include <boost/program_options.hpp>
#include <fmt/format.h>
#include <fmt/ostream.h>

#include "bench_model.hpp"
#include "sigma/trainer/kernels.hpp"
#include "sigma/trainer/parallel.hpp"

using namespace sigma::trainer;

namespace {

Floats random_floats(size_t n, std::mt19937& rng) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  Floats v(n);
  for (auto& x : v) x = normal(rng);
  return v;
}

// The fastest of `reps` calls, in milliseconds.
double best_ms(int reps, const std::function<void()>& call) {
  double best = 1e300;
  for (int i = 0; i < reps; ++i) {
    const auto start = std::chrono::steady_clock::now();
    call();
    best = std::min(best, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  return best;
}

void run(int threads, int reps) {
  set_compute_threads(threads);
  const TrainConfig config = bench_model(0, threads, 1);
  const ModelConfig& m = config.model;
  const int B = config.global_batch, T = m.seq_len, D = m.d_model, H = m.n_heads,
            hd = D / H, E = m.n_experts, F = m.d_ff, V = m.vocab_size, N = B * T;
  const int rows = N * m.top_k_of(0) / E;  // one expert's rows with balanced routing
  const size_t ND = static_cast<size_t>(N) * D;
  std::mt19937 rng(7);
  Floats q = random_floats(ND, rng), k = random_floats(ND, rng), v = random_floats(ND, rng),
         dout = random_floats(ND, rng), out(ND), dq(ND), dk(ND), dv(ND), lse(static_cast<size_t>(B) * H * T),
         scratch;
  Floats gate = random_floats(static_cast<size_t>(N) * 2 * F, rng), up = random_floats(gate.size(), rng),
         dact = random_floats(gate.size(), rng), act(gate.size()), dgate(gate.size()), dup(gate.size());
  Floats router = random_floats(static_cast<size_t>(D) * E, rng), logits(static_cast<size_t>(N) * E);
  Floats head = random_floats(static_cast<size_t>(N) * V, rng), dhead(head.size());
  std::vector<uint32_t> targets(static_cast<size_t>(N));
  for (auto& t : targets) t = static_cast<uint32_t>(rng() % static_cast<uint32_t>(V));
  Floats gain(static_cast<size_t>(D), 1.0f), dgain(static_cast<size_t>(D)), rstd(static_cast<size_t>(N)), dx(ND);
  Floats w1 = random_floats(static_cast<size_t>(D) * F, rng), w3 = random_floats(w1.size(), rng),
         w2 = random_floats(w1.size(), rng);
  const int64_t expert_elements = static_cast<int64_t>(N) * m.top_k_of(0) * F;  // every kept assignment's SwiGLU

  fmt::print("sigma-train kernels, one layer of the bench model (N={} D={} H={} T={} E={} F={} V={}), {} thread(s), "
             "best of {}:\n", N, D, H, T, E, F, V, threads, reps);
  auto show = [&](const char* what, const std::function<void()>& call) {
    fmt::print("  {:<46} {:8.3f} ms\n", what, best_ms(reps, call));
  };
  show("attention forward (blocked causal, softmax)", [&] {
    attention_forward(q.data(), k.data(), v.data(), lse.data(), out.data(), scratch, B, T, H, hd);
  });
  show("attention backward", [&] {
    attention_backward(dout.data(), q.data(), k.data(), v.data(), lse.data(), dq.data(), dk.data(), dv.data(),
                       scratch, B, T, H, hd);
  });
  show("SwiGLU forward, all experts' rows", [&] { swiglu_forward(gate.data(), up.data(), act.data(), expert_elements); });
  show("SwiGLU backward, all experts' rows", [&] {
    swiglu_backward(dact.data(), gate.data(), up.data(), dgate.data(), dup.data(), expert_elements);
  });
  show("router logits", [&] { router_logits(q.data(), router.data(), logits.data(), N, D, E); });
  show("RMSNorm forward", [&] { rmsnorm_forward(q.data(), gain.data(), out.data(), rstd.data(), N, D, m.norm_eps); });
  show("RMSNorm backward", [&] {
    rmsnorm_backward(dout.data(), q.data(), gain.data(), rstd.data(), dx.data(), dgain.data(), N, D);
  });
  show("cross-entropy (once a step)", [&] {
    cross_entropy_forward_backward(head.data(), targets.data(), dhead.data(), N, V, 1.0f / static_cast<float>(N));
  });
  show(fmt::format("one expert's FFN forward, {} rows (3 sgemm)", rows).c_str(), [&] {
    gemm_nn(rows, F, D, q.data(), w1.data(), gate.data(), 0.0f);
    gemm_nn(rows, F, D, q.data(), w3.data(), up.data(), 0.0f);
    swiglu_forward(gate.data(), up.data(), act.data(), static_cast<int64_t>(rows) * F);
    gemm_nn(rows, D, F, act.data(), w2.data(), out.data(), 0.0f);
  });
}

}  // namespace

int main(int argc, char** argv) {
  namespace po = boost::program_options;
  po::options_description options("sigma_kernels_bench");
  int threads = 1, reps = 30;
  options.add_options()("threads", po::value(&threads), "threads (default 1)")(
      "reps", po::value(&reps), "calls of each kernel; the fastest is shown (default 30)");
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, options), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    fmt::print(stderr, "sigma_kernels_bench: {}\n{}", e.what(), fmt::streamed(options));
    return 2;
  }
  if (threads < 1 || reps < 1) {
    fmt::print(stderr, "sigma_kernels_bench: --threads and --reps: expected a whole number of at least 1\n");
    return 2;
  }
  run(threads, reps);
  return 0;
}
