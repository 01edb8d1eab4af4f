// A synthetic training state with the shapes the trainer produces: replicated dense tensors, expert tensors
// split along dim 0 across expert-parallel ranks and replicated across the rest, a 1-D tensor, and AdamW moments.
// Every value is a function of (tensor, step, global row, column), so any layout can check what it loaded.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "sigma/contracts/tensor_state.hpp"

namespace sigma::ckpt::testing {

struct Layout {
  int rank = 0;
  int world = 1;
  int ep = 1;        // expert-parallel size; divides world and 8
  int scale = 1;     // widens every tensor (for timing-sensitive tests)
};

inline float expected_value(const std::string& name, int64_t step, int64_t row, int64_t col) {
  uint32_t h = 2166136261u;
  for (char c : name) h = (h ^ static_cast<uint8_t>(c)) * 16777619u;
  return static_cast<float>(h % 1000) + static_cast<float>(step) * 0.25f + static_cast<float>(row) * 0.0625f +
         static_cast<float>(col) * 1.0e-4f;
}

class SyntheticState {
 public:
  explicit SyntheticState(const Layout& layout) : layout_(layout) {
    for (const char* base : {"embed", "experts.w1", "experts.w2", "norm.bias"}) {
      for (const std::string prefix : {"", "adam.m.", "adam.v."}) add(prefix + base);
    }
  }

  void fill(int64_t step) {
    for (size_t i = 0; i < view_.tensors.size(); ++i) {
      const TensorSlice& s = view_.tensors[i];
      const int64_t cols = columns(s);
      for (int64_t r = 0; r < s.local_shape[0]; ++r)
        for (int64_t c = 0; c < cols; ++c) s.data[r * cols + c] = expected_value(s.name, step, s.offset0 + r, c);
    }
    view_.scalars = {{"step", step}, {"data_position", step * 32}, {"rng", {1, 2, step}}, {"config_hash", "abc123"}};
  }

  void clear() {
    for (auto& b : buffers_) std::fill(b.begin(), b.end(), -1.0f);
  }

  // Number of values that differ bitwise from the step's expected values.
  int64_t mismatches(int64_t step) const {
    int64_t bad = 0;
    for (const TensorSlice& s : view_.tensors) {
      const int64_t cols = columns(s);
      for (int64_t r = 0; r < s.local_shape[0]; ++r)
        for (int64_t c = 0; c < cols; ++c) {
          const float want = expected_value(s.name, step, s.offset0 + r, c);
          if (std::memcmp(&want, &s.data[r * cols + c], sizeof(float)) != 0) ++bad;
        }
    }
    return bad;
  }

  TrainingStateView& view() { return view_; }

 private:
  static int64_t columns(const TensorSlice& s) {
    int64_t n = 1;
    for (size_t i = 1; i < s.local_shape.size(); ++i) n *= s.local_shape[i];
    return n;
  }

  void add(const std::string& name) {
    TensorSlice s;
    s.name = name;
    const int64_t width = 6 * layout_.scale;
    if (name.find("experts.") != std::string::npos) {
      const int64_t block = 8 / layout_.ep;
      s.global_shape = {8, width, 4};
      s.offset0 = (layout_.rank % layout_.ep) * block;
      s.local_shape = {block, width, 4};
      s.replica_count = layout_.world / layout_.ep;
      s.replica_index = layout_.rank / layout_.ep;
    } else {
      s.global_shape = name.find("bias") != std::string::npos ? std::vector<int64_t>{7 * layout_.scale}
                                                              : std::vector<int64_t>{10, width * 8};
      s.local_shape = s.global_shape;
      s.replica_count = layout_.world;
      s.replica_index = layout_.rank;
    }
    int64_t n = 1;
    for (int64_t d : s.local_shape) n *= d;
    buffers_.emplace_back(static_cast<size_t>(n), -1.0f);
    s.data = buffers_.back().data();
    view_.tensors.push_back(s);
  }

  Layout layout_;
  std::vector<std::vector<float>> buffers_;  // moving a vector keeps its heap block, so data pointers stay valid
  TrainingStateView view_;

 public:
  SyntheticState(const SyntheticState&) = delete;
  SyntheticState& operator=(const SyntheticState&) = delete;
};

}  // namespace sigma::ckpt::testing
