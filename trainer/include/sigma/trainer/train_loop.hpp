// The main loop around Trainer::step(): telemetry, the checkpoint hook every K steps and on a stop request,
// and the exit code. The checkpoint library plugs in through LoopHooks without changing the loop.
#pragma once

#include <functional>

#include "sigma/core/exit_codes.hpp"
#include "sigma/trainer/trainer.hpp"

namespace sigma::trainer {

enum class CheckpointReason { periodic, signal, final };

struct LoopHooks {
  // Called on every rank at the same step (collective). Save from trainer.state(). Empty: no checkpoints.
  std::function<void(Trainer&, CheckpointReason)> checkpoint;
  // Called on every rank after every taken step, before a periodic checkpoint (collective): commit a save that
  // has been written, take the in-memory copy.
  std::function<void(Trainer&)> after_step;
  // Called on every rank with each step's report (rank 0 prints and writes telemetry).
  std::function<void(const StepReport&)> on_step;
  // Called on every rank after a loss spike (collective): restore the newest good checkpoint into
  // trainer.state() and its scalars; false when there is none (then only the spike step's update is dropped).
  std::function<bool(Trainer&)> rollback;
};

// Trains until config.steps; returns ok, or requeue when a stop was requested (sigma/platform/stop_signal.hpp: SIGTERM,
// SIGUSR1) on any rank and the checkpoint hook saved the state after that step (transient when there was no hook
// to save it). Throws sigma::Error from the trainer.
ExitCode run_training(Trainer& trainer, const LoopHooks& hooks);

}  // namespace sigma::trainer
