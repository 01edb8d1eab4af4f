// The three stages of a save, split so that the shard write can run on a background thread:
//   prepare_step (collective) -> write_rank_shard (local, no MPI) -> commit_step (collective).
// The step is written into <dir>/.tmp_step_N; commit renames it to <dir>/step_N and then moves latest,
// after every rank's shard is fsync'd. A save that fails removes its temporary step and throws the same
// sigma::Error on every rank: the first failing rank's code, errno and message ("checkpoint filesystem full: ..."
// for ENOSPC), so that one rank's full disk stops every rank with one code.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <exception>
#include <string>

#include <nlohmann/json.hpp>

#include "sigma/core/exit_codes.hpp"
#include "sigma/contracts/tensor_state.hpp"

namespace sigma::ckpt {

// One rank's failure in a collective stage; an empty message means this rank succeeded.
struct StageFailure {
  std::string message;
  ExitCode code = ExitCode::internal;
  int sys_errno = 0;
  // A sigma::Error keeps its code and errno, a filesystem_error gets exit_code_for_errno's code, anything else is
  // internal.
  static StageFailure from(const std::exception& e);
};

// Collective: when any rank failed, throws sigma::Error on every rank with the lowest failing rank's message,
// code and errno.
void agree_or_throw(MPI_Comm comm, const StageFailure& failure);

std::string prepare_step(MPI_Comm comm, const std::string& dir, int64_t step);

// Writes this rank's pieces; returns this rank's manifest record ({"pieces", "layout"}).
nlohmann::json write_rank_shard(const std::string& tmp_dir, const TrainingStateView& state, int rank);

// failure: this rank's shard write (empty message when it was written).
void commit_step(MPI_Comm comm, const std::string& dir, int64_t step, const std::string& tmp_dir,
                 const nlohmann::json& scalars, const nlohmann::json& rank_record, const StageFailure& failure);

}  // namespace sigma::ckpt
