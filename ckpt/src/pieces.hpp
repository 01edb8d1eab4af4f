// A piece is the part of one global tensor that one rank writes: rows [row_begin, row_end) of dim 0. A block
// held by R replicas is split by rows among them, so no byte is written twice.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sigma/contracts/tensor_state.hpp"

namespace sigma::ckpt {

struct Piece {
  std::string tensor;
  std::vector<int64_t> global_shape;
  int64_t row_begin = 0;
  int64_t row_end = 0;
  const float* rows = nullptr;  // first float of row_begin in the writer's memory
  std::string file;             // shard file name, relative to the step directory
  std::string dataset;          // HDF5 path inside the shard file
  std::string xxh3_64;          // 16 hex digits of XXH3-64 over the little-endian float32 bytes
};

int64_t row_elements(const std::vector<int64_t>& shape);  // product of dims 1..n (1 for 1-D tensors)
int64_t tensor_elements(const std::vector<int64_t>& shape);

// The pieces this rank writes (empty pieces are dropped); throws sigma::Error(internal) on an invalid slice.
std::vector<Piece> pieces_to_write(const TrainingStateView& state, int rank);

std::string shard_file_name(int rank);

nlohmann::json piece_to_json(const Piece& piece);

}  // namespace sigma::ckpt
