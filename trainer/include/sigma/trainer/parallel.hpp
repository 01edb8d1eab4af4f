// The one thread pool of a rank (OpenMP). OpenBLAS runs single-threaded inside it: two pools spinning on the
// same cores (OpenBLAS's pthreads and OpenMP) slow each other down, and splitting the work ourselves lets the
// element-wise kernels and the matmuls share the same threads.
//
// Work is split into contiguous chunks decided only by the range and the thread count, so a given thread count
// always computes the same thing in the same order (bitwise determinism). Reductions that must not depend on
// the thread count at all use fixed-size blocks summed in block order (see sum_of_squares).
#pragma once

#include <cstdint>
#include <functional>

namespace sigma::trainer {

// Threads per rank for every kernel (OpenMP); OpenBLAS is set to 1 thread. Until called: 1 thread.
void set_compute_threads(int threads);
int compute_threads();

// Calls body(begin, end, chunk) for contiguous chunks covering [0, n), chunk < compute_threads(), in parallel.
// Ranges shorter than 2 * min_chunk, and calls from inside a parallel region, run inline as one chunk.
void parallel_for(int64_t n, int64_t min_chunk, const std::function<void(int64_t, int64_t, int)>& body);

}  // namespace sigma::trainer
