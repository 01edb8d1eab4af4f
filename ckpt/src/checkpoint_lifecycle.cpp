#include "sigma/contracts/node_name.hpp"
#include "sigma/ckpt/checkpoint_lifecycle.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <exception>
#include <filesystem>
#include <iostream>

#include <fmt/format.h>

#include "sigma/ckpt/catalog.hpp"
#include "sigma/core/cli.hpp"
#include "sigma/core/durable_file.hpp"
#include "sigma/core/error.hpp"
#include "sigma/contracts/ledger.hpp"
#include "sigma/platform/stop_agreement.hpp"
#include "step_commit.hpp"

namespace sigma::ckpt {

CheckpointLifecycle::CheckpointLifecycle(MPI_Comm comm, LifecycleOptions options)
    : comm_(comm), options_(std::move(options)), saver_(comm, options_.dir),
      uncaught_at_start_(std::uncaught_exceptions()) {
  memory_interval_ = std::max(1, options_.memory_every);
  if (options_.memory_every > 0 && !options_.memory_root.empty()) {
    memory_ = std::make_unique<MemoryCopies>(
        comm_, MemoryCopyOptions{options_.memory_root, memory_run_key(options_.dir), this_node_name()});
  }
}

CheckpointLifecycle::~CheckpointLifecycle() {
  if (std::uncaught_exceptions() > uncaught_at_start_) {
    abandon();  // the other ranks may never come to a collective commit
    return;
  }
  finish_before_exit();
}

LoadOptions CheckpointLifecycle::load_options(const AcceptScalars& accept) const {
  LoadOptions options;
  options.ledger_path = options_.ledger_path;
  options.accept_scalars = accept;
  return options;
}

// The newest committed step in the directory (-1: none), as rank 0 lists it.
int64_t CheckpointLifecycle::newest_file_step() const {
  int rank = 0;
  MPI_Comm_rank(comm_, &rank);
  int64_t newest = -1;
  if (rank == 0) {
    for (const StepEntry& e : list_steps(options_.dir)) newest = std::max(newest, e.step);
  }
  MPI_Bcast(&newest, 1, MPI_INT64_T, 0, comm_);
  return newest;
}

std::optional<LoadResult> CheckpointLifecycle::resume(TrainingStateView& state, const AcceptScalars& accept) {
  std::optional<LoadResult> loaded;
  if (memory_ && memory_->enabled()) {
    if (const auto copy = memory_->restore(state, std::max<int64_t>(0, newest_file_step()), accept)) {
      loaded = LoadResult{copy->step, kMemoryCopies, copy->scalars};
      int rank = 0, world = 0;
      MPI_Comm_rank(comm_, &rank);
      MPI_Comm_size(comm_, &world);
      if (rank == 0 && copy->world != world) {
        std::cerr << "sigma-ckpt: in-memory copies of " << copy->world << " ranks taken up by " << world
                  << " ranks (the same layout's replicas)\n";
      }
    }
  }
  if (!loaded) loaded = load_newest_checkpoint(comm_, options_.dir, state, load_options(accept));
  if (memory_) {
    memory_->drop();  // the copies of the last attempt's placement; this one's are taken now
    memory_interval_ = std::max(1, options_.memory_every);
    if (loaded) memory_->take(loaded->step, state);
    last_copy_step_ = loaded ? loaded->step : 0;
  }
  return loaded;
}

namespace {

double steady_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

void CheckpointLifecycle::after_step(int64_t step, const TrainingStateView& state) {
  const double start = steady_seconds();
  if (last_step_end_ > 0) step_seconds_ = start - last_step_end_;
  commit_if_written();
  if (memory_ && memory_->enabled() && step - last_copy_step_ >= memory_interval_) take_memory_copy(step, state);
  last_step_end_ = steady_seconds();
}

void CheckpointLifecycle::take_memory_copy(int64_t step, const TrainingStateView& state) {
  const double start = steady_seconds();
  memory_->take(step, state);
  last_copy_step_ = step;
  if (options_.memory_budget <= 0 || step_seconds_ <= 0) return;
  double mine[2] = {steady_seconds() - start, -step_seconds_}, slowest[2];  // max of the copy, min of the step
  MPI_Allreduce(mine, slowest, 2, MPI_DOUBLE, MPI_MAX, comm_);
  const double wanted = slowest[0] / (options_.memory_budget * -slowest[1]);
  memory_interval_ = std::clamp<int64_t>(static_cast<int64_t>(std::ceil(wanted)), options_.memory_every, 100000);
}

void CheckpointLifecycle::release_memory_copies() {
  if (memory_) memory_->drop();
}

void CheckpointLifecycle::commit_if_written() {
  try {
    if (!saver_.commit_if_written()) return;
  } catch (const Error& e) {
    record_save_failure(in_flight_step_, e);
    throw;
  }
  apply_retention();
}

void CheckpointLifecycle::save_in_background(int64_t step, const TrainingStateView& state) {
  finish();  // retention must not run while a save is in flight: it clears unfinished temporary steps
  try {
    saver_.start(step, state);
  } catch (const Error& e) {
    record_save_failure(step, e);
    throw;
  }
  in_flight_step_ = step;
}

void CheckpointLifecycle::save_and_commit(int64_t step, const TrainingStateView& state) {
  save_in_background(step, state);
  finish();
}

bool CheckpointLifecycle::save_if_stop_requested(int64_t step, const TrainingStateView& state) {
  if (!stop_requested_anywhere(comm_)) return false;
  save_and_commit(step, state);
  return true;
}

std::optional<LoadResult> CheckpointLifecycle::roll_back(TrainingStateView& state, const AcceptScalars& accept) {
  finish();  // the step in flight was saved before the fault: it is the newest good state
  if (memory_) memory_->drop();  // newer than the file steps: the states the roll-back leaves behind
  return resume(state, accept);
}

void CheckpointLifecycle::finish() {
  if (!saver_.in_flight()) return;
  try {
    saver_.finish();
  } catch (const Error& e) {
    record_save_failure(in_flight_step_, e);
    throw;
  }
  apply_retention();
}

// Every rank holds the same failure (the save's stages agree on it); rank 0 records it once. The ledger may lie on
// the filesystem that is full: then the event is lost with a warning, and the failure itself still stops the run.
void CheckpointLifecycle::record_save_failure(int64_t step, const Error& e) const {
  int rank = 0;
  MPI_Comm_rank(comm_, &rank);
  if (rank != 0) return;
  LedgerWriter(options_.ledger_path, Component::ckpt, "sigma-ckpt")
      .record(LedgerEvent::ckpt_save_failed,
              {{"step", step}, {"path", options_.dir + "/.tmp_" + step_dir_name(step)}, {"errno", e.sys_errno()},
               {"error", e.sys_errno() != 0 ? std::strerror(e.sys_errno()) : ""}, {"exit_code", to_int(e.code())},
               {"message", e.what()}});
}

void CheckpointLifecycle::finish_before_exit() noexcept {
  try {
    finish();
  } catch (const std::exception& e) {
    std::cerr << "sigma-ckpt: the save in flight was not committed: " << printable(e.what()) << "\n";
  }
}

void CheckpointLifecycle::abandon() noexcept { saver_.abandon(); }

// On rank 0 while no save is in flight; the other ranks wait for its verdict, so the next save's temporary step
// is not created while retention may still clear temporary steps, and a failure stops every rank alike.
void CheckpointLifecycle::apply_retention() {
  if (options_.keep_last == 0) return;
  int rank = 0;
  MPI_Comm_rank(comm_, &rank);
  StageFailure failure;
  if (rank == 0) {
    try {
      prune_steps(options_.dir, options_.keep_last, options_.keep_every);
    } catch (const std::exception& e) {  // filesystem_error and sigma::Error keep their errno's code
      failure = StageFailure::from(e);
      failure.message = fmt::format("{}: retention failed: {}", options_.dir, e.what());
    }
  }
  agree_or_throw(comm_, failure);
}

}  // namespace sigma::ckpt
