// The three communicators of a run. Ranks are laid out as consecutive expert-parallel groups:
// rank r sits in EP group r / ep_size at position ep_rank = r % ep_size and holds experts
// [ep_rank * E/ep_size, (ep_rank+1) * E/ep_size). Ranks with the same ep_rank hold the same experts and
// all-reduce their expert gradients together (the expert data-parallel group).
#pragma once

#include <mpi.h>

namespace sigma::trainer {

class Comm {
 public:
  // Splits `world` (which the caller keeps owning); throws sigma::Error(config) when ep_size does not divide it.
  Comm(MPI_Comm world, int ep_size);
  ~Comm();
  Comm(const Comm&) = delete;
  Comm& operator=(const Comm&) = delete;

  MPI_Comm world() const { return world_; }
  MPI_Comm ep() const { return ep_; }                // ranks exchanging tokens (Alltoallv)
  MPI_Comm expert_dp() const { return expert_dp_; }  // ranks holding the same experts
  int rank() const { return rank_; }
  int size() const { return size_; }
  int ep_rank() const { return ep_rank_; }
  int ep_size() const { return ep_size_; }
  int expert_replica() const { return rank_ / ep_size_; }
  int expert_replicas() const { return size_ / ep_size_; }

 private:
  MPI_Comm world_;
  MPI_Comm ep_ = MPI_COMM_NULL;
  MPI_Comm expert_dp_ = MPI_COMM_NULL;
  int rank_ = 0, size_ = 1, ep_rank_ = 0, ep_size_ = 1;
};

}  // namespace sigma::trainer
