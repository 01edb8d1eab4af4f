// Asynchronous save: start() copies the state into host buffers and returns; a background thread writes this
// rank's shard; commit_if_written() (collective, called after every training step) commits the step as soon as
// every rank's shard is durable, and finish() (collective) waits for the shard and commits. The thread makes no MPI calls, so MPI needs no thread support. At most one
// save is in flight: start() finishes the previous one first.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sigma/contracts/tensor_state.hpp"

namespace sigma::ckpt {

class AsyncSaver {
 public:
  AsyncSaver(MPI_Comm comm, std::string dir);
  ~AsyncSaver();  // finishes a save in flight (collective: every rank destroys its saver at the same point)
  AsyncSaver(const AsyncSaver&) = delete;
  AsyncSaver& operator=(const AsyncSaver&) = delete;

  void start(int64_t step, const TrainingStateView& state);  // collective
  void finish();                                               // collective; no-op when nothing is in flight
  // Collective and cheap (one allreduce of a flag while a save is in flight): commits the save when every rank's
  // shard is written; true when it did.
  bool commit_if_written();
  // Not collective: waits for this rank's write and commits nothing (the step stays a temporary directory).
  void abandon() noexcept;
  bool in_flight() const;

 private:
  struct Pending;
  MPI_Comm comm_;
  std::string dir_;
  std::unique_ptr<Pending> pending_;
  std::vector<std::vector<float>> spare_buffers_;  // host buffers of the last finished save, reused
};

}  // namespace sigma::ckpt
