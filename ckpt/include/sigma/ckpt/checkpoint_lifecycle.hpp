// The life of a training run's checkpoints, for any MPI program that trains: resume from the newest state that
// verifies (in-memory copies or a file checkpoint, whichever is newer), periodic saves in the background,
// committed as soon as every rank's shard is durable, in-memory copies every few steps (memory_copies.hpp), a
// save that waits for its commit (a stop request, the end of the run), retention after every commit, a
// roll-back to the newest good file checkpoint, and what happens to a save still in flight when the program
// stops. Every method except abandon() is collective over the communicator.
//
//   sigma::install_stop_signal_handlers();            // first thing in main, before MPI_Init
//   CheckpointLifecycle checkpoints(MPI_COMM_WORLD, {.dir = "ckpt", .keep_last = 3, .memory_every = 1});
//   checkpoints.resume(state);                        // nullopt: nothing saved yet, start fresh
//   for (step = ...; ; ++step) {
//     train_one_step();
//     if (checkpoints.save_if_stop_requested(step, state)) return 42;   // SIGTERM/SIGUSR1 on any rank
//     checkpoints.after_step(step, state);            // commits a finished save, takes the in-memory copy
//     if (step % every == 0) checkpoints.save_in_background(step, state);
//   }
//   checkpoints.save_and_commit(last_step, state);
//   checkpoints.release_memory_copies();
#pragma once

#include <mpi.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "sigma/ckpt/async_saver.hpp"
#include "sigma/ckpt/checkpoint.hpp"
#include "sigma/ckpt/memory_copies.hpp"
#include "sigma/core/error.hpp"
#include "sigma/contracts/tensor_state.hpp"

namespace sigma::ckpt {

// LoadResult::step_dir of a resume from the in-memory copies.
inline constexpr const char* kMemoryCopies = "in-memory copies";

struct LifecycleOptions {
  std::string dir;           // the checkpoint directory (created by the first save)
  int keep_last = 0;         // after each commit keep the newest K steps that verify (prune_steps); 0: keep all
  int64_t keep_every = 0;    // with keep_last: also keep every step divisible by M; 0: none
  std::string ledger_path;   // ckpt_rejected (a step rejected on load) and ckpt_save_failed events; empty: none
  int memory_every = 0;      // the shortest interval, in steps, between in-memory copies (memory_copies.hpp); 0: none
  // The interval widens while a copy costs more than this share of the training time between copies (0: fixed
  // at memory_every): every step for a small state, less often where copying competes with training.
  double memory_budget = 0.03;
  std::string memory_root = "/dev/shm";  // node-local memory for them
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

  // Fills state from the newest step that verifies and that accept takes: the in-memory copies when every
  // rank's copy of a step at least as new as the newest file checkpoint is found and verifies (step_dir is then
  // kMemoryCopies), else the file checkpoints, where a rejected step is reported (stderr, ledger) and the one
  // before it tried. nullopt when there is neither; sigma::Error(bad_data) when file steps exist but none
  // verifies. Then the copies of the state resumed from are taken again, on this step's nodes.
  std::optional<LoadResult> resume(TrainingStateView& state, const AcceptScalars& accept = {});

  // After every training step: commits the save in flight once every rank's shard is written (then retention),
  // and takes the in-memory copy of state when the interval has passed (then adapts the interval to the budget
  // from the slowest rank's copy and step times, so every rank keeps the same interval).
  void after_step(int64_t step, const TrainingStateView& state);

  // Removes this run's in-memory copies (the run ended, or stopped with its state saved to a file checkpoint).
  void release_memory_copies();

  // Commits the save in flight (then retention), copies state and writes it in the background; training may
  // change state as soon as this returns. The step is committed by the next call into this object.
  void save_in_background(int64_t step, const TrainingStateView& state);

  // Commits the save in flight, saves state as `step` and returns once that step is committed and retention
  // has run: a crash after this returns still resumes from `step`.
  void save_and_commit(int64_t step, const TrainingStateView& state);

  // Save-on-signal: when any rank has a stop request (platform/stop_signal.hpp), save_and_commit and return true on
  // every rank (the program then exits with ExitCode::requeue); false and nothing saved otherwise.
  bool save_if_stop_requested(int64_t step, const TrainingStateView& state);

  // After a fault such as a loss spike: commits the save in flight, drops the in-memory copies (they may hold
  // the states the roll-back leaves), then fills state from the newest file step that verifies (as resume
  // does). nullopt when there is no step to go back to.
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
  void commit_if_written();
  int64_t newest_file_step() const;
  void take_memory_copy(int64_t step, const TrainingStateView& state);
  void record_save_failure(int64_t step, const Error& e) const;
  LoadOptions load_options(const AcceptScalars& accept) const;

  MPI_Comm comm_;
  LifecycleOptions options_;
  AsyncSaver saver_;
  std::unique_ptr<MemoryCopies> memory_;  // null: no in-memory copies
  int64_t memory_interval_ = 1;           // steps between copies now
  int64_t last_copy_step_ = 0;
  double last_step_end_ = 0;              // steady-clock seconds at the end of the last after_step
  double step_seconds_ = 0;               // the last step's training time (without copy or commit)
  int64_t in_flight_step_ = 0;  // the step saver_ is writing, while in flight
  int uncaught_at_start_;
};

}  // namespace sigma::ckpt
