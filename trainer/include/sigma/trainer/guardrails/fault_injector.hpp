// Fault injection from the run config (FaultConfig), so a test can prove each guardrail catches its fault.
// Each fault acts at a fixed point of a step on one rank:
//   begin_attempt       crash (SIGKILL) or hang; a parameter bit flip starts (the rank reads a flipped weight)
//   after_local_compute the parameter flip is undone (a read-path fault, not stored corruption); NaN in the
//                       last rank's loss; a slow rank sleeps (factor - 1) x its compute time
//   after_reduction     a bit flips in this rank's reduced dense gradient (its replicas keep the right one)
//   loss_seen           the loss the spike detector sees, multiplied once at the spike step
// A fault at step s hits the first batch computed for s (a batch skipped for it is replaced by a clean one).
// With repeat = false the bit flip and the NaN hit only the first attempt (a re-run is clean: transient, and a
// replay after a rollback is clean too); with repeat = true every attempt at that batch (deterministic).
#pragma once

#include "sigma/trainer/guard_config.hpp"
#include "sigma/trainer/guardrails/guard_log.hpp"
#include "sigma/trainer/model.hpp"
#include "sigma/trainer/params.hpp"

namespace sigma::trainer {

class FaultInjector {
 public:
  // Throws sigma::Error(config) when a fault names a rank or element outside the run.
  FaultInjector(const FaultConfig& config, const Comm& comm, size_t dense_size, GuardLog& log);

  // `batch` is the data position of the batch being computed.
  void begin_attempt(int step, uint64_t batch, Arena& weights);
  void after_local_compute(int step, Arena& weights, LossParts& local, double compute_seconds);
  void after_reduction(int step, Arena& grads);
  double loss_seen(int step, double loss);

 private:
  bool hits(int rank) const { return rank_ == rank && on_faulty_node_; }
  bool fires(int target_step, int step, bool& once_done);
  void flip(float& value, const char* where, int step);

  FaultConfig config_;
  int rank_, last_rank_;
  bool on_faulty_node_;  // FaultConfig::node is empty or names this rank's node
  GuardLog& log_;
  int attempt_step_ = 0, attempt_ = 0;  // attempts at the current step and batch (a re-run is the second)
  uint64_t attempt_batch_ = 0, first_batch_ = 0;  // the batch of this attempt; the first batch of its step
  bool param_flipped_ = false, spike_done_ = false, bitflip_done_ = false, nan_done_ = false;
};

}  // namespace sigma::trainer
