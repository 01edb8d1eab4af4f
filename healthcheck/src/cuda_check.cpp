// cuda: per device, cuBLAS sgemm on exact integer operands verified on the host exactly as the CPU gemm check
// (gemm_verify.hpp), GFLOP/s against the baseline, then a device memtest over a share of free device memory.
// Built only when CMake finds a CUDA toolkit.
#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <fmt/format.h>

#include <random>
#include <stdexcept>

#include "cuda_memtest_kernels.hpp"
#include "sigma/healthcheck/check.hpp"
#include "sigma/healthcheck/fault_injector.hpp"
#include "sigma/healthcheck/gemm_verify.hpp"

namespace sigma::hc {
namespace {

constexpr int kTimedRepeats = 5;
constexpr int kMemtestPasses = 2;

void check_cuda(cudaError_t status, const char* what) {
  if (status != cudaSuccess) throw std::runtime_error(fmt::format("{}: {}", what, cudaGetErrorString(status)));
}

void check_cublas(cublasStatus_t status, const char* what) {
  if (status != CUBLAS_STATUS_SUCCESS) throw std::runtime_error(fmt::format("{}: cuBLAS status {}", what,
                                                                            static_cast<int>(status)));
}

template <typename T>
struct DeviceBuffer {
  T* data = nullptr;
  explicit DeviceBuffer(std::size_t count) {
    check_cuda(cudaMalloc(reinterpret_cast<void**>(&data), count * sizeof(T)), "cudaMalloc");
  }
  ~DeviceBuffer() { cudaFree(data); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
};

struct Cublas {
  cublasHandle_t handle = nullptr;
  Cublas() { check_cublas(cublasCreate(&handle), "cublasCreate"); }
  ~Cublas() { cublasDestroy(handle); }
};

// Row-major C = A B is column-major C^T = B^T A^T, so the operands are passed to cuBLAS swapped.
double timed_sgemm(Cublas& blas, std::size_t n, const float* a, const float* b, float* c) {
  const int d = static_cast<int>(n);
  const float one = 1, zero = 0;
  cudaEvent_t start, stop;
  check_cuda(cudaEventCreate(&start), "cudaEventCreate");
  check_cuda(cudaEventCreate(&stop), "cudaEventCreate");
  check_cublas(cublasSgemm(blas.handle, CUBLAS_OP_N, CUBLAS_OP_N, d, d, d, &one, b, d, a, d, &zero, c, d), "warm-up");
  float best_ms = 1e30f;
  for (int rep = 0; rep < kTimedRepeats; ++rep) {
    check_cuda(cudaEventRecord(start), "cudaEventRecord");
    check_cublas(cublasSgemm(blas.handle, CUBLAS_OP_N, CUBLAS_OP_N, d, d, d, &one, b, d, a, d, &zero, c, d), "sgemm");
    check_cuda(cudaEventRecord(stop), "cudaEventRecord");
    check_cuda(cudaEventSynchronize(stop), "cudaEventSynchronize");
    float ms = 0;
    check_cuda(cudaEventElapsedTime(&ms, start, stop), "cudaEventElapsedTime");
    best_ms = std::min(best_ms, ms);
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  return best_ms / 1e3;
}

// Returns the number of wrong elements; records GFLOP/s.
std::size_t device_gemm(int device, std::size_t n, const CheckContext& ctx, CheckResult& result,
                        std::string& slow_reason, std::mt19937_64& rng) {
  const long range = exact_operand_range(n, 24, 1L << 20);
  const auto a = random_integer_matrix<float>(n, n, range, rng), b = random_integer_matrix<float>(n, n, range, rng);
  std::vector<float> c(n * n);
  DeviceBuffer<float> da(n * n), db(n * n), dc(n * n);
  check_cuda(cudaMemcpy(da.data, a.data(), n * n * sizeof(float), cudaMemcpyHostToDevice), "copy A");
  check_cuda(cudaMemcpy(db.data, b.data(), n * n * sizeof(float), cudaMemcpyHostToDevice), "copy B");
  Cublas blas;
  const FaultInjector faults(ctx.config->fault_injection);
  const double seconds = faults.slow_down(timed_sgemm(blas, n, da.data, db.data, dc.data));
  check_cuda(cudaMemcpy(c.data(), dc.data, n * n * sizeof(float), cudaMemcpyDeviceToHost), "copy C");
  faults.corrupt_gemm_output(std::span<float>(c), rng);
  const std::string metric = fmt::format("gpu{}_sgemm_n{}_gflops", device, n);
  result.metrics[metric] = 2.0 * n * n * n / seconds / 1e9;
  if (slow_reason.empty()) {
    slow_reason = throughput_verdict(ctx, "cuda", metric, result.metrics[metric], ctx.config->gemm.min_ratio);
  }
  return verify_product(GemmView<float>{a, b, c, n, n, n}, range, rng()).bad_elements;
}

long long device_memtest(int device, const CheckContext& ctx, CheckResult& result, std::mt19937_64& rng) {
  std::size_t free_bytes = 0, total_bytes = 0;
  check_cuda(cudaMemGetInfo(&free_bytes, &total_bytes), "cudaMemGetInfo");
  const std::size_t bytes = std::min(static_cast<std::size_t>(static_cast<double>(free_bytes) * ctx.config->memtest.share),
                                     static_cast<std::size_t>(ctx.config->memtest.max_mib) << 20);
  const std::size_t words = bytes / sizeof(std::uint64_t);
  if (words == 0) return 0;
  DeviceBuffer<std::uint64_t> buffer(words);
  long long bad = 0;
  for (int pass = 0; pass < kMemtestPasses; ++pass) {
    const long long found = cuda::fill_and_count_mismatches(buffer.data, words, rng());
    if (found < 0) throw std::runtime_error("device memtest kernel failed");
    bad += found;
  }
  result.metrics[fmt::format("gpu{}_memtest_mib", device)] = static_cast<double>(bytes >> 20);
  return bad;
}

}  // namespace

CheckResult run_cuda_check(const CheckContext& ctx) {
  CheckResult result;
  result.name = "cuda";
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
    result.status = CheckStatus::skip;
    result.reason = "cuda: skipped (no CUDA device)";
    return result;
  }
  std::mt19937_64 rng(std::random_device{}());
  std::size_t bad_elements = 0;
  long long bad_words = 0;
  std::string slow_reason;
  for (int device = 0; device < devices; ++device) {
    check_cuda(cudaSetDevice(device), "cudaSetDevice");
    for (int size : ctx.config->gemm.sizes) {
      bad_elements += device_gemm(device, static_cast<std::size_t>(size), ctx, result, slow_reason, rng);
    }
    bad_words += device_memtest(device, ctx, result, rng);
  }
  result.metrics["devices"] = devices;
  if (bad_elements > 0) {
    result.status = CheckStatus::fail;
    result.reason = fmt::format("cuda gemm sdc {}", bad_elements);
  } else if (bad_words > 0) {
    result.status = CheckStatus::fail;
    result.reason = fmt::format("cuda memtest {} bad words", bad_words);
  } else if (!slow_reason.empty()) {
    result.status = CheckStatus::fail;
    result.reason = slow_reason;
    result.below_baseline = true;
  }
  return result;
}

}  // namespace sigma::hc
