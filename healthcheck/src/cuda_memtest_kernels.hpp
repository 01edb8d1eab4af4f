// Device memtest kernels (cuda_memtest_kernels.cu), behind a plain C++ interface so that only this small file
// goes through nvcc and the rest of the healthcheck stays ordinary C++.
#pragma once

#include <cstddef>
#include <cstdint>

namespace sigma::hc::cuda {

// Fills `words` on the current device with a pattern derived from each index and `salt`, then counts the words
// that read back differently. Returns the count, or -1 when a CUDA call failed.
long long fill_and_count_mismatches(std::uint64_t* words, std::size_t count, std::uint64_t salt);

}  // namespace sigma::hc::cuda
