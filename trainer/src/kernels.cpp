#include "sigma/trainer/kernels.hpp"

#include <algorithm>
#include <cmath>

#include <cblas.h>

#include "sigma/trainer/parallel.hpp"

namespace sigma::trainer {
namespace {

// Per-thread work sizes: big enough to amortise the fork, small enough that a chunk's rows stay in L2.
constexpr int64_t kRowsPerChunk = 16;
constexpr int64_t kElementsPerChunk = 16384;
constexpr int64_t kGemmFlopsPerChunk = int64_t{1} << 22;  // below ~4 MFLOP a split costs more than it saves
constexpr int kGemmBlock = 16;                             // split points on the sgemm kernels' row/column tiles

// C = alpha op(A) op(B) + beta C, the larger of M and N split over the rank's threads (each part a
// single-threaded sgemm on its own rows or columns of C).
void sgemm(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda, const float* B,
           int ldb, float beta, float* C, int ldc) {
  if (M == 0 || N == 0) return;
  const bool split_rows = M >= N;
  const int along = split_rows ? M : N, other = split_rows ? N : M;
  const int64_t blocks = (along + kGemmBlock - 1) / kGemmBlock;
  const int64_t flops_per_block = 2LL * kGemmBlock * other * std::max(K, 1);
  parallel_for(blocks, std::max<int64_t>(1, kGemmFlopsPerChunk / flops_per_block), [&](int64_t b0, int64_t b1, int) {
    const int lo = static_cast<int>(b0 * kGemmBlock), hi = std::min(along, static_cast<int>(b1 * kGemmBlock));
    const int m0 = split_rows ? lo : 0, m = split_rows ? hi - lo : M;
    const int n0 = split_rows ? 0 : lo, n = split_rows ? N : hi - lo;
    const float* a = trans_a ? A + m0 : A + static_cast<int64_t>(m0) * lda;
    const float* b = trans_b ? B + static_cast<int64_t>(n0) * ldb : B + n0;
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, m, n, K,
                alpha, a, lda, b, ldb, beta, C + static_cast<int64_t>(m0) * ldc + n0, ldc);
  });
}

// Enough (sequence, head) pairs per thread to be worth a fork: ~4 T*T*hd matmuls each.
int64_t pairs_per_chunk(int T, int hd) {
  return std::max<int64_t>(1, kGemmFlopsPerChunk / (8LL * T * T * std::max(hd, 1)));
}

}  // namespace

void gemm_nn(int M, int N, int K, const float* A, const float* B, float* C, float beta) {
  sgemm(false, false, M, N, K, 1.0f, A, K, B, N, beta, C, N);
}

void gemm_nt(int M, int N, int K, const float* A, const float* B, float* C, float beta) {
  sgemm(false, true, M, N, K, 1.0f, A, K, B, K, beta, C, N);
}

void gemm_tn(int M, int N, int K, const float* A, const float* B, float* C, float beta) {
  if (M == 0 || N == 0) return;
  if (K == 0) {  // BLAS may skip beta scaling when K == 0; make "C = beta*C" explicit
    for (int64_t i = 0; i < static_cast<int64_t>(M) * N; ++i) C[i] *= beta;
    return;
  }
  sgemm(true, false, M, N, K, 1.0f, A, M, B, N, beta, C, N);
}

void parallel_rows(int64_t rows, const std::function<void(int64_t)>& row) {
  parallel_for(rows, kRowsPerChunk, [&](int64_t begin, int64_t end, int) {
    for (int64_t r = begin; r < end; ++r) row(r);
  });
}

void parallel_elements(int64_t n, const std::function<void(int64_t, int64_t)>& range) {
  parallel_for(n, kElementsPerChunk, [&](int64_t begin, int64_t end, int) { range(begin, end); });
}

void copy_floats(const float* src, float* dst, int64_t n) {
  parallel_elements(n, [&](int64_t b, int64_t e) { std::copy(src + b, src + e, dst + b); });
}

void add_floats(const float* a, const float* b, float* out, int64_t n) {
  parallel_elements(n, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) out[i] = a[i] + b[i];
  });
}

