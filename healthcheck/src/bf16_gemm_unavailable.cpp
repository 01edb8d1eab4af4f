// Built when CMake did not find oneDNN: bf16 GEMM is reported as skipped, never as passed.
#include <stdexcept>

#include "sigma/healthcheck/bf16_gemm.hpp"

namespace sigma::hc {

std::string bf16_gemm_unavailable() { return "built without oneDNN (libdnnl-dev)"; }

struct Bf16Matmul::Impl {};

Bf16Matmul::Bf16Matmul(std::size_t, std::span<const float>, std::span<const float>) {
  throw std::logic_error("bf16 GEMM is not built in");
}
Bf16Matmul::~Bf16Matmul() = default;
void Bf16Matmul::run(std::span<float>) { throw std::logic_error("bf16 GEMM is not built in"); }

}  // namespace sigma::hc
