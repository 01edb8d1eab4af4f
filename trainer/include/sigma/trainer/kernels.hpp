// The per-layer forward and backward kernels (llm.c style: explicit loops, matmuls through sgemm.hpp).
// Row-major everywhere. Backward kernels ACCUMULATE into their gradient outputs (+=) unless noted.
// Every kernel uses all the rank's threads (parallel.hpp); each output element is computed by one thread in the
// same order whatever the thread count (inside an sgemm split into row or column blocks too, where sigma's own
// sgemm runs; OpenBLAS's may sum a block's elements differently).
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <vector>

#include "sigma/trainer/floats.hpp"

namespace sigma::trainer {

// C = alpha op(A) op(B) + beta C, row-major (lda, ldb, ldc: row strides).
struct Gemm {
  bool trans_a, trans_b;
  int M, N, K;
  float alpha;
  const float* A;
  int lda;
  const float* B;
  int ldb;
  float beta;
  float* C;
  int ldc;
};
// C[M,N] = A[M,K] B[K,N] + beta*C
Gemm gemm_nn_of(int M, int N, int K, const float* A, const float* B, float* C, float beta);
// C[M,N] = A[M,K] B[N,K]^T + beta*C
Gemm gemm_nt_of(int M, int N, int K, const float* A, const float* B, float* C, float beta);
// C[M,N] = A[K,M]^T B[K,N] + beta*C
Gemm gemm_tn_of(int M, int N, int K, const float* A, const float* B, float* C, float beta);

// Independent products (no two write the same C) over the rank's threads under one fork: each is split into
// blocks of 16 output rows or columns (along its larger dimension), the blocks divided into runs of about
// equal flops, one single-threaded sgemm per run. Below ~4 MFLOP in all, one thread.
void gemm_batch(const std::vector<Gemm>& products);
void gemm_nn(int M, int N, int K, const float* A, const float* B, float* C, float beta);
void gemm_nt(int M, int N, int K, const float* A, const float* B, float* C, float beta);
void gemm_tn(int M, int N, int K, const float* A, const float* B, float* C, float beta);

// Helpers for element-wise loops over the rank's threads: row(r) for every row; range(begin, end) over chunks.
void parallel_rows(int64_t rows, const std::function<void(int64_t)>& row);
void parallel_elements(int64_t n, const std::function<void(int64_t, int64_t)>& range);
void copy_floats(const float* src, float* dst, int64_t n);
void zero_floats(float* dst, int64_t n);
void add_floats(const float* a, const float* b, float* out, int64_t n);  // out = a + b (out may alias)
// Sum of x^2 in double; the same result for every thread count.
double sum_of_squares(const float* x, size_t n);

// y = x * rstd * g with rstd = 1/sqrt(mean(x^2) + eps); rows of width D.
void rmsnorm_forward(const float* x, const float* g, float* y, float* rstd, int N, int D, float eps);
void rmsnorm_backward(const float* dy, const float* x, const float* g, const float* rstd, float* dx, float* dg,
                      int N, int D);

// RoPE over rows of width D = H*hd; row n has position n % T. Pairs (2i, 2i+1) rotate by pos*theta^(-2i/hd).
struct RopeTable {
  int T = 0, half = 0;
  std::vector<float> cos, sin;  // [T, half]
};
RopeTable make_rope_table(int T, int head_dim, float theta);
// In place; inverse=true rotates backwards (the backward pass of a rotation is its inverse).
void rope_apply(float* x, int N, int H, int head_dim, const RopeTable& table, bool inverse);

// Causal attention for B sequences of T tokens, H heads of size hd: q,k,v,out rows of width H*hd. Computes only
// the causal part, in blocks of query rows; the T x T matrix is never stored. lse: [B, H, T] each query's
// log-sum-exp of its scores, kept for the backward pass. scratch: resized to 64*T floats per thread.
void attention_forward(const float* q, const float* k, const float* v, float* lse, float* out,
                       Floats& scratch, int B, int T, int H, int hd);
// dq, dk, dv are overwritten. scratch: resized to 2*64*T floats per thread.
void attention_backward(const float* dout, const float* q, const float* k, const float* v, const float* lse,
                        float* dq, float* dk, float* dv, Floats& scratch, int B, int T, int H, int hd);

// e^x without a libm call, so that loops over it vectorise (glibc's expf is one scalar call per element, and
// SwiGLU and the attention softmax spent most of their time in it): Cephes' expf, x = n ln2 + r with |r| <=
// ln2/2, a degree-6 polynomial for e^r and 2^n from the exponent bits; relative error below 2.5e-7. Below
// -87 the result is 0 and above 88 infinity: no denormals, which would slow every product they reach; NaN
// stays NaN. (kernels.cpp is compiled with -fno-trapping-math, which lets the selects vectorise.)
inline float exp_fast(float x) {
  const float c = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
  constexpr float kRound = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer kept in the low bits
  const float t = c * 1.44269504088896341f + kRound;
  const float n = t - kRound;
  const float r = (c - n * 0.693359375f) - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const uint32_t biased = std::bit_cast<uint32_t>(t) - std::bit_cast<uint32_t>(kRound) + 127;  // n + 127
  const float e = p * std::bit_cast<float>(biased << 23);
  return x < -87.0f ? 0.0f : (x > 88.0f ? std::numeric_limits<float>::infinity() : e);
}

// The largest of a[0..n), n >= 1: sixteen running maxima (one vector register), then combined. A maximum is
// the same whatever order it is taken in (a zero's sign aside, which changes no result here), so this equals
// a sequential loop's, which is one chain of dependent compares and was slower (sigma_kernels_bench's attention
// forward: bench/results/trainer-speed.md). With a NaN in a[] the two may differ, but the softmax is NaN
// either way.
inline float max_lanes(const float* a, int64_t n) {
  using Lanes = float __attribute__((vector_size(64)));  // GCC's vector type: one zmm, or two ymm / four xmm
  float m = a[0];
  int64_t j = 0;
  if (n >= 16) {
    Lanes lane, x;
    std::memcpy(&lane, a, sizeof lane);
    for (j = 16; j + 16 <= n; j += 16) {
      std::memcpy(&x, a + j, sizeof x);
      lane = lane < x ? x : lane;
    }
    for (int l = 0; l < 16; ++l) m = m < lane[l] ? lane[l] : m;
  }
  for (; j < n; ++j) m = m < a[j] ? a[j] : m;
  return m;
}

// Router logits z[N, E] = x[N, D] · router[D, E], each z_te summed over d in order (MODEL.md, "Router"): with
// E ~ 8 columns an sgemm spends most of its time on packing (its rate: bench/results/trainer-speed.md).
void router_logits(const float* x, const float* router, float* z, int N, int D, int E);

// SwiGLU: act = silu(gate) * up.
void swiglu_forward(const float* gate, const float* up, float* act, int64_t n);
// dgate, dup overwritten.
void swiglu_backward(const float* dact, const float* gate, const float* up, float* dgate, float* dup, int64_t n);

// Softmax cross-entropy over rows of width V; returns the sum of per-row losses (double). Writes
// dlogits = (softmax - onehot) * grad_scale (overwrites).
double cross_entropy_forward_backward(const float* logits, const uint32_t* targets, float* dlogits, int N, int V,
                                      float grad_scale);

}  // namespace sigma::trainer
