// The one thread pool of a rank. OpenBLAS runs single-threaded inside it: two pools on the same cores
// (OpenBLAS's pthreads and ours) slow each other down, and splitting the work ourselves lets the element-wise
// kernels and the matmuls share the same threads.
//
// Waiting threads spin briefly, then yield their core for up to 2 ms, then sleep: a step forks hundreds of
// times, and on an idle machine the next fork comes before the wait ends (waking a sleeping thread costs a
// visible share of a step), while on a busy one (more runnable threads than cores) yielding hands the core to
// the threads that need it (OpenMP's default active wait, which does not yield, made two threads slower than
// one there; this pool's two threads on a machine with another busy process run about as before). The figures:
// bench/results/trainer-speed.md.
//
// Work is split into contiguous chunks decided only by the range and the thread count, so a given thread count
// always computes the same thing in the same order (bitwise determinism). Reductions that must not depend on
// the thread count at all use fixed-size blocks summed in block order (see sum_of_squares).
#pragma once

#include <cstdint>
#include <functional>

namespace sigma::trainer {

// Threads per rank for every kernel; OpenBLAS is set to 1 thread. Until called: 1 thread. Process-wide: the
// last call wins (a Trainer calls it with its config's `threads`).
void set_compute_threads(int threads);
int compute_threads();

// Calls body(begin, end, chunk) for contiguous chunks covering [0, n), chunk < compute_threads(), in parallel;
// returns when all are done. Ranges shorter than 2 * min_chunk, and calls from inside a body, run inline as
// one chunk.
void parallel_for(int64_t n, int64_t min_chunk, const std::function<void(int64_t, int64_t, int)>& body);

}  // namespace sigma::trainer
