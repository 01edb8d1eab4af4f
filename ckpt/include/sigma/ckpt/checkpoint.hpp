// Sharded HDF5 checkpoints of a sigma::TrainingStateView: every rank writes a disjoint part of the state into
// its own shard file, rank 0 writes manifest.json and commits the step directory atomically. Loading picks the
// newest step that verifies and reshards to the caller's layout. The format is described in ckpt/FORMAT.md.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "sigma/contracts/tensor_state.hpp"

namespace sigma::ckpt {

struct LoadOptions {
  bool strict = false;          // a step that fails verification is an error, not a reason to fall back
  std::string ledger_path;      // when set, every rejected step is recorded as a ckpt_rejected event
  // Called on every rank with a step's scalars before its tensors are read; a sigma::Error it throws makes the
  // step broken like a bad checksum does (the program's own cross-checks: position, config, step).
  std::function<void(const nlohmann::json& scalars)> accept_scalars;
};

struct LoadResult {
  int64_t step = 0;
  std::string step_dir;
  nlohmann::json scalars;       // as saved
};

// Collective over comm. Writes <dir>/step_<step 8 digits>/ and moves <dir>/latest to it; a crash at any point
// leaves the previous checkpoint intact. Throws sigma::Error on I/O failure (the same on every rank).
void save_checkpoint(MPI_Comm comm, const std::string& dir, int64_t step, const TrainingStateView& state);

// Collective over comm. Fills every slice of state from the newest step under dir that verifies for the
// slices this job needs; nullopt when dir holds no step at all. Throws sigma::Error(bad_data) when steps exist
// but none verifies (or, with strict, when the newest does not).
std::optional<LoadResult> load_newest_checkpoint(MPI_Comm comm, const std::string& dir, TrainingStateView& state,
                                                 const LoadOptions& options = {});

// Collective over comm. Loads one step directory; throws sigma::Error naming file and dataset on any defect.
LoadResult load_checkpoint_step(MPI_Comm comm, const std::string& step_dir, TrainingStateView& state);

}  // namespace sigma::ckpt
