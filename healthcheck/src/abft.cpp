// Checksum verification of a product. Sums are kept in long double so that, for exact operands, the two sides
// of every comparison are computed exactly and a difference can only come from a wrong element.
#include "sigma/healthcheck/abft.hpp"

#include <cmath>
#include <random>

namespace sigma::hc {
namespace {

using Wide = long double;

template <typename T>
Wide at(std::span<const T> m, std::size_t cols, std::size_t i, std::size_t j) {
  return static_cast<Wide>(m[i * cols + j]);
}

bool exceeds(Wide actual, Wide expected, Wide bound) {
  return !(std::fabs(actual - expected) <= bound);  // NaN compares false, so it counts as exceeding
}

template <typename T>
void column_checks(const GemmView<T>& g, const AbftTolerance& tol, AbftReport& report) {
  std::vector<Wide> a_col_sum(g.k, 0), a_abs_col_sum(g.k, 0), c_col_sum(g.n, 0);
  for (std::size_t i = 0; i < g.m; ++i) {
    for (std::size_t l = 0; l < g.k; ++l) {
      a_col_sum[l] += at(g.a, g.k, i, l);
      a_abs_col_sum[l] += std::fabs(at(g.a, g.k, i, l));
    }
    for (std::size_t j = 0; j < g.n; ++j) c_col_sum[j] += at(g.c, g.n, i, j);
  }
  std::vector<Wide> expected(g.n, 0), magnitude(g.n, 0);
  for (std::size_t l = 0; l < g.k; ++l) {
    for (std::size_t j = 0; j < g.n; ++j) {
      expected[j] += a_col_sum[l] * at(g.b, g.n, l, j);
      magnitude[j] += a_abs_col_sum[l] * std::fabs(at(g.b, g.n, l, j));
    }
  }
  const Wide scale = 2 * static_cast<Wide>(g.k) * tol.unit_roundoff;
  for (std::size_t j = 0; j < g.n; ++j) {
    if (exceeds(c_col_sum[j], expected[j], tol.absolute + scale * magnitude[j])) report.bad_columns.push_back(j);
  }
}

template <typename T>
void row_checks(const GemmView<T>& g, const AbftTolerance& tol, AbftReport& report) {
  std::vector<Wide> b_row_sum(g.k, 0), b_abs_row_sum(g.k, 0);
  for (std::size_t l = 0; l < g.k; ++l) {
    for (std::size_t j = 0; j < g.n; ++j) {
      b_row_sum[l] += at(g.b, g.n, l, j);
      b_abs_row_sum[l] += std::fabs(at(g.b, g.n, l, j));
    }
  }
  const Wide scale = 2 * static_cast<Wide>(g.k) * tol.unit_roundoff;
  for (std::size_t i = 0; i < g.m; ++i) {
    Wide expected = 0, magnitude = 0, actual = 0;
    for (std::size_t l = 0; l < g.k; ++l) {
      expected += at(g.a, g.k, i, l) * b_row_sum[l];
      magnitude += std::fabs(at(g.a, g.k, i, l)) * b_abs_row_sum[l];
    }
    for (std::size_t j = 0; j < g.n; ++j) actual += at(g.c, g.n, i, j);
    if (exceeds(actual, expected, tol.absolute + scale * magnitude)) report.bad_rows.push_back(i);
  }
}

}  // namespace

template <typename T>
AbftReport abft_verify(const GemmView<T>& g, const AbftTolerance& tol) {
  AbftReport report;
  report.checksums = g.m + g.n;
  column_checks(g, tol, report);
  row_checks(g, tol, report);
  return report;
}

template <typename T>
BlockReport reference_blocks(const GemmView<T>& g, const AbftTolerance& tol, std::size_t blocks, std::size_t block,
                             std::uint64_t seed) {
  BlockReport report;
  if (g.m == 0 || g.n == 0) return report;
  const std::size_t rows = std::min(block, g.m), cols = std::min(block, g.n);
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<std::size_t> pick_row(0, g.m - rows), pick_col(0, g.n - cols);
  const Wide scale = 2 * static_cast<Wide>(g.k) * tol.unit_roundoff;
  for (std::size_t b = 0; b < blocks; ++b) {
    const std::size_t i0 = pick_row(rng), j0 = pick_col(rng);
    for (std::size_t i = i0; i < i0 + rows; ++i) {
      for (std::size_t j = j0; j < j0 + cols; ++j) {
        Wide expected = 0, magnitude = 0;
        for (std::size_t l = 0; l < g.k; ++l) {
          expected += at(g.a, g.k, i, l) * at(g.b, g.n, l, j);
          magnitude += std::fabs(at(g.a, g.k, i, l) * at(g.b, g.n, l, j));
        }
        ++report.elements_checked;
        if (exceeds(at(g.c, g.n, i, j), expected, tol.absolute + scale * magnitude)) {
          report.bad_elements.push_back(i * g.n + j);
        }
      }
    }
  }
  return report;
}

template <typename T>
std::vector<std::size_t> non_integer_elements(std::span<const T> c, double bound) {
  std::vector<std::size_t> bad;
  for (std::size_t i = 0; i < c.size(); ++i) {
    const double v = static_cast<double>(c[i]);
    if (!std::isfinite(v) || std::fabs(v) > bound || v != std::floor(v)) bad.push_back(i);
  }
  return bad;
}

template AbftReport abft_verify<float>(const GemmView<float>&, const AbftTolerance&);
template AbftReport abft_verify<double>(const GemmView<double>&, const AbftTolerance&);
template BlockReport reference_blocks<float>(const GemmView<float>&, const AbftTolerance&, std::size_t, std::size_t,
                                             std::uint64_t);
template BlockReport reference_blocks<double>(const GemmView<double>&, const AbftTolerance&, std::size_t,
                                              std::size_t, std::uint64_t);
template std::vector<std::size_t> non_integer_elements<float>(std::span<const float>, double);
template std::vector<std::size_t> non_integer_elements<double>(std::span<const double>, double);

}  // namespace sigma::hc
