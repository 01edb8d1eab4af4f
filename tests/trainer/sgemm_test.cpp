// sigma's sgemm (sgemm.hpp): where its own kernel runs, every element of C is one fused multiply-add chain over
// k in order, bit for bit, whatever the shape, the blocking inside, the transposes and the strides; a beta = 0
// product never reads C; alpha != 1 goes to OpenBLAS unchanged.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "sigma/trainer/sgemm.hpp"

namespace sigma::trainer {
namespace {

struct Case {
  bool trans_a, trans_b;
  int M, N, K;
  int pad;  // extra floats at the end of every stored row: strided operands
};

struct Operands {
  int lda, ldb, ldc;
  std::vector<float> A, B, C;
};

Operands operands_for(const Case& c, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> value(-1.0f, 1.0f);
  Operands o;
  o.lda = (c.trans_a ? c.M : c.K) + c.pad;
  o.ldb = (c.trans_b ? c.K : c.N) + c.pad;
  o.ldc = c.N + c.pad;
  o.A.resize(static_cast<size_t>(c.trans_a ? c.K : c.M) * o.lda);
  o.B.resize(static_cast<size_t>(c.trans_b ? c.N : c.K) * o.ldb);
  o.C.resize(static_cast<size_t>(c.M) * o.ldc);
  for (auto* v : {&o.A, &o.B, &o.C})
    for (float& x : *v) x = value(rng);
  return o;
}

// The definition, element by element.
std::vector<float> fma_chains(const Case& c, const Operands& o, float beta) {
  std::vector<float> out = o.C;
  for (int i = 0; i < c.M; ++i)
    for (int j = 0; j < c.N; ++j) {
      float sum = beta == 0.0f ? 0.0f : o.C[static_cast<size_t>(i) * o.ldc + j];
      for (int k = 0; k < c.K; ++k) {
        const float a = c.trans_a ? o.A[static_cast<size_t>(k) * o.lda + i] : o.A[static_cast<size_t>(i) * o.lda + k];
        const float b = c.trans_b ? o.B[static_cast<size_t>(j) * o.ldb + k] : o.B[static_cast<size_t>(k) * o.ldb + j];
        sum = std::fma(a, b, sum);
      }
      out[static_cast<size_t>(i) * o.ldc + j] = sum;
    }
  return out;
}

size_t bitwise_differences(const std::vector<float>& x, const std::vector<float>& y) {
  size_t n = 0;
  for (size_t i = 0; i < x.size(); ++i) n += std::bit_cast<uint32_t>(x[i]) != std::bit_cast<uint32_t>(y[i]);
  return n;
}

TEST(Sgemm, EveryElementIsOneFmaChainOverKInOrder) {
  if (!own_sgemm_available()) GTEST_SKIP() << "this CPU has no AVX-512F: sgemm() is OpenBLAS's";
  // Edges of every block: one element; a 12-row tile and 32-column panel cut short; more than a 240-row,
  // 512-column and 512-k block; strided rows.
  const std::vector<Case> shapes = {{false, false, 1, 1, 1, 0},    {false, false, 13, 33, 7, 0},
                                    {false, false, 250, 70, 600, 3}, {false, true, 37, 530, 20, 0},
                                    {false, true, 250, 47, 515, 5},  {true, false, 251, 40, 520, 0},
                                    {true, false, 25, 520, 9, 2},    {true, true, 30, 45, 64, 1}};
  uint32_t seed = 1;
  for (const Case& c : shapes)
    for (float beta : {0.0f, 1.0f}) {
      Operands o = operands_for(c, seed++);
      const std::vector<float> expected = fma_chains(c, o, beta);
      sgemm(c.trans_a, c.trans_b, c.M, c.N, c.K, 1.0f, o.A.data(), o.lda, o.B.data(), o.ldb, beta, o.C.data(), o.ldc);
      EXPECT_EQ(bitwise_differences(o.C, expected), 0u)
          << (c.trans_a ? "t" : "n") << (c.trans_b ? "t" : "n") << " " << c.M << "x" << c.N << "x" << c.K
          << " pad " << c.pad << " beta " << beta;
    }
}

TEST(Sgemm, OverwritingNeverReadsC) {
  if (!own_sgemm_available()) GTEST_SKIP() << "this CPU has no AVX-512F: sgemm() is OpenBLAS's";
  const Case c{false, false, 20, 40, 16, 0};
  Operands o = operands_for(c, 7);
  const std::vector<float> expected = fma_chains(c, o, 0.0f);
  std::fill(o.C.begin(), o.C.end(), std::numeric_limits<float>::quiet_NaN());
  sgemm(false, false, c.M, c.N, c.K, 1.0f, o.A.data(), o.lda, o.B.data(), o.ldb, 0.0f, o.C.data(), o.ldc);
  EXPECT_EQ(bitwise_differences(o.C, expected), 0u) << "beta 0: a NaN left in C must not reach the result";
}

TEST(Sgemm, OtherAlphasAreOpenBlasCalls) {
  const Case c{false, true, 30, 20, 40, 0};
  Operands o = operands_for(c, 11);
  std::vector<float> blas = o.C;
  sgemm(false, true, c.M, c.N, c.K, 0.125f, o.A.data(), o.lda, o.B.data(), o.ldb, 1.0f, o.C.data(), o.ldc);
  openblas_sgemm(false, true, c.M, c.N, c.K, 0.125f, o.A.data(), o.lda, o.B.data(), o.ldb, 1.0f, blas.data(), o.ldc);
  EXPECT_EQ(bitwise_differences(o.C, blas), 0u);
}

}  // namespace
}  // namespace sigma::trainer
