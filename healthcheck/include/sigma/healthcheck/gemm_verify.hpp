// How the gemm check builds operands and judges one product. The operands are random integers small enough that
// every product element and every checksum is exact in the working precision, so a correct result matches its
// checksums exactly and any flipped bit that changes a value is caught (see README.md, "Why integer operands").
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

#include "sigma/healthcheck/abft.hpp"

namespace sigma::hc {

// Largest R such that integers in [-R, R] keep a length-k dot product exact with `significand_bits`
// (k * R^2 < 2^(significand_bits - 1)), capped at `max_value` (e.g. 255 for bf16 inputs).
long exact_operand_range(std::size_t k, int significand_bits, long max_value);

template <typename T>
std::vector<T> random_integer_matrix(std::size_t rows, std::size_t cols, long range, std::mt19937_64& rng);

struct ProductVerdict {
  std::size_t bad_elements = 0;  // located wrong elements (at least the number of failed checksums)
  std::size_t elements = 0;      // m * n
  AbftReport abft;
};

// ABFT checksums + the integer invariant + sampled reference blocks. `operand_range` is the R the operands used.
template <typename T>
ProductVerdict verify_product(const GemmView<T>& g, long operand_range, std::uint64_t seed);

}  // namespace sigma::hc
