// The trainer's float buffers (weights, gradients, moments, activations). Buffers of 1 MiB and more are
// 2 MiB-aligned, rounded up to whole 2 MiB, and advised MADV_HUGEPAGE before their first use, so that where
// transparent huge pages are "madvise" or "always" (/sys/kernel/mm/transparent_hugepage/enabled) the kernel
// backs them with 2 MiB pages: the matmuls' packing reads matrices across hundreds of 4 KiB pages and AdamW
// streams through the whole model, and with 4 KiB pages both wait on the TLB (the gain on the bench model:
// bench/results/trainer-speed.md, the huge-pages row). The advice is only that: without THP nothing changes.
// The rounding costs at most 2 MiB a buffer, which the memory estimate (memory_footprint.hpp) leaves out.
// Smaller buffers come from the ordinary allocator: rounding them to 2 MiB would cost more memory than it saves.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <memory>
#include <new>
#include <vector>

#include <sys/mman.h>

namespace sigma::trainer {

template <class T>
struct HugePageAllocator {
  using value_type = T;
  static constexpr size_t kHugePage = size_t{2} << 20;
  static constexpr size_t kSmallest = size_t{1} << 20;

  HugePageAllocator() = default;
  template <class U>
  HugePageAllocator(const HugePageAllocator<U>&) noexcept {}

  T* allocate(size_t n) {
    const size_t bytes = n * sizeof(T);
    if (bytes < kSmallest) return std::allocator<T>{}.allocate(n);
    const size_t rounded = (bytes + kHugePage - 1) / kHugePage * kHugePage;
    void* p = std::aligned_alloc(kHugePage, rounded);
    if (p == nullptr) throw std::bad_alloc();
    madvise(p, rounded, MADV_HUGEPAGE);  // advice: a kernel without THP answers EINVAL and keeps 4 KiB pages
    return static_cast<T*>(p);
  }
  void deallocate(T* p, size_t n) noexcept {
    if (n * sizeof(T) < kSmallest)
      std::allocator<T>{}.deallocate(p, n);
    else
      std::free(p);
  }
  template <class U>
  bool operator==(const HugePageAllocator<U>&) const noexcept {
    return true;
  }
};

using Floats = std::vector<float, HugePageAllocator<float>>;

}  // namespace sigma::trainer
