// bf16 matrix product (bf16 inputs, fp32 accumulation and output) through oneDNN, for CPUs with avx512_bf16.
// Debian's OpenBLAS has no sbgemm, so oneDNN is the library that has it; without it the part is skipped.
#pragma once

#include <memory>
#include <span>
#include <string>

namespace sigma::hc {

// "" when bf16 GEMM can run here; else why not ("CPU lacks avx512_bf16", "built without oneDNN").
std::string bf16_gemm_unavailable();

// C = A * B for square n x n row-major matrices. The constructor converts A and B to bf16 once, so run() times
// only the product. Values of A and B must be exactly representable in bf16 for the result to be exact.
class Bf16Matmul {
 public:
  Bf16Matmul(std::size_t n, std::span<const float> a, std::span<const float> b);
  ~Bf16Matmul();
  Bf16Matmul(const Bf16Matmul&) = delete;
  Bf16Matmul& operator=(const Bf16Matmul&) = delete;
  void run(std::span<float> c);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// True when /proc/cpuinfo lists the flag (e.g. "avx512_bf16").
bool cpu_has_flag(const std::string& flag);

}  // namespace sigma::hc
