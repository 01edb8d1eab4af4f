// The life of a training run's checkpoints, for any MPI program that trains: resume from the newest step that
// verifies, periodic saves in the background, a save that waits for its commit (a stop request, the end of the
// run), retention after every commit, a roll-back to the newest good step, and what happens to a save still in
// flight when the program stops. Every method except abandon() is collective over the communicator.
//
//   sigma::install_stop_signal_handlers();            // first thing in main, before MPI_Init
//   CheckpointLifecycle checkpoints(MPI_COMM_WORLD, {.dir = "ckpt", .keep_last = 3});
//   checkpoints.resume(state);                        // nullopt: nothing saved yet, start fresh
//   for (step = ...; ; ++step) {
//     train_one_step();
//     if (checkpoints.save_if_stop_requested(step, state)) return 42;   // SIGTERM/SIGUSR1 on any rank
//     if (step % every == 0) checkpoints.save_in_background(step, state);
//   }
//   checkpoints.save_and_commit(last_step, state);
#pragma once

#include <mpi.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "sigma/ckpt/async_saver.hpp"
#include "sigma/ckpt/checkpoint.hpp"
#include "sigma/core/error.hpp"
#include "sigma/core/tensor_state.hpp"

namespace sigma::ckpt {

struct LifecycleOptions {
  std::string dir;           // the checkpoint directory (created by the first save)
  int keep_last = 0;         // after each commit keep the newest K steps that verify (prune_steps); 0: keep all
  int64_t keep_every = 0;    // with keep_last: also keep every step divisible by M; 0: none
  std::string ledger_path;   // ckpt_rejected (a step rejected on load) and ckpt_save_failed events; empty: none
};

// The program's own check of a step's scalars (its run, data position, step), called before the tensors are
// read; a sigma::Error from it makes the step broken, like a bad checksum.
using AcceptScalars = std::function<void(const nlohmann::json& scalars)>;

class CheckpointLifecycle {
 public:
  CheckpointLifecycle(MPI_Comm comm, LifecycleOptions options);
  // Normally commits a save in flight (collective; a failure is reported, not thrown). While an exception
  // unwinds, which may have reached only this rank, it abandons the save instead: it never waits for the others.
  ~CheckpointLifecycle();
  CheckpointLifecycle(const CheckpointLifecycle&) = delete;
  CheckpointLifecycle& operator=(const CheckpointLifecycle&) = delete;

  // Fills state from the newest step that verifies and that accept takes; a rejected step is reported (stderr,
  // ledger) and the one before it tried. nullopt when the directory holds no step; sigma::Error(bad_data) when
  // steps exist but none verifies.
  std::optional<LoadResult> resume(TrainingStateView& state, const AcceptScalars& accept = {});

  // Commits the save in flight (then retention), copies state and writes it in the background; training may
  // change state as soon as this returns. The step is committed by the next call into this object.
  void save_in_background(int64_t step, const TrainingStateView& state);

  // Commits the save in flight, saves state as `step` and returns once that step is committed and retention
  // has run: a crash after this returns still resumes from `step`.
  void save_and_commit(int64_t step, const TrainingStateView& state);

  // Save-on-signal: when any rank has a stop request (core/stop_signal.hpp), save_and_commit and return true on
  // every rank (the program then exits with ExitCode::requeue); false and nothing saved otherwise.
  bool save_if_stop_requested(int64_t step, const TrainingStateView& state);

  // After a fault such as a loss spike: commits the save in flight, then fills state from the newest step that
  // verifies (as resume does). nullopt when there is no step to go back to.
  std::optional<LoadResult> roll_back(TrainingStateView& state, const AcceptScalars& accept = {});

  // Commits the save in flight, if any, and runs retention. Throws sigma::Error (the same on every rank).
  void finish();
  // For a program about to exit with its own code after an error every rank shares: finish(), with a failure
  // reported on stderr instead of thrown.
  void finish_before_exit() noexcept;
  // Not collective: waits for this rank's background write and drops the step uncommitted. latest keeps naming
  // the step before; the temporary directory is removed by the next save of that step or by retention.
  void abandon() noexcept;

  bool save_in_flight() const { return saver_.in_flight(); }
  const LifecycleOptions& options() const { return options_; }

 private:
  void apply_retention();
  void record_save_failure(int64_t step, const Error& e) const;
  LoadOptions load_options(const AcceptScalars& accept) const;

  MPI_Comm comm_;
  LifecycleOptions options_;
  AsyncSaver saver_;
  int64_t in_flight_step_ = 0;  // the step saver_ is writing, while in flight
  int uncaught_at_start_;
};

}  // namespace sigma::ckpt
