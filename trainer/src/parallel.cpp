#include "sigma/trainer/parallel.hpp"

#include <algorithm>

#include <cblas.h>
#include <omp.h>

namespace sigma::trainer {
namespace {
int g_threads = 1;  // until set_compute_threads: one thread, nothing forked
}  // namespace

void set_compute_threads(int threads) {
  openblas_set_num_threads(1);
  g_threads = std::max(1, threads);
}

int compute_threads() { return g_threads; }

void parallel_for(int64_t n, int64_t min_chunk, const std::function<void(int64_t, int64_t, int)>& body) {
  if (n <= 0) return;
  const int64_t threads = omp_in_parallel() ? 1 : std::min<int64_t>(compute_threads(), n / std::max<int64_t>(1, min_chunk));
  if (threads <= 1) {
    body(0, n, 0);
    return;
  }
#pragma omp parallel for schedule(static, 1) num_threads(static_cast<int>(threads))
  for (int64_t c = 0; c < threads; ++c) body(n * c / threads, n * (c + 1) / threads, static_cast<int>(c));
}

}  // namespace sigma::trainer
