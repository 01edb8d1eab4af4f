// ABFT math: clean products pass, a wrong element is located by its row and column, the rounding bound scales
// with k and magnitudes, and the exact-operand verification catches every value-changing bit flip.
#include <cblas.h>
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "sigma/healthcheck/abft.hpp"
#include "sigma/healthcheck/fault_injector.hpp"
#include "sigma/healthcheck/gemm_verify.hpp"

namespace sigma::hc {
namespace {

struct Product {
  std::size_t n;
  std::vector<float> a, b, c;
  GemmView<float> view() const { return {a, b, c, n, n, n}; }
};

Product real_product(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> value(-1, 1);
  Product p{n, std::vector<float>(n * n), std::vector<float>(n * n), std::vector<float>(n * n)};
  for (auto& x : p.a) x = value(rng);
  for (auto& x : p.b) x = value(rng);
  const int d = static_cast<int>(n);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, d, d, d, 1, p.a.data(), d, p.b.data(), d, 0, p.c.data(), d);
  return p;
}

Product integer_product(std::size_t n, long range, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  Product p{n, random_integer_matrix<float>(n, n, range, rng), random_integer_matrix<float>(n, n, range, rng),
            std::vector<float>(n * n)};
  const int d = static_cast<int>(n);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, d, d, d, 1, p.a.data(), d, p.b.data(), d, 0, p.c.data(), d);
  return p;
}

constexpr AbftTolerance kFloatRounding{0, 0x1p-24};

TEST(Abft, CleanRealValuedProductPassesWithTheRoundingBound) {
  for (std::size_t n : {16, 100, 256}) {
    const Product p = real_product(n, n);
    EXPECT_TRUE(abft_verify(p.view(), kFloatRounding).clean()) << "n=" << n;
  }
}

TEST(Abft, WrongElementIsLocatedByItsRowAndColumn) {
  Product p = real_product(64, 1);
  p.c[5 * 64 + 9] += 1.0f;
  const AbftReport r = abft_verify(p.view(), kFloatRounding);
  ASSERT_EQ(r.bad_rows, std::vector<std::size_t>{5});
  ASSERT_EQ(r.bad_columns, std::vector<std::size_t>{9});
  EXPECT_EQ(r.checksums, 128u);
}

TEST(Abft, ErrorBelowTheRoundingBoundIsNotFlaggedAndOneAboveIs) {
  Product p = real_product(64, 2);
  const float original = p.c[0];
  p.c[0] = original + 1e-7f;  // under 2*k*u*|A||B| for k=64, |a|,|b|<1
  EXPECT_TRUE(abft_verify(p.view(), kFloatRounding).clean());
  p.c[0] = original + 0.5f;
  EXPECT_FALSE(abft_verify(p.view(), kFloatRounding).clean());
}

TEST(Abft, BoundGrowsWithK) {
  // The same absolute error is a fault for a short product and rounding noise for a long one.
  AbftTolerance loose{0, 1e-5};
  Product small = real_product(8, 3), large = real_product(512, 3);
  small.c[0] += 0.05f;
  large.c[0] += 0.05f;
  EXPECT_FALSE(abft_verify(small.view(), loose).clean());
  EXPECT_TRUE(abft_verify(large.view(), loose).clean());
}

TEST(Abft, NanIsAlwaysFlagged) {
  Product p = real_product(32, 4);
  p.c[33] = std::nanf("");
  EXPECT_FALSE(abft_verify(p.view(), {1e9, 1}).clean());
}

TEST(Abft, ReferenceBlocksFindAnErrorInsideASampledBlock) {
  Product p = real_product(32, 5);
  p.c[7 * 32 + 3] *= 2;
  const BlockReport r = reference_blocks(p.view(), kFloatRounding, 1, 32, 7);
  EXPECT_EQ(r.elements_checked, 32u * 32u);
  EXPECT_EQ(r.bad_elements, std::vector<std::size_t>{7 * 32 + 3});
}

TEST(ExactOperands, RangeKeepsDotProductsExact) {
  EXPECT_EQ(exact_operand_range(512, 24, 1L << 20), 128);
  EXPECT_EQ(exact_operand_range(256, 24, 1L << 20), 181);
  EXPECT_EQ(exact_operand_range(512, 24, 100), 100);
  EXPECT_EQ(exact_operand_range(1 << 30, 24, 255), 1);
}

TEST(ExactOperands, NonIntegerElementsCatchesFractionsNanInfAndRange) {
  const std::vector<float> c = {1, -2, 0.5f, std::nanf(""), INFINITY, 1e6f, 3};
  EXPECT_EQ(non_integer_elements<float>(c, 1000), (std::vector<std::size_t>{2, 3, 4, 5}));
}

TEST(ExactOperands, CleanIntegerProductHasNoBadElements) {
  for (std::size_t n : {64, 200}) {
    const Product p = integer_product(n, exact_operand_range(n, 24, 1L << 20), n);
    const ProductVerdict v = verify_product(p.view(), exact_operand_range(n, 24, 1L << 20), 1);
    EXPECT_EQ(v.bad_elements, 0u) << "n=" << n;
    EXPECT_EQ(v.elements, n * n);
  }
}

TEST(ExactOperands, EveryBitFlipOfANonZeroElementIsDetected) {
  const std::size_t n = 96;
  const long range = exact_operand_range(n, 24, 1L << 20);
  Product p = integer_product(n, range, 11);
  for (std::size_t index : {0ul, 17ul, n * n - 1}) {
    ASSERT_NE(p.c[index], 0.0f);
    for (unsigned bit = 0; bit < 32; ++bit) {
      flip_bit(std::span<float>(p.c), index, bit);
      EXPECT_GE(verify_product(p.view(), range, bit).bad_elements, 1u) << "element " << index << " bit " << bit;
      flip_bit(std::span<float>(p.c), index, bit);
    }
  }
}

TEST(ExactOperands, EveryBitFlipInDoubleIsDetected) {
  const std::size_t n = 64;
  const long range = exact_operand_range(n, 41, 1L << 20);
  std::mt19937_64 rng(3);
  auto a = random_integer_matrix<double>(n, n, range, rng), b = random_integer_matrix<double>(n, n, range, rng);
  std::vector<double> c(n * n);
  const int d = static_cast<int>(n);
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, d, d, d, 1, a.data(), d, b.data(), d, 0, c.data(), d);
  GemmView<double> view{a, b, c, n, n, n};
  ASSERT_EQ(verify_product(view, range, 0).bad_elements, 0u);
  ASSERT_NE(c[5], 0.0);
  for (unsigned bit = 0; bit < 64; ++bit) {
    flip_bit(std::span<double>(c), 5, bit);
    EXPECT_GE(verify_product(view, range, bit).bad_elements, 1u) << "bit " << bit;
    flip_bit(std::span<double>(c), 5, bit);
  }
}

}  // namespace
}  // namespace sigma::hc
