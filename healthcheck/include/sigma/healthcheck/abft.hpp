// Algorithm-based fault tolerance for C = A*B (Huang & Abraham): the column checksums e^T C must equal
// (e^T A) B and the row checksums C e must equal A (B e). Both sides cost O(n^2) against the product's O(n^3),
// so every product can be verified. A reference recomputation on sampled blocks catches what checksums could
// in theory cancel out (two errors in one row and one column of equal size and opposite sign).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace sigma::hc {

// Row-major matrices: A is m x k, B is k x n, C is m x n.
template <typename T>
struct GemmView {
  std::span<const T> a, b, c;
  std::size_t m = 0, k = 0, n = 0;
};

// The allowed difference for each checksum: absolute + 2 * k * unit_roundoff * (|e^T| |A| |B|)_j.
// The second term is the classic rounding bound (Higham, gamma_k) for both sides of the comparison; with exact
// operands (integer-valued, see gemm_check.cpp) unit_roundoff is 0 and any difference is a fault.
struct AbftTolerance {
  double absolute = 0;
  double unit_roundoff = 0;
};

struct AbftReport {
  std::vector<std::size_t> bad_rows;     // i with |(C e)_i - (A (B e))_i| > bound
  std::vector<std::size_t> bad_columns;  // j with |(e^T C)_j - ((e^T A) B)_j| > bound
  std::size_t checksums = 0;             // m + n
  bool clean() const { return bad_rows.empty() && bad_columns.empty(); }
};

template <typename T>
AbftReport abft_verify(const GemmView<T>& g, const AbftTolerance& tol);

struct BlockReport {
  std::size_t elements_checked = 0;
  std::vector<std::size_t> bad_elements;  // flat indices i*n+j
};

// Recomputes `blocks` random block x block tiles of C in long double and compares each element.
template <typename T>
BlockReport reference_blocks(const GemmView<T>& g, const AbftTolerance& tol, std::size_t blocks, std::size_t block,
                             std::uint64_t seed);

// Elements of C that are NaN/Inf or not integers in [-bound, bound]: for exact integer operands every correct
// element is such an integer, so this catches the low-order bit flips whose size hides under checksum sums.
template <typename T>
std::vector<std::size_t> non_integer_elements(std::span<const T> c, double bound);

}  // namespace sigma::hc
