#include "sigma/trainer/peak.hpp"

#include <algorithm>
#include <chrono>
#include <vector>

#include <fmt/format.h>

#include "sigma/trainer/kernels.hpp"
#include "sigma/trainer/parallel.hpp"
#include "sigma/trainer/sgemm.hpp"

namespace sigma::trainer {
namespace {

// Timed in batches of calls of at least 10 ms each, the best batch kept: one call of a step's shape takes well
// under a millisecond, and the fastest single call can be a clock artefact (on a VM, once far above what a
// 2048^3 sgemm reaches: bench/results/trainer-speed.md, the MFU's peak row), which would understate every MFU
// after it.
constexpr double kBatchSeconds = 0.01;

enum class Sgemm { sigma, openblas };

// C = A·B over the rank's threads: sigma's through gemm_batch; OpenBLAS's cut the same way (blocks of rows, or of
// columns where there are more columns), one single-threaded call per thread.
void product(Sgemm sgemm, const GemmShape& s, const float* a, const float* b, float* c) {
  if (sgemm == Sgemm::sigma) {
    gemm_nn(s.m, s.n, s.k, a, b, c, 0.0f);
    return;
  }
  const bool rows = s.m >= s.n;
  const int64_t along = rows ? s.m : s.n;
  const int64_t per_thread = (along + compute_threads() - 1) / compute_threads();
  parallel_for(along, per_thread, [&](int64_t lo, int64_t hi, int) {
    const int part = static_cast<int>(hi - lo);
    if (rows)
      openblas_sgemm(false, false, part, s.n, s.k, 1.0f, a + lo * s.k, s.k, b, s.n, 0.0f, c + lo * s.n, s.n);
    else
      openblas_sgemm(false, false, s.m, part, s.k, 1.0f, a, s.k, b + lo, s.n, 0.0f, c + lo, s.n);
  });
}

double gemm_gflops(Sgemm sgemm, const GemmShape& s, double seconds) {
  Floats a(static_cast<size_t>(s.m) * s.k, 0.5f), b(static_cast<size_t>(s.k) * s.n, 0.25f),
      c(static_cast<size_t>(s.m) * s.n, 0.0f);
  using clock = std::chrono::steady_clock;
  product(sgemm, s, a.data(), b.data(), c.data());  // warm-up: threads, page faults
  const double flops = 2.0 * s.m * static_cast<double>(s.n) * s.k;
  double best = 0;
  auto deadline = clock::now() + std::chrono::duration<double>(seconds);
  for (int batches = 0; clock::now() < deadline || batches < 3; ++batches) {
    const auto start = clock::now();
    int calls = 0;
    double elapsed = 0;
    do {
      product(sgemm, s, a.data(), b.data(), c.data());
      ++calls;
      elapsed = std::chrono::duration<double>(clock::now() - start).count();
    } while (elapsed < kBatchSeconds);
    best = std::max(best, flops * calls / elapsed / 1e9);
  }
  return best;
}

}  // namespace

std::string PeakRate::source() const {
  return fmt::format("{} sgemm {}x{}x{}, best of {} sizes x {} sgemm{}, {} thread{}", sgemm, at.m, at.n, at.k,
                     shapes_tried, sgemms_tried, sgemms_tried == 1 ? "" : "s", threads, threads == 1 ? "" : "s");
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
  best.sgemms_tried = own_sgemm_available() ? 2 : 1;
  for (size_t i = 0; i < shapes.size(); ++i) {
    const double seconds = i + 1 == shapes.size() ? 3 * seconds_each : seconds_each;
    ++best.shapes_tried;
    auto consider = [&](double rate, const char* sgemm) {
      if (rate <= best.gflops) return;
      best.gflops = rate;
      best.at = shapes[i];
      best.sgemm = sgemm;
    };
    if (own_sgemm_available()) {
      best.sigma_rates.push_back(gemm_gflops(Sgemm::sigma, shapes[i], seconds));
      consider(best.sigma_rates.back(), "sigma");
    }
    best.openblas_rates.push_back(gemm_gflops(Sgemm::openblas, shapes[i], seconds));
    consider(best.openblas_rates.back(), "OpenBLAS");
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
