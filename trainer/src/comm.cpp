#include "sigma/trainer/comm.hpp"

#include <fmt/format.h>

#include "sigma/core/error.hpp"

namespace sigma::trainer {

Comm::Comm(MPI_Comm world, int ep_size) : world_(world), ep_size_(ep_size) {
  MPI_Comm_rank(world, &rank_);
  MPI_Comm_size(world, &size_);
  if (ep_size < 1 || size_ % ep_size != 0)
    throw Error(ExitCode::config, fmt::format("config: ep_size={} does not divide the world size {}", ep_size, size_));
  ep_rank_ = rank_ % ep_size;
  MPI_Comm_split(world, rank_ / ep_size, rank_, &ep_);
  MPI_Comm_split(world, ep_rank_, rank_, &expert_dp_);
}

Comm::~Comm() {
  if (ep_ != MPI_COMM_NULL) MPI_Comm_free(&ep_);
  if (expert_dp_ != MPI_COMM_NULL) MPI_Comm_free(&expert_dp_);
}

}  // namespace sigma::trainer
