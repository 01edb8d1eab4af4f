// manifest.json: the map from every tensor to the shard files, datasets and rows that hold it, with checksums,
// world layout, step and scalars. Written last, by rank 0, so a step directory with a manifest is complete.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "shard_io.hpp"

namespace sigma::ckpt {

inline constexpr int kFormatVersion = 1;
inline constexpr const char* kManifestName = "manifest.json";

struct TensorEntry {
  std::vector<int64_t> global_shape;
  std::vector<PieceRecord> pieces;  // sorted by row_begin
};

struct Manifest {
  int64_t step = 0;
  int world_size = 0;
  nlohmann::json scalars;
  std::map<std::string, TensorEntry> tensors;
};

// per_rank[r] = {"pieces": [...], "layout": [...]} as produced by each rank.
nlohmann::json build_manifest(int64_t step, const nlohmann::json& scalars, const std::vector<nlohmann::json>& per_rank);

// Reads and checks <step_dir>/manifest.json: version, and that the pieces of every tensor cover its rows
// exactly once. Throws sigma::Error(not_found or bad_data) naming the file.
Manifest read_manifest(const std::string& step_dir);

}  // namespace sigma::ckpt
