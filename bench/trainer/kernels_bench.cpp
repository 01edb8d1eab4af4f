// sigma-train's own kernels (and one expert's FFN through its sgemm) timed alone at the bench model's sizes
// (bench_model.hpp: D=256, H=4, T=256, 8 sequences = 2048 tokens, E=8, F=512, top-2 so ~512 rows an expert,
// vocabulary 256): the best of --reps calls each, one layer's worth, on --threads threads. Where the
// trainer bench's step time goes, part by part, without a profiler. Then the single-threaded sgemm at the
// shapes a thread runs in a 2-thread step, sigma's against OpenBLAS's, with cold operands as in a step. Not a
// test.
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
#include "sigma/trainer/sgemm.hpp"

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
  show(fmt::format("one expert's FFN forward, {} rows (3 sgemm)", rows).c_str(), [&] {  // sigma's sgemm
    gemm_nn(rows, F, D, q.data(), w1.data(), gate.data(), 0.0f);
    gemm_nn(rows, F, D, q.data(), w3.data(), up.data(), 0.0f);
    swiglu_forward(gate.data(), up.data(), act.data(), static_cast<int64_t>(rows) * F);
    gemm_nn(rows, D, F, act.data(), w2.data(), out.data(), 0.0f);
  });
}

// 16 operand sets of one product (~28 MiB in all at the shapes below, so that a call finds its operands in L3
// or memory, as in a step, not in the cache the previous call left).
struct ColdOperands {
  static constexpr int kSets = 16;
  std::vector<Floats> a, b, c;
  ColdOperands(int M, int N, int K) {
    std::mt19937 rng(3);
    for (int i = 0; i < kSets; ++i) {
      a.push_back(random_floats(static_cast<size_t>(M) * K, rng));
      b.push_back(random_floats(static_cast<size_t>(K) * N, rng));
      c.emplace_back(static_cast<size_t>(M) * N);
    }
  }
};

// GFLOP/s of `sgemm` over the operand sets in turn, best of `rounds` rounds of 4 passes.
double cold_gflops(bool trans_a, bool trans_b, int M, int N, int K, ColdOperands& o, int rounds,
                   void (*sgemm)(bool, bool, int, int, int, float, const float*, int, const float*, int, float,
                                 float*, int)) {
  constexpr int kPasses = 4;
  const int lda = trans_a ? M : K, ldb = trans_b ? K : N;
  double best = 0;
  for (int round = 0; round < rounds; ++round) {
    const auto start = std::chrono::steady_clock::now();
    for (int pass = 0; pass < kPasses; ++pass)
      for (int i = 0; i < ColdOperands::kSets; ++i)
        sgemm(trans_a, trans_b, M, N, K, 1.0f, o.a[i].data(), lda, o.b[i].data(), ldb, 0.0f, o.c[i].data(), N);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    best = std::max(best, 2.0 * M * N * K * ColdOperands::kSets * kPasses / seconds / 1e9);
  }
  return best;
}

void compare_sgemm(int rounds) {
  if (!own_sgemm_available()) {
    fmt::print("sgemm: this CPU has no AVX-512F, so sigma-train's matmuls are OpenBLAS's; nothing to compare\n");
    return;
  }
  struct Shape {
    const char* what;
    bool trans_a, trans_b;
    int M, N, K;
  };
  // One thread's share of the bench model's products with 2 threads (rows of each split in two).
  const Shape shapes[] = {{"expert gate/up, x w1", false, false, 256, 512, 256},
                          {"expert down, act w2", false, false, 256, 256, 512},
                          {"expert input grad, dy w2^T", false, true, 256, 512, 256},
                          {"expert input grad, dgate w1^T", false, true, 256, 256, 512},
                          {"expert weight grad, x^T dgate", true, false, 256, 512, 512},
                          {"expert weight grad, act^T dy", true, false, 512, 256, 512},
                          {"q/k/v projection, h wq", false, false, 1024, 256, 256},
                          {"projection weight grad, h^T dq", true, false, 256, 256, 2048}};
  fmt::print("single-threaded sgemm, cold operands (16 sets in turn), best of {} rounds, GFLOP/s:\n", rounds);
  fmt::print("  {:<32} {:>16} {:>8} {:>8} {:>7}\n", "product", "M x N x K", "sigma", "OpenBLAS", "ratio");
  for (const Shape& s : shapes) {
    ColdOperands operands(s.M, s.N, s.K);
    const double own = cold_gflops(s.trans_a, s.trans_b, s.M, s.N, s.K, operands, rounds, &sgemm);
    const double blas = cold_gflops(s.trans_a, s.trans_b, s.M, s.N, s.K, operands, rounds, &openblas_sgemm);
    fmt::print("  {:<32} {:>16} {:8.1f} {:8.1f} {:6.2f}x\n", s.what, fmt::format("{}x{}x{} {}{}", s.M, s.N, s.K,
               s.trans_a ? 't' : 'n', s.trans_b ? 't' : 'n'), own, blas, own / blas);
  }
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
  compare_sgemm(3);
  return 0;
}
