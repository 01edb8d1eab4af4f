// The 8-lane sums (MODEL.md, "Sums"): element j of each full group of eight into lane j, the rest into lane 0,
// then ((l0 + l1) + (l2 + l3)) + ((l4 + l5) + (l6 + l7)). Eight independent chains the compiler keeps in one
// vector register, instead of one chain of dependent additions; the same result on every instruction set.
// The lanes are one GCC vector of eight (a ymm of floats, a zmm of doubles): `group(j)` gives the summands
// j … j+7 from whole-vector loads, `term(j)` the j-th alone (for the n mod 8 at the end), each already
// rounded to T (float, or double for the gradient norm). Left to the vectoriser, the lanes ran slower
// (bench/results/trainer-speed.md, the 8-lane sums row): tuned for 512-bit vectors, it packs two groups into
// one register and shuffles them apart again.
// Private to the trainer library: its sources are all compiled for SIGMA_TRAINER_ARCH (with -Wno-psabi: GCC's
// note that a vector return's calling convention depends on the instruction set), and a file compiled without
// it (tests, tools) would call these another way.
#pragma once

#include <cstdint>
#include <cstring>

namespace sigma::trainer {

template <class T>
struct EightLanes;
template <>
struct EightLanes<float> {
  using type = float __attribute__((vector_size(32)));
};
template <>
struct EightLanes<double> {
  using type = double __attribute__((vector_size(64)));
};
template <class T>
using Lanes8 = typename EightLanes<T>::type;

inline Lanes8<float> load8(const float* p) {
  Lanes8<float> v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

template <class T = float, class Group, class Term>
inline T sum8(int64_t n, Group group, Term term) {
  Lanes8<T> lane = {};
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) lane += group(j);
  T first = lane[0];
  for (; j < n; ++j) first += term(j);
  return ((first + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]));
}
inline float sum_lanes(const float* a, int n) {
  return sum8(n, [a](int64_t j) { return load8(a + j); }, [a](int64_t j) { return a[j]; });
}
inline float dot_lanes(const float* a, const float* b, int n) {
  return sum8(
      n, [a, b](int64_t j) { return load8(a + j) * load8(b + j); }, [a, b](int64_t j) { return a[j] * b[j]; });
}
// Σ⁸ (a_j·b_j)·c_j
inline float dot3_lanes(const float* a, const float* b, const float* c, int n) {
  return sum8(
      n, [a, b, c](int64_t j) { return load8(a + j) * load8(b + j) * load8(c + j); },
      [a, b, c](int64_t j) { return a[j] * b[j] * c[j]; });
}

}  // namespace sigma::trainer
