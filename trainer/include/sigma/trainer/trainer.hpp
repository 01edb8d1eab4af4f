// A training run on one communicator: weights, AdamW moments, data position, and one optimizer step at a
// time. The full state is exposed as a sigma::TrainingStateView for the checkpoint library: saving reads the
// slices, loading fills them and then calls restore_scalars().
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <mpi.h>
#include <nlohmann/json.hpp>

#include "sigma/contracts/tensor_state.hpp"
#include "sigma/trainer/batch_share.hpp"
#include "sigma/trainer/comm.hpp"
#include "sigma/trainer/config.hpp"
#include "sigma/trainer/guardrails/guardrails.hpp"
#include "sigma/trainer/model.hpp"
#include "sigma/trainer/params.hpp"
#include "sigma/trainer/token_file.hpp"

namespace sigma::trainer {

// What one step did, identical on every rank.
struct StepReport {
  int step = 0;  // 1-based number of the step just taken
  LossParts loss;
  double grad_norm = 0;
  float lr = 0;
  double seconds = 0;
  double tokens = 0;  // global tokens in the step
  double flops = 0;   // training flops of the work done: dropped expert assignments excluded
  double mfu = 0;     // flops / seconds / peak_gflops
  double peak_gflops = 0;   // measured sgemm peak summed over ranks
  std::string peak_source;  // where that peak was measured (size, threads, ranks)
  std::vector<std::vector<int64_t>> tokens_per_expert;  // [layer][expert], kept tokens, global
  int64_t dropped = 0;                                   // over all layers
  bool roll_back = false;  // a loss spike: no update was made; the loop rolls back (run_training)
  int64_t min_expert_tokens() const;
  int64_t max_expert_tokens() const;
};

class Trainer {
 public:
  // Validates the config against the world size and the data; throws sigma::Error before any compute.
  Trainer(const TrainConfig& config, MPI_Comm world, std::shared_ptr<const TokenData> data);

  // One optimizer step behind the guardrails (guardrails.hpp): a bad step is re-run and classified; a batch
  // skipped for a deterministic fault is replaced by the next one; a loss spike returns a report with
  // roll_back set and no update made. Throws sigma::Error(node_hardware or numerical) on every rank.
  StepReport step();

  // Global sequences consumed so far (the data position).
  uint64_t data_position() const { return data_position_; }
  // After the loop rolled back for a spike at `spike_step` whose batch started at `spike_position` (the state
  // was restored from a checkpoint, or not touched when `from_checkpoint` is false): skips the data up to and
  // including the spike's batch when spike_skip_data is set, and records the rollback.
  void resume_after_rollback(int spike_step, uint64_t spike_position, bool from_checkpoint);
  Guardrails& guardrails() { return guard_; }

  int completed_steps() const { return step_; }
  const TrainConfig& config() const { return config_; }
  const Comm& comm() const { return comm_; }
  const ParamLayout& layout() const { return layout_; }
  const Arena& weights() const { return weights_; }

  // Every parameter, then adam.m.<name>, then adam.v.<name>; pointers into this trainer (valid while it lives).
  TrainingStateView state();
  // The scalars part of state(): step, data_position, rng, config_hash, world_size, ep_size.
  nlohmann::json scalars() const;
  // After the tensors of state() have been filled from a checkpoint; throws sigma::Error(bad_data) when the
  // scalars are missing or belong to another run (config hash).
  void restore_scalars(const nlohmann::json& scalars);

  // Compares a hash of the weights across the ranks that should hold identical copies (dense: all ranks;
  // experts: ranks with the same ep_rank). A mismatch is silent data corruption: throws
  // sigma::Error(node_hardware) on every rank, naming the rank that differs from the majority. Collective.
  void check_replicas() const;

  // Training flops per token with no drops (MODEL.md, "MFU convention") and the summed per-rank sgemm peak in
  // GFLOP/s with where it was measured.
  double flops_per_token() const;
  double peak_gflops_all_ranks() const { return peak_gflops_total_; }
  const std::string& peak_source() const { return peak_source_; }

 private:
  Batch next_batch() const;
  void start_gradient_reduction(int bucket);
  double global_grad_norm();
  StepResult compute_gradients(const Batch& batch, double global_tokens);

  TrainConfig config_;
  Comm comm_;
  std::shared_ptr<const TokenData> data_;
  BatchShare share_;
  int local_sequences_;
  ParamLayout layout_;
  Arena weights_, grads_, adam_m_, adam_v_;
  Model model_;
  Guardrails guard_;
  std::vector<MPI_Request> pending_;
  int step_ = 0;
  uint64_t data_position_ = 0;  // global sequences consumed
  double peak_gflops_total_ = 0;
  std::string peak_source_;
};

}  // namespace sigma::trainer
