#include "sigma/trainer/peak.hpp"

#include <algorithm>
#include <chrono>
#include <vector>

#include <fmt/format.h>

#include "sigma/trainer/kernels.hpp"
#include "sigma/trainer/parallel.hpp"

namespace sigma::trainer {
namespace {

// Timed in batches of calls of at least 10 ms each, the best batch kept: one call of a step's shape takes well
// under a millisecond, and the fastest single call can be a clock artefact (on a VM, once 194 GFLOP/s a core
// where 158 is the most a 2048^3 sgemm reaches), which would understate every MFU after it.
constexpr double kBatchSeconds = 0.01;

double gemm_gflops(const GemmShape& s, double seconds) {
  Floats a(static_cast<size_t>(s.m) * s.k, 0.5f), b(static_cast<size_t>(s.k) * s.n, 0.25f),
      c(static_cast<size_t>(s.m) * s.n, 0.0f);
  using clock = std::chrono::steady_clock;
  gemm_nn(s.m, s.n, s.k, a.data(), b.data(), c.data(), 0.0f);  // warm-up: threads, page faults
  const double flops = 2.0 * s.m * static_cast<double>(s.n) * s.k;
  double best = 0;
  auto deadline = clock::now() + std::chrono::duration<double>(seconds);
  for (int batches = 0; clock::now() < deadline || batches < 3; ++batches) {
    const auto start = clock::now();
    int calls = 0;
    double elapsed = 0;
    do {
      gemm_nn(s.m, s.n, s.k, a.data(), b.data(), c.data(), 0.0f);
      ++calls;
      elapsed = std::chrono::duration<double>(clock::now() - start).count();
    } while (elapsed < kBatchSeconds);
    best = std::max(best, flops * calls / elapsed / 1e9);
  }
  return best;
}

}  // namespace

std::string PeakRate::source() const {
  return fmt::format("sgemm {}x{}x{}, best of {} sizes, {} thread{}", at.m, at.n, at.k, shapes_tried, threads,
                     threads == 1 ? "" : "s");
}

std::vector<GemmShape> step_gemm_shapes(const ModelConfig& m, int tokens) {
  const int expert_rows = std::max(1, tokens * m.top_k_of(0) / m.n_experts);
  std::vector<GemmShape> shapes = {{tokens, m.d_model, m.d_model},        // attention projections
                                   {tokens, m.n_experts, m.d_model},      // router
                                   {expert_rows, m.d_ff, m.d_model},      // expert gate/up
                                   {expert_rows, m.d_model, m.d_ff},      // expert down
                                   {tokens, m.vocab_size, m.d_model},     // output head
                                   {m.seq_len, m.seq_len, m.d_model / m.n_heads},  // attention scores
                                   {2048, 2048, 2048}};
  return shapes;
}

PeakRate measure_peak(const std::vector<GemmShape>& shapes, double seconds_each) {
  PeakRate best;
  best.threads = compute_threads();
  for (size_t i = 0; i < shapes.size(); ++i) {
    const double rate = gemm_gflops(shapes[i], i + 1 == shapes.size() ? 3 * seconds_each : seconds_each);
    ++best.shapes_tried;
    best.rates.push_back(rate);
    if (rate > best.gflops) {
      best.gflops = rate;
      best.at = shapes[i];
    }
  }
  return best;
}

double dense_flops_per_token(const ModelConfig& m) {
  const double D = m.d_model, T = m.seq_len, E = m.n_experts, V = m.vocab_size;
  // Attention: query t scores and weighs keys 0..t only (the kernels skip the rest), (T + 1) / 2 on average.
  return 6 * (m.n_layers * (4 * D * D + D * E) + D * V) + 6.0 * m.n_layers * (T + 1) * D;
}

double expert_flops_per_assignment(const ModelConfig& m) { return 6.0 * 3 * m.d_model * m.d_ff; }

double flops_done(const ModelConfig& m, double tokens, int64_t kept_assignments) {
  return dense_flops_per_token(m) * tokens + expert_flops_per_assignment(m) * static_cast<double>(kept_assignments);
}

}  // namespace sigma::trainer
