// The three stages of a save, split so that the shard write can run on a background thread:
//   prepare_step (collective) -> write_rank_shard (local, no MPI) -> commit_step (collective).
// The step is written into <dir>/.tmp_step_N; commit renames it to <dir>/step_N and then moves latest,
// after every rank's shard is fsync'd.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "sigma/core/exit_codes.hpp"
#include "sigma/core/tensor_state.hpp"

namespace sigma::ckpt {

std::string prepare_step(MPI_Comm comm, const std::string& dir, int64_t step);

// Writes this rank's pieces; returns this rank's manifest record ({"pieces", "layout"}).
nlohmann::json write_rank_shard(const std::string& tmp_dir, const TrainingStateView& state, int rank);

// failure: empty when this rank's shard was written, else its error message.
void commit_step(MPI_Comm comm, const std::string& dir, int64_t step, const std::string& tmp_dir,
                 const nlohmann::json& scalars, const nlohmann::json& rank_record, const std::string& failure);

// Collective: throws sigma::Error on every rank when any rank passes a non-empty failure.
void agree_or_throw(MPI_Comm comm, const std::string& failure, ExitCode code);

}  // namespace sigma::ckpt
