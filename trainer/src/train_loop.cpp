#include "sigma/trainer/train_loop.hpp"

#include <fmt/format.h>

#include "sigma/platform/stop_agreement.hpp"

namespace sigma::trainer {
namespace {

// A loss spike: back to the newest good state, then on with the data the guardrails chose.
void roll_back(Trainer& trainer, const LoopHooks& hooks, int spike_step) {
  const uint64_t spike_position = trainer.data_position();
  const bool restored = hooks.rollback && hooks.rollback(trainer);
  trainer.resume_after_rollback(spike_step, spike_position, restored);
}

}  // namespace

ExitCode run_training(Trainer& trainer, const LoopHooks& hooks) {
  const int every = trainer.config().checkpoint_every;
  while (trainer.completed_steps() < trainer.config().steps) {
    StepReport report = trainer.step();
    if (report.roll_back) {
      roll_back(trainer, hooks, report.step);
      continue;
    }
    if (hooks.on_step) hooks.on_step(report);
    // Every rank stops at the same step: a signal may reach the ranks at different moments.
    if (stop_requested_anywhere(trainer.comm().world())) {
      if (!hooks.checkpoint) {
        if (trainer.comm().rank() == 0)
          fmt::print(stderr, "sigma-train: stop signal at step {}: no checkpoint hook, state NOT saved\n",
                     trainer.completed_steps());
        return ExitCode::transient;
      }
      hooks.checkpoint(trainer, CheckpointReason::signal);
      return ExitCode::requeue;
    }
    const int check = trainer.config().replica_check_every;
    if (check > 0 && trainer.completed_steps() % check == 0) trainer.check_replicas();
    if (hooks.after_step) hooks.after_step(trainer);
    if (hooks.checkpoint && every > 0 && trainer.completed_steps() % every == 0)
      hooks.checkpoint(trainer, CheckpointReason::periodic);
  }
  if (hooks.checkpoint) hooks.checkpoint(trainer, CheckpointReason::final);
  return ExitCode::ok;
}

}  // namespace sigma::trainer
