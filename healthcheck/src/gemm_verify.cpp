// Verification of one product: three independent views that each catch a different kind of wrong element.
#include "sigma/healthcheck/gemm_verify.hpp"

#include <algorithm>
#include <cmath>
#include <set>

namespace sigma::hc {
namespace {

// Every true checksum is an integer computed exactly, so a correct product differs by exactly 0; 0.5 only keeps
// the comparison clear of any doubt about summation order. Fractional errors are the integer check's job.
constexpr AbftTolerance kExactTolerance{0.5, 0.0};
constexpr std::size_t kReferenceBlocks = 4;
constexpr std::size_t kReferenceBlock = 32;

}  // namespace

long exact_operand_range(std::size_t k, int significand_bits, long max_value) {
  const double limit = std::ldexp(1.0, significand_bits - 1) / static_cast<double>(std::max<std::size_t>(k, 1));
  return std::clamp(static_cast<long>(std::floor(std::sqrt(limit))), 1L, max_value);
}

template <typename T>
std::vector<T> random_integer_matrix(std::size_t rows, std::size_t cols, long range, std::mt19937_64& rng) {
  std::uniform_int_distribution<long> value(-range, range);
  std::vector<T> m(rows * cols);
  for (auto& x : m) x = static_cast<T>(value(rng));
  return m;
}

template <typename T>
ProductVerdict verify_product(const GemmView<T>& g, long operand_range, std::uint64_t seed) {
  ProductVerdict v;
  v.elements = g.m * g.n;
  v.abft = abft_verify(g, kExactTolerance);
  const double bound = static_cast<double>(g.k) * static_cast<double>(operand_range) * operand_range;
  std::set<std::size_t> bad;
  for (auto i : non_integer_elements(g.c, bound)) bad.insert(i);
  for (auto i : reference_blocks(g, kExactTolerance, kReferenceBlocks, kReferenceBlock, seed).bad_elements) {
    bad.insert(i);
  }
  // A wrong element fails one row and one column checksum, so the larger count bounds the wrong elements the
  // checksums saw from below; the element checks add the ones too small for a checksum.
  v.bad_elements = std::max({bad.size(), v.abft.bad_rows.size(), v.abft.bad_columns.size()});
  return v;
}

template std::vector<float> random_integer_matrix<float>(std::size_t, std::size_t, long, std::mt19937_64&);
template std::vector<double> random_integer_matrix<double>(std::size_t, std::size_t, long, std::mt19937_64&);
template ProductVerdict verify_product<float>(const GemmView<float>&, long, std::uint64_t);
template ProductVerdict verify_product<double>(const GemmView<double>&, long, std::uint64_t);

}  // namespace sigma::hc
