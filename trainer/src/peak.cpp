#include "sigma/trainer/peak.hpp"

#include <algorithm>
#include <chrono>
#include <vector>

#include "sigma/trainer/kernels.hpp"

namespace sigma::trainer {

double measure_sgemm_gflops(int n, double seconds) {
  const size_t count = static_cast<size_t>(n) * n;
  std::vector<float> a(count, 0.5f), b(count, 0.25f), c(count, 0.0f);
  using clock = std::chrono::steady_clock;
  gemm_nn(n, n, n, a.data(), b.data(), c.data(), 0.0f);  // warm-up: threads, page faults
  double best = 0;
  auto deadline = clock::now() + std::chrono::duration<double>(seconds);
  int calls = 0;
  while (clock::now() < deadline || calls < 3) {
    auto start = clock::now();
    gemm_nn(n, n, n, a.data(), b.data(), c.data(), 0.0f);
    double elapsed = std::chrono::duration<double>(clock::now() - start).count();
    best = std::max(best, 2.0 * n * static_cast<double>(n) * n / elapsed / 1e9);
    ++calls;
  }
  return best;
}

}  // namespace sigma::trainer