double sum_of_squares(const float* x, size_t n) {
  // Fixed blocks summed in block order: the same result for every thread count.
  constexpr size_t kBlock = 65536;
  const size_t blocks = (n + kBlock - 1) / kBlock;
  std::vector<double> partial(blocks, 0.0);
  parallel_for(static_cast<int64_t>(blocks), 1, [&](int64_t b0, int64_t b1, int) {
    for (int64_t b = b0; b < b1; ++b) {
      double s = 0;
      for (size_t i = static_cast<size_t>(b) * kBlock; i < std::min(n, static_cast<size_t>(b + 1) * kBlock); ++i)
        s += static_cast<double>(x[i]) * x[i];
      partial[static_cast<size_t>(b)] = s;
    }
  });
  double total = 0;
  for (double p : partial) total += p;
  return total;
}

void rmsnorm_forward(const float* x, const float* g, float* y, float* rstd, int N, int D, float eps) {
  parallel_rows(N, [&](int64_t n) {
    const float* xr = x + n * D;
    float* yr = y + n * D;
    float ss = 0;
    for (int i = 0; i < D; ++i) ss += xr[i] * xr[i];
    float r = 1.0f / std::sqrt(ss / static_cast<float>(D) + eps);
    rstd[n] = r;
    for (int i = 0; i < D; ++i) yr[i] = xr[i] * r * g[i];
  });
}

void rmsnorm_backward(const float* dy, const float* x, const float* g, const float* rstd, float* dx, float* dg,
                      int N, int D) {
  parallel_rows(N, [&](int64_t n) {
    const float* xr = x + n * D;
    const float* dyr = dy + n * D;
    float* dxr = dx + n * D;
    float r = rstd[n];
    float dot = 0;  // mean over i of (dy*g*x)
    for (int i = 0; i < D; ++i) dot += dyr[i] * g[i] * xr[i];
    dot /= static_cast<float>(D);
    for (int i = 0; i < D; ++i) dxr[i] += r * (dyr[i] * g[i] - xr[i] * r * r * dot);
  });
  // dg: columns split over threads, rows summed in order, so each dg[i] is the same for any thread count.
  parallel_for(D, 32, [&](int64_t i0, int64_t i1, int) {
    for (int n = 0; n < N; ++n) {
      const float* xr = x + static_cast<int64_t>(n) * D;
      const float* dyr = dy + static_cast<int64_t>(n) * D;
      const float r = rstd[n];
      for (int64_t i = i0; i < i1; ++i) dg[i] += dyr[i] * xr[i] * r;
    }
  });
}

RopeTable make_rope_table(int T, int head_dim, float theta) {
  RopeTable t;
  t.T = T;
  t.half = head_dim / 2;
  t.cos.resize(static_cast<size_t>(T) * t.half);
  t.sin.resize(t.cos.size());
  for (int p = 0; p < T; ++p)
    for (int i = 0; i < t.half; ++i) {
      double freq = std::pow(static_cast<double>(theta), -2.0 * i / head_dim);
      double angle = p * freq;
      t.cos[static_cast<size_t>(p) * t.half + i] = static_cast<float>(std::cos(angle));
      t.sin[static_cast<size_t>(p) * t.half + i] = static_cast<float>(std::sin(angle));
    }
  return t;
}

void rope_apply(float* x, int N, int H, int head_dim, const RopeTable& table, bool inverse) {
  const float sign = inverse ? -1.0f : 1.0f;
  parallel_rows(N, [&, sign](int64_t n) {
    int pos = static_cast<int>(n % table.T);
    const float* c = table.cos.data() + static_cast<size_t>(pos) * table.half;
    const float* s = table.sin.data() + static_cast<size_t>(pos) * table.half;
    for (int h = 0; h < H; ++h) {
      float* v = x + n * H * head_dim + h * head_dim;
      for (int i = 0; i < table.half; ++i) {
        float a = v[2 * i], b = v[2 * i + 1];
        v[2 * i] = a * c[i] - sign * b * s[i];
        v[2 * i + 1] = sign * a * s[i] + b * c[i];
      }
    }
  });
}

