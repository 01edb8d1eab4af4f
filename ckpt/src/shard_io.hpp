// HDF5 shard files: one per writing rank, one contiguous float32 dataset per piece (serial HDF5 per file;
// ranks write their files in parallel). HDF5's own error stack printing is turned off: failures become one
// sigma::Error line naming file and dataset.
#pragma once

#include <string>
#include <vector>

#include "pieces.hpp"

namespace sigma::ckpt {

// Writes every piece into path (created, truncated), fills each piece's xxh3_64, fsyncs the file.
void write_shard(const std::string& path, std::vector<Piece>& pieces);

// The most float32 elements one tensor of a checkpoint may hold (256 GiB): a manifest claiming more is broken,
// and is refused before anything is allocated for it.
inline constexpr int64_t kMaxTensorElements = int64_t{1} << 36;

struct PieceRecord {  // a piece as the manifest describes it
  std::string tensor, file, dataset, xxh3_64;
  std::vector<int64_t> global_shape;
  int64_t row_begin = 0, row_end = 0;
};
PieceRecord piece_record_from_json(const nlohmann::json& j, const std::string& manifest_path);

// Reads the whole piece and checks shape and checksum; throws sigma::Error(bad_data or not_found) naming
// file and dataset.
std::vector<float> read_piece(const std::string& step_dir, const PieceRecord& piece);
// The same, into caller memory of (row_end - row_begin) rows (avoids a temporary when the piece lies wholly
// inside the destination; on failure the destination holds garbage and the load is rejected).
void read_piece_into(const std::string& step_dir, const PieceRecord& piece, float* data);
// The same checks, reading the piece in blocks through one small buffer (sigma-ckpt verify and list).
void verify_piece(const std::string& step_dir, const PieceRecord& piece);

}  // namespace sigma::ckpt
