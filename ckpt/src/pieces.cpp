#include "pieces.hpp"

#include <fmt/format.h>

#include "sigma/core/error.hpp"

namespace sigma::ckpt {

int64_t row_elements(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (size_t i = 1; i < shape.size(); ++i) n *= shape[i];
  return n;
}

int64_t tensor_elements(const std::vector<int64_t>& shape) {
  return shape.empty() ? 1 : shape[0] * row_elements(shape);
}

std::string shard_file_name(int rank) { return fmt::format("shard_r{:05d}.h5", rank); }

static void check_slice(const TensorSlice& s) {
  auto bad = [&](const std::string& what) {
    throw Error(ExitCode::internal, fmt::format("checkpoint: tensor '{}': {}", s.name, what));
  };
  if (s.name.empty() || s.name.find('/') != std::string::npos) bad("name must be non-empty and contain no '/'");
  if (s.global_shape.empty() || s.local_shape.size() != s.global_shape.size()) bad("local and global rank differ");
  for (size_t i = 1; i < s.global_shape.size(); ++i)
    if (s.local_shape[i] != s.global_shape[i]) bad("local shape differs from global beyond dim 0");
  if (s.offset0 < 0 || s.offset0 + s.local_shape[0] > s.global_shape[0]) bad("block rows exceed the global tensor");
  if (s.replica_count < 1 || s.replica_index < 0 || s.replica_index >= s.replica_count) bad("bad replica index");
  if (s.data == nullptr && s.local_shape[0] > 0) bad("no data");
}

std::vector<Piece> pieces_to_write(const TrainingStateView& state, int rank) {
  std::vector<Piece> pieces;
  for (const TensorSlice& s : state.tensors) {
    check_slice(s);
    const int64_t rows = s.local_shape[0];
    const int64_t first = rows * s.replica_index / s.replica_count;
    const int64_t last = rows * (s.replica_index + 1) / s.replica_count;
    if (first == last) continue;
    Piece p;
    p.tensor = s.name;
    p.global_shape = s.global_shape;
    p.row_begin = s.offset0 + first;
    p.row_end = s.offset0 + last;
    p.rows = s.data + first * row_elements(s.global_shape);
    p.file = shard_file_name(rank);
    p.dataset = "/" + s.name;
    pieces.push_back(std::move(p));
  }
  return pieces;
}

nlohmann::json piece_to_json(const Piece& p) {
  return {{"tensor", p.tensor}, {"global_shape", p.global_shape}, {"file", p.file}, {"dataset", p.dataset},
          {"row_begin", p.row_begin}, {"row_end", p.row_end}, {"xxh3_64", p.xxh3_64}};
}

}  // namespace sigma::ckpt
