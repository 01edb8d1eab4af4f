// What one rank of sigma-train allocates for a run config, counted from the code that allocates it (Trainer,
// Model, MoeLayer, the sgemm peak measurement, the checkpoint copy), so a model too large for the machine is
// refused with one line before anything is allocated. Not counted: the token data (already read when the check
// runs, so already outside the headroom), the libraries' own memory (MPI, OpenBLAS buffers, thread stacks: tens
// of MiB) and small per-step vectors.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sigma/platform/memory_headroom.hpp"
#include "sigma/trainer/config.hpp"

namespace sigma::trainer {

struct MemoryFootprint {
  uint64_t model_state = 0;      // weights, gradients, AdamW m and v: 4 floats per parameter held
  uint64_t checkpoint_copy = 0;  // the asynchronous save's host copy of the state (with --ckpt-dir)
  // In-memory copies (with --ckpt-dir and memory_copy_every): two steps of its own and of its partner's state in
  // the node's tmpfs, which takes memory like a process does, plus the encoded copy and the received mirror
  // while a copy is taken: 6x the state.
  uint64_t memory_copies = 0;
  uint64_t activations = 0;      // kept for the backward pass, per layer, plus logits and backward scratch
  uint64_t expert_buffers = 0;   // routing and dispatch rows at the capacity factor (balanced routing when 0)
  uint64_t peak_measurement = 0; // the largest sgemm of the start-up peak measurement (unless peak_gflops)
  uint64_t total() const;
  std::string breakdown() const;  // "model state 1.2 GiB, activations ..."
};

MemoryFootprint estimate_memory_footprint(const TrainConfig& config, int world_size, bool checkpoints);

// Throws sigma::Error(config) with one line when `ranks_on_node` ranks of this footprint do not fit a limit
// the node's ranks share, or one rank does not fit a per-process limit.
void check_memory_fits(const MemoryFootprint& footprint, int ranks_on_node, const std::vector<MemoryHeadroom>& limits);

}  // namespace sigma::trainer
