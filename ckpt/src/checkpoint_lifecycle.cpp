#include "sigma/ckpt/checkpoint_lifecycle.hpp"

#include <cstring>
#include <exception>
#include <filesystem>
#include <iostream>

#include <fmt/format.h>

#include "sigma/ckpt/catalog.hpp"
#include "sigma/core/cli.hpp"
#include "sigma/core/durable_file.hpp"
#include "sigma/core/error.hpp"
#include "sigma/core/ledger.hpp"
#include "sigma/core/stop_agreement.hpp"
#include "step_commit.hpp"

namespace sigma::ckpt {

CheckpointLifecycle::CheckpointLifecycle(MPI_Comm comm, LifecycleOptions options)
    : comm_(comm), options_(std::move(options)), saver_(comm, options_.dir),
      uncaught_at_start_(std::uncaught_exceptions()) {}

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

std::optional<LoadResult> CheckpointLifecycle::resume(TrainingStateView& state, const AcceptScalars& accept) {
  return load_newest_checkpoint(comm_, options_.dir, state, load_options(accept));
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
  if (rank != 0 || options_.ledger_path.empty()) return;
  try {
    Event event;
    event.component = "ckpt";
    event.event = "ckpt_save_failed";
    event.details = {{"step", step}, {"path", options_.dir + "/.tmp_" + step_dir_name(step)},
                     {"errno", e.sys_errno()}, {"error", e.sys_errno() != 0 ? std::strerror(e.sys_errno()) : ""},
                     {"exit_code", to_int(e.code())}, {"message", e.what()}};
    append_event(options_.ledger_path, event);
  } catch (const std::exception& ledger_error) {
    std::cerr << "sigma-ckpt: warning: ckpt_save_failed not recorded: " << printable(ledger_error.what()) << "\n";
  }
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