// Attention runs one (sequence, head) pair per task: its T x T scores stay in the thread's cache between the
// two matmuls and the softmax, and each sgemm is single-threaded on its own pair.
void attention_forward(const float* q, const float* k, const float* v, float* probs, float* out, int B, int T,
                       int H, int hd) {
  const int D = H * hd;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  parallel_for(static_cast<int64_t>(B) * H, pairs_per_chunk(T, hd), [&](int64_t p0, int64_t p1, int) {
    for (int64_t pair = p0; pair < p1; ++pair) {
      const int64_t b = pair / H, h = pair % H;
      const int64_t base = b * T * D + h * hd;
      float* P = probs + pair * T * T;
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, hd, scale, q + base, D, k + base, D, 0.0f, P, T);
      for (int i = 0; i < T; ++i) {
        float* row = P + static_cast<int64_t>(i) * T;
        float mx = row[0];
        for (int j = 1; j <= i; ++j) mx = std::max(mx, row[j]);
        float sum = 0;
        for (int j = 0; j <= i; ++j) sum += (row[j] = std::exp(row[j] - mx));
        float inv = 1.0f / sum;
        for (int j = 0; j <= i; ++j) row[j] *= inv;
        for (int j = i + 1; j < T; ++j) row[j] = 0.0f;  // causal mask
      }
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, hd, T, 1.0f, P, T, v + base, D, 0.0f, out + base, D);
    }
  });
}

void attention_backward(const float* dout, const float* q, const float* k, const float* v, const float* probs,
                        float* dq, float* dk, float* dv, std::vector<float>& scratch, int B, int T, int H, int hd) {
  const int D = H * hd;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  scratch.resize(static_cast<size_t>(compute_threads()) * T * T);
  parallel_for(static_cast<int64_t>(B) * H, pairs_per_chunk(T, hd), [&](int64_t p0, int64_t p1, int chunk) {
    float* dS = scratch.data() + static_cast<int64_t>(chunk) * T * T;
    for (int64_t pair = p0; pair < p1; ++pair) {
      const int64_t b = pair / H, h = pair % H;
      const int64_t base = b * T * D + h * hd;
      const float* P = probs + pair * T * T;
      // dP = dO V^T ; dV = P^T dO
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, hd, 1.0f, dout + base, D, v + base, D, 0.0f, dS, T);
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, hd, T, 1.0f, P, T, dout + base, D, 0.0f, dv + base, D);
      // softmax backward: dS = P * (dP - sum_j P dP)
      for (int i = 0; i < T; ++i) {
        float* row = dS + static_cast<int64_t>(i) * T;
        const float* prow = P + static_cast<int64_t>(i) * T;
        float dot = 0;
        for (int j = 0; j <= i; ++j) dot += prow[j] * row[j];
        for (int j = 0; j <= i; ++j) row[j] = prow[j] * (row[j] - dot);
        for (int j = i + 1; j < T; ++j) row[j] = 0.0f;
      }
      // dQ = scale * dS K ; dK = scale * dS^T Q
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, hd, T, scale, dS, T, k + base, D, 0.0f, dq + base, D);
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, hd, T, scale, dS, T, q + base, D, 0.0f, dk + base, D);
    }
  });
}

void swiglu_forward(const float* gate, const float* up, float* act, int64_t n) {
  parallel_elements(n, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      float s = 1.0f / (1.0f + std::exp(-gate[i]));
      act[i] = gate[i] * s * up[i];
    }
  });
}

void swiglu_backward(const float* dact, const float* gate, const float* up, float* dgate, float* dup, int64_t n) {
  parallel_elements(n, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      float s = 1.0f / (1.0f + std::exp(-gate[i]));
      float silu = gate[i] * s;
      dup[i] = dact[i] * silu;
      dgate[i] = dact[i] * up[i] * s * (1.0f + gate[i] * (1.0f - s));
    }
  });
}

double cross_entropy_forward_backward(const float* logits, const uint32_t* targets, float* dlogits, int N, int V,
                                      float grad_scale) {
  std::vector<double> row_loss(static_cast<size_t>(N));
  parallel_rows(N, [&, grad_scale](int64_t n) {
    const float* row = logits + n * V;
    float* drow = dlogits + n * V;
    float mx = *std::max_element(row, row + V);
    double sum = 0;
    for (int j = 0; j < V; ++j) sum += std::exp(static_cast<double>(row[j] - mx));
    double lse = std::log(sum) + mx;
    row_loss[static_cast<size_t>(n)] = lse - row[targets[n]];
    for (int j = 0; j < V; ++j) drow[j] = static_cast<float>(std::exp(row[j] - lse)) * grad_scale;
    drow[targets[n]] -= grad_scale;
  });
  double total = 0;  // summed in row order: the same for every thread count
  for (double l : row_loss) total += l;
  return total;
}

}  // namespace sigma::trainer
