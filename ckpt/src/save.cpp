#include <fmt/format.h>

#include "sigma/ckpt/checkpoint.hpp"
#include "step_commit.hpp"

namespace sigma::ckpt {

void save_checkpoint(MPI_Comm comm, const std::string& dir, int64_t step, const TrainingStateView& state) {
  const std::string tmp = prepare_step(comm, dir, step);
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  nlohmann::json record;
  StageFailure failure;
  try {
    record = write_rank_shard(tmp, state, rank);
  } catch (const std::exception& e) {
    failure = StageFailure::from(e);
  }
  commit_step(comm, dir, step, tmp, state.scalars, record, failure);
}

}  // namespace sigma::ckpt
