// Device memtest: each word holds a hash of its index mixed with a salt; different salts per pass change every
// bit of every word, and a word that reads back differently is a memory (or addressing) fault.
#include <cuda_runtime.h>

#include "cuda_memtest_kernels.hpp"

namespace sigma::hc::cuda {
namespace {

__device__ std::uint64_t expected(std::size_t i, std::uint64_t salt) {
  std::uint64_t x = (static_cast<std::uint64_t>(i) + salt) * 0x9e3779b97f4a7c15ULL;
  return x ^ (x >> 29);
}

__global__ void fill(std::uint64_t* words, std::size_t count, std::uint64_t salt) {
  for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; i < count;
       i += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
    words[i] = expected(i, salt);
  }
}

__global__ void count_mismatches(const std::uint64_t* words, std::size_t count, std::uint64_t salt,
                                 unsigned long long* bad) {
  unsigned long long local = 0;
  for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; i < count;
       i += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
    local += words[i] != expected(i, salt);
  }
  if (local) atomicAdd(bad, local);
}

constexpr int kBlocks = 1024;
constexpr int kThreads = 256;

}  // namespace

long long fill_and_count_mismatches(std::uint64_t* words, std::size_t count, std::uint64_t salt) {
  unsigned long long* bad = nullptr;
  if (cudaMalloc(&bad, sizeof *bad) != cudaSuccess) return -1;
  unsigned long long host_bad = 0;
  bool ok = cudaMemset(bad, 0, sizeof *bad) == cudaSuccess;
  if (ok) {
    fill<<<kBlocks, kThreads>>>(words, count, salt);
    count_mismatches<<<kBlocks, kThreads>>>(words, count, salt, bad);
    ok = cudaGetLastError() == cudaSuccess &&
         cudaMemcpy(&host_bad, bad, sizeof host_bad, cudaMemcpyDeviceToHost) == cudaSuccess;
  }
  cudaFree(bad);
  return ok ? static_cast<long long>(host_bad) : -1;
}

}  // namespace sigma::hc::cuda
