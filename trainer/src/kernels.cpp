#include "sigma/trainer/kernels.hpp"

#include <algorithm>
#include <cmath>

#include <cblas.h>

namespace sigma::trainer {

void gemm_nn(int M, int N, int K, const float* A, const float* B, float* C, float beta) {
  if (M == 0 || N == 0) return;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, A, K, B, N, beta, C, N);
}

void gemm_nt(int M, int N, int K, const float* A, const float* B, float* C, float beta) {
  if (M == 0 || N == 0) return;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.0f, A, K, B, K, beta, C, N);
}

void gemm_tn(int M, int N, int K, const float* A, const float* B, float* C, float beta) {
  if (M == 0 || N == 0) return;
  if (K == 0) {  // BLAS may skip beta scaling when K == 0; make "C = beta*C" explicit
    for (int64_t i = 0; i < static_cast<int64_t>(M) * N; ++i) C[i] *= beta;
    return;
  }
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, M, N, K, 1.0f, A, M, B, N, beta, C, N);
}

void rmsnorm_forward(const float* x, const float* g, float* y, float* rstd, int N, int D, float eps) {
  for (int n = 0; n < N; ++n) {
    const float* xr = x + static_cast<int64_t>(n) * D;
    float* yr = y + static_cast<int64_t>(n) * D;
    float ss = 0;
    for (int i = 0; i < D; ++i) ss += xr[i] * xr[i];
    float r = 1.0f / std::sqrt(ss / static_cast<float>(D) + eps);
    rstd[n] = r;
    for (int i = 0; i < D; ++i) yr[i] = xr[i] * r * g[i];
  }
}

void rmsnorm_backward(const float* dy, const float* x, const float* g, const float* rstd, float* dx, float* dg,
                      int N, int D) {
  for (int n = 0; n < N; ++n) {
    const float* xr = x + static_cast<int64_t>(n) * D;
    const float* dyr = dy + static_cast<int64_t>(n) * D;
    float* dxr = dx + static_cast<int64_t>(n) * D;
    float r = rstd[n];
    float dot = 0;  // mean over i of (dy*g*x)
    for (int i = 0; i < D; ++i) {
      dot += dyr[i] * g[i] * xr[i];
      dg[i] += dyr[i] * xr[i] * r;
    }
    dot /= static_cast<float>(D);
    for (int i = 0; i < D; ++i) dxr[i] += r * (dyr[i] * g[i] - xr[i] * r * r * dot);
  }
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
  for (int n = 0; n < N; ++n) {
    int pos = n % table.T;
    const float* c = table.cos.data() + static_cast<size_t>(pos) * table.half;
    const float* s = table.sin.data() + static_cast<size_t>(pos) * table.half;
    for (int h = 0; h < H; ++h) {
      float* v = x + static_cast<int64_t>(n) * H * head_dim + h * head_dim;
      for (int i = 0; i < table.half; ++i) {
        float a = v[2 * i], b = v[2 * i + 1];
        v[2 * i] = a * c[i] - sign * b * s[i];
        v[2 * i + 1] = sign * a * s[i] + b * c[i];
      }
    }
  }
}

void attention_forward(const float* q, const float* k, const float* v, float* probs, float* out, int B, int T,
                       int H, int hd) {
  const int D = H * hd;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  for (int b = 0; b < B; ++b)
    for (int h = 0; h < H; ++h) {
      const int64_t base = static_cast<int64_t>(b) * T * D + h * hd;
      float* P = probs + (static_cast<int64_t>(b) * H + h) * T * T;
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
}

void attention_backward(const float* dout, const float* q, const float* k, const float* v, const float* probs,
                        float* dq, float* dk, float* dv, float* scratch, int B, int T, int H, int hd) {
  const int D = H * hd;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  for (int b = 0; b < B; ++b)
    for (int h = 0; h < H; ++h) {
      const int64_t base = static_cast<int64_t>(b) * T * D + h * hd;
      const float* P = probs + (static_cast<int64_t>(b) * H + h) * T * T;
      float* dS = scratch;
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
}

void swiglu_forward(const float* gate, const float* up, float* act, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    float s = 1.0f / (1.0f + std::exp(-gate[i]));
    act[i] = gate[i] * s * up[i];
  }
}

void swiglu_backward(const float* dact, const float* gate, const float* up, float* dgate, float* dup, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    float s = 1.0f / (1.0f + std::exp(-gate[i]));
    float silu = gate[i] * s;
    dup[i] = dact[i] * silu;
    dgate[i] = dact[i] * up[i] * s * (1.0f + gate[i] * (1.0f - s));
  }
}

double cross_entropy_forward_backward(const float* logits, const uint32_t* targets, float* dlogits, int N, int V,
                                      float grad_scale) {
  double total = 0;
  for (int n = 0; n < N; ++n) {
    const float* row = logits + static_cast<int64_t>(n) * V;
    float* drow = dlogits + static_cast<int64_t>(n) * V;
    float mx = *std::max_element(row, row + V);
    double sum = 0;
    for (int j = 0; j < V; ++j) sum += std::exp(static_cast<double>(row[j] - mx));
    double lse = std::log(sum) + mx;
    total += lse - row[targets[n]];
    for (int j = 0; j < V; ++j) drow[j] = static_cast<float>(std::exp(row[j] - lse)) * grad_scale;
    drow[targets[n]] -= grad_scale;
  }
  return total;
}

}  // namespace sigma::trainer
