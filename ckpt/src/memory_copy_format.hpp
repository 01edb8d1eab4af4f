// One rank's in-memory copy of its training state, as bytes: what a rank keeps in its node's memory and sends to
// its partner. A copy is whole or rejected: it ends with XXH3-64 of everything before it, and a reader checks the
// magic, every length and that checksum before it believes a single field.
//
//   "SIGMAMC1" | u64 header bytes | header (JSON: rank, world, step, scalars, tensors: name, local_shape,
//   offset0) | u64 data bytes | the tensors' floats, in the header's order | u64 XXH3-64 of all of the above
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "sigma/contracts/tensor_state.hpp"

namespace sigma::ckpt {

struct CopyHeader {
  int rank = 0;
  int world = 0;
  int64_t step = 0;
  nlohmann::json scalars;
  nlohmann::json tensors;  // [{name, local_shape, offset0}], in the state's order
  size_t data_at = 0;      // where the floats start in the copy
  uint64_t data_bytes = 0;
};

uint64_t state_data_bytes(const TrainingStateView& state);

// A copy is written in two moves so that it can go straight into its file: the header, then its size, then
// the copy itself into `out` (copy_size(header, state) bytes).
std::string copy_header(int rank, int world, int64_t step, const TrainingStateView& state);
size_t copy_size(const std::string& header, const TrainingStateView& state);
void write_copy(char* out, const std::string& header, const TrainingStateView& state);

// The whole copy of `state` (step, rank and world size recorded in it), in memory.
std::string encode_copy(int rank, int world, int64_t step, const TrainingStateView& state);

// The copy's header when `bytes` is a whole, well-formed copy whose checksum matches; nullopt otherwise, with
// the reason in `why`.
std::optional<CopyHeader> verify_copy(const std::string& bytes, std::string& why);

// "" when the verified copy holds every tensor of the state with the same name, shape and offset, in the same
// order; otherwise the first mismatch.
std::string copy_matches(const CopyHeader& header, const TrainingStateView& state);

// The layout of a rank's share of the state: every tensor's name, local shape and offset, in order (hashed).
// Ranks with one layout hold replicas of the same slices (data-parallel replicas of the same experts), so one's
// copy restores the other: a restart on another world size with the same expert-parallel layout.
uint64_t layout_key(const TrainingStateView& state);
uint64_t layout_key(const CopyHeader& header);

// Fills state's tensors from a verified copy that matches it.
void fill_from_copy(const std::string& bytes, const CopyHeader& header, TrainingStateView& state);

}  // namespace sigma::ckpt
