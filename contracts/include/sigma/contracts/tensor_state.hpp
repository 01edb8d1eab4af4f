// The contract between the trainer and the checkpoint library: the trainer's full state as named fp32 tensors
// plus JSON scalars. Neither side depends on the other; both depend on this.
//
// A global tensor may be split across ranks along dim 0 (expert parallel: each rank holds a block of experts),
// and each block may be held identically by several ranks (data-parallel replicas). The checkpoint library
// uses replica_index/replica_count to split the writing of a block among its holders, so no byte is written
// twice, and uses offset0/global_shape to reshard on load.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace sigma {

struct TensorSlice {
  std::string name;                  // as in trainer/MODEL.md, e.g. "layers.0.attn.wq", "adam.m.layers.0.attn.wq"
  std::vector<int64_t> global_shape;
  int64_t offset0 = 0;               // this rank's block starts at this index of dim 0 of the global tensor
  std::vector<int64_t> local_shape;  // same rank as global_shape; equal to it except possibly in dim 0
  float* data = nullptr;             // product(local_shape) floats, row-major; writable so a load can fill it
  int replica_index = 0;             // which of the identical holders of this block this rank is
  int replica_count = 1;             // how many ranks hold this same block
};

struct TrainingStateView {
  std::vector<TensorSlice> tensors;  // every tensor of the state, in a stable order
  nlohmann::json scalars = nlohmann::json::object();  // step, data position, RNG state, config hash, ...
};

}  // namespace sigma
