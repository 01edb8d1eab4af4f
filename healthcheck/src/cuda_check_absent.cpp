// Built when CMake found no CUDA toolkit: the cuda check reports itself skipped, never passed.
#include "sigma/healthcheck/check.hpp"

namespace sigma::hc {

CheckResult run_cuda_check(const CheckContext&) {
  CheckResult result;
  result.name = "cuda";
  result.status = CheckStatus::skip;
  result.reason = "cuda: skipped (no CUDA toolkit at build time)";
  return result;
}

}  // namespace sigma::hc
