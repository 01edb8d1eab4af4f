#include "sigma/trainer/kernels.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "sigma/trainer/parallel.hpp"
#include "sigma/trainer/sgemm.hpp"
#include "lanes.hpp"

namespace sigma::trainer {
namespace {

// Per-thread work sizes: big enough to amortise the fork, small enough that a chunk's rows stay in L2.
constexpr int64_t kRowsPerChunk = 16;
constexpr int64_t kElementsPerChunk = 16384;
constexpr int64_t kGemmFlopsPerChunk = int64_t{1} << 22;  // below ~4 MFLOP a split costs more than it saves
constexpr int kGemmBlock = 16;                             // split points on the sgemm kernels' row/column tiles

// Enough (sequence, head) pairs per thread to be worth a fork: ~4 T*T*hd matmuls each.
int64_t pairs_per_chunk(int T, int hd) {
  return std::max<int64_t>(1, kGemmFlopsPerChunk / (8LL * T * T * std::max(hd, 1)));
}

// One block of rows [lo, hi) (split_rows) or columns of a product, as one single-threaded sgemm.
void run_block(const Gemm& g, bool split_rows, int lo, int hi) {
  const int m0 = split_rows ? lo : 0, m = split_rows ? hi - lo : g.M;
  const int n0 = split_rows ? 0 : lo, n = split_rows ? g.N : hi - lo;
  float* c = g.C + static_cast<int64_t>(m0) * g.ldc + n0;
  if (g.K == 0) {  // BLAS may skip the beta scaling when K == 0: make "C = beta C" explicit (beta 0: C unread)
    if (g.beta == 1.0f) return;
    for (int i = 0; i < m; ++i)
      for (int j = 0; j < n; ++j) {
        float& x = c[static_cast<int64_t>(i) * g.ldc + j];
        x = g.beta == 0.0f ? 0.0f : x * g.beta;
      }
    return;
  }
  const float* a = g.trans_a ? g.A + m0 : g.A + static_cast<int64_t>(m0) * g.lda;
  const float* b = g.trans_b ? g.B + static_cast<int64_t>(n0) * g.ldb : g.B + n0;
  sgemm(g.trans_a, g.trans_b, m, n, g.K, g.alpha, a, g.lda, b, g.ldb, g.beta, c, g.ldc);
}

}  // namespace

void gemm_batch(const std::vector<Gemm>& products) {
  // Every product is cut into blocks of kGemmBlock rows or columns (along its larger output dimension); a
  // block belongs to the chunk its middle flop falls in, and each chunk runs its consecutive blocks of one
  // product as one sgemm. Chunks depend only on the sizes and the thread count.
  struct Block {
    int product, lo, hi;
    double middle;  // flops before this block's middle, over the whole batch
  };
  std::vector<Block> blocks;
  double total = 0;
  for (size_t p = 0; p < products.size(); ++p) {
    const Gemm& g = products[p];
    if (g.M == 0 || g.N == 0) continue;
    const int along = g.M >= g.N ? g.M : g.N, other = g.M >= g.N ? g.N : g.M;
    for (int lo = 0; lo < along; lo += kGemmBlock) {
      const int hi = std::min(along, lo + kGemmBlock);
      const double flops = 2.0 * (hi - lo) * other * std::max(g.K, 1);
      blocks.push_back({static_cast<int>(p), lo, hi, total + flops / 2});
      total += flops;
    }
  }
  const int64_t chunks = std::clamp<int64_t>(static_cast<int64_t>(total / kGemmFlopsPerChunk), 1, compute_threads());
  auto owner = [&](const Block& b) { return std::min<int64_t>(chunks - 1, static_cast<int64_t>(b.middle * chunks / total)); };
  parallel_for(chunks, 1, [&](int64_t c0, int64_t c1, int) {
    for (int64_t c = c0; c < c1; ++c)
      for (size_t i = 0; i < blocks.size();) {
        size_t j = i + 1;
        while (j < blocks.size() && blocks[j].product == blocks[i].product && owner(blocks[j]) == owner(blocks[i])) ++j;
        if (owner(blocks[i]) == c) {
          const Gemm& g = products[static_cast<size_t>(blocks[i].product)];
          run_block(g, g.M >= g.N, blocks[i].lo, blocks[j - 1].hi);
        }
        i = j;
      }
  });
}

Gemm gemm_nn_of(int M, int N, int K, const float* A, const float* B, float* C, float beta) {
  return {false, false, M, N, K, 1.0f, A, K, B, N, beta, C, N};
}

Gemm gemm_nt_of(int M, int N, int K, const float* A, const float* B, float* C, float beta) {
  return {false, true, M, N, K, 1.0f, A, K, B, K, beta, C, N};
}

Gemm gemm_tn_of(int M, int N, int K, const float* A, const float* B, float* C, float beta) {
  return {true, false, M, N, K, 1.0f, A, M, B, N, beta, C, N};
}

void gemm_nn(int M, int N, int K, const float* A, const float* B, float* C, float beta) {
  gemm_batch({gemm_nn_of(M, N, K, A, B, C, beta)});
}

void gemm_nt(int M, int N, int K, const float* A, const float* B, float* C, float beta) {
  gemm_batch({gemm_nt_of(M, N, K, A, B, C, beta)});
}

void gemm_tn(int M, int N, int K, const float* A, const float* B, float* C, float beta) {
  gemm_batch({gemm_tn_of(M, N, K, A, B, C, beta)});
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

void router_logits(const float* x, const float* router, float* z, int N, int D, int E) {
  // Four tokens at a time, eight experts per vector (one register each): 32 independent sums in registers,
  // where a loop over a runtime E kept them in memory. Each z_te is still summed over d in order.
  constexpr int kTokens = 4;
  parallel_for(N, 64, [&](int64_t t0, int64_t t1, int) {
    for (int64_t t = t0; t < t1; t += kTokens) {
      const int n = static_cast<int>(std::min<int64_t>(kTokens, t1 - t));
      int vector_end = 0;  // experts [0, vector_end) done in vectors, the rest one sum at a time
      if (n == kTokens)
        for (; vector_end + 8 <= E; vector_end += 8) {
          Lanes8<float> acc[kTokens] = {};
          for (int d = 0; d < D; ++d) {
            const Lanes8<float> r = load8(router + static_cast<int64_t>(d) * E + vector_end);
            for (int u = 0; u < kTokens; ++u) acc[u] += x[(t + u) * D + d] * r;
          }
          for (int u = 0; u < kTokens; ++u) std::memcpy(z + (t + u) * E + vector_end, &acc[u], sizeof acc[u]);
        }
      for (int u = 0; u < n; ++u)
        for (int e = vector_end; e < E; ++e) {
          float sum = 0.0f;
          for (int d = 0; d < D; ++d) sum += x[(t + u) * D + d] * router[static_cast<int64_t>(d) * E + e];
          z[(t + u) * E + e] = sum;
        }
    }
  });
}

void zero_floats(float* dst, int64_t n) {
  parallel_elements(n, [&](int64_t b, int64_t e) { std::fill(dst + b, dst + e, 0.0f); });
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
      const size_t lo = static_cast<size_t>(b) * kBlock, hi = std::min(n, lo + kBlock);
      const float* block = x + lo;  // 8 double lanes: independent sums, not one chain over every parameter
      partial[static_cast<size_t>(b)] = sum8<double>(
          static_cast<int64_t>(hi - lo),
          [block](int64_t j) {
            const Lanes8<double> v = __builtin_convertvector(load8(block + j), Lanes8<double>);
            return v * v;
          },
          [block](int64_t j) { return static_cast<double>(block[j]) * block[j]; });
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
    const float ss = dot_lanes(xr, xr, D);
    const float r = 1.0f / std::sqrt(ss / static_cast<float>(D) + eps);
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
    const float dot = dot3_lanes(dyr, g, xr, D) / static_cast<float>(D);  // the mean over i of (dy*g*x)
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

// Attention runs one (sequence, head) pair per task, its queries in blocks of kQueryBlock rows: a block's
// scores against the keys up to its last query (the causal part; blocks above the diagonal are never computed)
// stay in the thread's cache between the two matmuls and the softmax. Only each row's log-sum-exp is kept;
// the backward pass recomputes the scores from it. Every pair is computed the same way by whichever thread runs
// it, and its dK and dV are summed over the query blocks in block order.
namespace {

constexpr int kQueryBlock = 64;

// The base offset of pair (b, h) in rows of width D = H * hd.
int64_t pair_base(int64_t pair, int T, int H, int hd) { return (pair / H) * T * H * hd + (pair % H) * hd; }

}  // namespace

void attention_forward(const float* q, const float* k, const float* v, float* lse, float* out,
                       Floats& scratch, int B, int T, int H, int hd) {
  const int D = H * hd;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  scratch.resize(static_cast<size_t>(compute_threads()) * kQueryBlock * T);
  parallel_for(static_cast<int64_t>(B) * H, pairs_per_chunk(T, hd), [&](int64_t p0, int64_t p1, int chunk) {
    float* S = scratch.data() + static_cast<int64_t>(chunk) * kQueryBlock * T;
    for (int64_t pair = p0; pair < p1; ++pair) {
      const int64_t base = pair_base(pair, T, H, hd);
      for (int q0 = 0; q0 < T; q0 += kQueryBlock) {
        const int rows = std::min(kQueryBlock, T - q0), keys = q0 + rows;
        const int64_t qrow = base + static_cast<int64_t>(q0) * D;
        sgemm(false, true, rows, keys, hd, 1.0f, q + qrow, D, k + base, D, 0.0f, S, keys);
        for (int i = 0; i < rows; ++i) {
          float* row = S + static_cast<int64_t>(i) * keys;
          const int last = q0 + i;  // causal: keys 0..last
          for (int j = 0; j <= last; ++j) row[j] *= scale;
          const float mx = max_lanes(row, last + 1);
          for (int j = 0; j <= last; ++j) row[j] = exp_fast(row[j] - mx);
          const float sum = sum_lanes(row, last + 1);
          const float inv = 1.0f / sum;
          for (int j = 0; j <= last; ++j) row[j] *= inv;
          for (int j = last + 1; j < keys; ++j) row[j] = 0.0f;
          lse[pair * T + last] = mx + std::log(sum);
        }
        sgemm(false, false, rows, hd, keys, 1.0f, S, keys, v + base, D, 0.0f, out + qrow, D);
      }
    }
  });
}

void attention_backward(const float* dout, const float* q, const float* k, const float* v, const float* lse,
                        float* dq, float* dk, float* dv, Floats& scratch, int B, int T, int H, int hd) {
  const int D = H * hd;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  scratch.resize(static_cast<size_t>(compute_threads()) * 2 * kQueryBlock * T);
  parallel_for(static_cast<int64_t>(B) * H, pairs_per_chunk(T, hd), [&](int64_t p0, int64_t p1, int chunk) {
    float* P = scratch.data() + static_cast<int64_t>(chunk) * 2 * kQueryBlock * T;
    float* dS = P + static_cast<int64_t>(kQueryBlock) * T;
    for (int64_t pair = p0; pair < p1; ++pair) {
      const int64_t base = pair_base(pair, T, H, hd);
      for (int t = 0; t < T; ++t) {  // dK and dV accumulate over the query blocks
        std::fill_n(dk + base + static_cast<int64_t>(t) * D, hd, 0.0f);
        std::fill_n(dv + base + static_cast<int64_t>(t) * D, hd, 0.0f);
      }
      for (int q0 = 0; q0 < T; q0 += kQueryBlock) {
        const int rows = std::min(kQueryBlock, T - q0), keys = q0 + rows;
        const int64_t qrow = base + static_cast<int64_t>(q0) * D;
        // P = exp(scale Q K^T - lse), recomputed; dP = dO V^T
        sgemm(false, true, rows, keys, hd, 1.0f, q + qrow, D, k + base, D, 0.0f, P, keys);
        sgemm(false, true, rows, keys, hd, 1.0f, dout + qrow, D, v + base, D, 0.0f, dS, keys);
        // softmax backward: dS = P * (dP - sum_j P dP), times the scale the scores were multiplied by
        for (int i = 0; i < rows; ++i) {
          float* prow = P + static_cast<int64_t>(i) * keys;
          float* row = dS + static_cast<int64_t>(i) * keys;
          const int last = q0 + i;
          const float l = lse[pair * T + last];
          for (int j = 0; j <= last; ++j) prow[j] = exp_fast(prow[j] * scale - l);
          const float dot = dot_lanes(prow, row, last + 1);
          for (int j = 0; j <= last; ++j) row[j] = prow[j] * (row[j] - dot) * scale;
          for (int j = last + 1; j < keys; ++j) prow[j] = row[j] = 0.0f;
        }
        // dV += P^T dO ; dQ = dS K ; dK += dS^T Q
        sgemm(true, false, keys, hd, rows, 1.0f, P, keys, dout + qrow, D, 1.0f, dv + base, D);
        sgemm(false, false, rows, hd, keys, 1.0f, dS, keys, k + base, D, 0.0f, dq + qrow, D);
        sgemm(true, false, keys, hd, rows, 1.0f, dS, keys, q + qrow, D, 1.0f, dk + base, D);
      }
    }
  });
}

void swiglu_forward(const float* gate, const float* up, float* act, int64_t n) {
  parallel_elements(n, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      const float s = 1.0f / (1.0f + exp_fast(-gate[i]));
      act[i] = gate[i] * s * up[i];
    }
  });
}

void swiglu_backward(const float* dact, const float* gate, const float* up, float* dgate, float* dup, int64_t n) {
  parallel_elements(n, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      const float s = 1.0f / (1.0f + exp_fast(-gate[i]));
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
    const float mx = max_lanes(row, V);
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
