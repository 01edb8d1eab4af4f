// The trainer's guardrails, checked in every step before the update (trainer/README.md, "Guardrails"):
// non-finite loss or gradients and the reduced gradient norm compared bitwise across replicas (one small
// all-reduce); a bad step is re-run and classified (rerun_classifier.hpp); a loss spike (median/MAD window)
// asks the loop to roll back; after the update the straggler monitor sees each rank's compute time.
// Decisions are collective and recorded through GuardLog; faults end the run with sigma::Error(node_hardware)
// or sigma::Error(numerical) on every rank.
#pragma once

#include <functional>
#include <memory>

#include "sigma/trainer/comm.hpp"
#include "sigma/trainer/config.hpp"
#include "sigma/trainer/guardrails/fault_injector.hpp"
#include "sigma/trainer/guardrails/guard_log.hpp"
#include "sigma/trainer/guardrails/rerun_classifier.hpp"
#include "sigma/trainer/guardrails/spike_detector.hpp"
#include "sigma/trainer/guardrails/straggler_monitor.hpp"
#include "sigma/trainer/model.hpp"

namespace sigma::trainer {

// One attempt at a step, before the update.
struct StepResult {
  LossParts local, global;
  double grad_norm = 0;
};

enum class StepVerdict { take, skip_batch, roll_back };

class Guardrails {
 public:
  Guardrails(const TrainConfig& config, const Comm& comm, size_t dense_size);

  FaultInjector& faults() { return faults_; }
  const GuardLog& log() const { return log_; }

  // Collective. `step` is the 1-based step being computed; `rerun` computes it again from the same inputs.
  StepVerdict check(int step, const StepResult& result, const std::function<StepResult()>& rerun);
  // After the update of `step`: the loss joins the spike window; the step's times go to the straggler monitor.
  // `work_scale`: the largest share of the global batch over this rank's (1 for an even split), so that a rank
  // with one sequence fewer is not taken for a fast one, nor its peers for stragglers.
  void step_taken(int step, double loss, double step_seconds, double mpi_seconds, double work_scale = 1);
  // After the loop rolled back to `to_step` (restored from a checkpoint or, without one, only the update of
  // the spike step discarded); `data_from`/`data_to` is the window of global sequences skipped (equal: none).
  void rolled_back(int spike_step, int to_step, bool from_checkpoint, uint64_t data_from, uint64_t data_to);

 private:
  StepSymptom observe(const StepResult& result, bool gather) const;
  StepVerdict on_bad_step(int step, const StepResult& first, const StepSymptom& symptom,
                          const std::function<StepResult()>& rerun);
  StepVerdict on_spike(int step, double loss, const SpikeVerdict& spike);
  std::string who(int rank) const;

  const GuardConfig& config_;
  const Comm& comm_;
  GuardLog log_;
  FaultInjector faults_;
  SpikeDetector spikes_;
  StragglerMonitor stragglers_;
  int skipped_ = 0, rollbacks_ = 0;
};

}  // namespace sigma::trainer
