#include "sigma/trainer/trainer.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

#include <fmt/format.h>

#include "sigma/core/error.hpp"
#include "sigma/trainer/guardrails/mpi_wait_clock.hpp"
#include "sigma/trainer/optimizer.hpp"
#include "sigma/trainer/parallel.hpp"
#include "sigma/trainer/peak.hpp"

namespace sigma::trainer {
namespace {

// This rank's share of the global batch: [first, first + count) of its sequences. The shares differ by at most
// one sequence when the world size does not divide global_batch (a job shrunk onto fewer nodes): the loss and
// the gradients are normalized by the global batch's tokens, so the step is the same whatever the split.
BatchShare checked_share(const TrainConfig& c, MPI_Comm world) {
  int size = 1, rank = 0;
  MPI_Comm_size(world, &size);
  MPI_Comm_rank(world, &rank);
  const BatchShare share = batch_share(c.global_batch, rank, size);
  if (share.count < 1)
    throw Error(ExitCode::config,
                fmt::format("config: global_batch={} is smaller than the world size {}", c.global_batch, size));
  return share;
}

const TrainConfig& validated(const TrainConfig& c) {
  validate_config(c);
  set_compute_threads(c.threads);
  return c;
}

}  // namespace

int64_t StepReport::min_expert_tokens() const {
  int64_t v = INT64_MAX;
  for (const auto& layer : tokens_per_expert)
    for (auto c : layer) v = std::min(v, c);
  return tokens_per_expert.empty() ? 0 : v;
}

int64_t StepReport::max_expert_tokens() const {
  int64_t v = 0;
  for (const auto& layer : tokens_per_expert)
    for (auto c : layer) v = std::max(v, c);
  return v;
}

Trainer::Trainer(const TrainConfig& config, MPI_Comm world, std::shared_ptr<const TokenData> data)
    : config_(validated(config)),
      comm_(world, config.ep_size),
      data_(std::move(data)),
      share_(checked_share(config, world)),
      local_sequences_(share_.count),
      layout_(config.model, config.model.n_experts / config.ep_size,
              comm_.ep_rank() * (config.model.n_experts / config.ep_size)),
      weights_(layout_),
      grads_(layout_),
      adam_m_(layout_),
      adam_v_(layout_),
      model_(config_.model, layout_, comm_, local_sequences_),
      guard_(config_, comm_, layout_.dense_size) {
  check_token_data(*data_, config_.data, config_.model.vocab_size, config_.model.seq_len);
  init_params(layout_, config_.model, config_.seed, weights_);
  double peak = config_.peak_gflops;
  peak_source_ = "peak_gflops from the config";
  if (peak <= 0) {
    MPI_Barrier(comm_.world());  // all ranks measure at once: each sees the cores it will train on
    PeakRate rate = measure_peak(step_gemm_shapes(config_.model, local_sequences_ * config_.model.seq_len), 0.05);
    peak = rate.gflops;
    peak_source_ = rate.source();
  }
  MPI_Allreduce(&peak, &peak_gflops_total_, 1, MPI_DOUBLE, MPI_SUM, comm_.world());
  peak_source_ += fmt::format(", summed over {} rank{}", comm_.size(), comm_.size() == 1 ? "" : "s");
}

Batch Trainer::next_batch() const {
  const int T = config_.model.seq_len;
  Batch batch;
  batch.inputs.resize(static_cast<size_t>(local_sequences_) * T);
  batch.targets.resize(batch.inputs.size());
  for (int i = 0; i < local_sequences_; ++i) {
    uint64_t sequence = data_position_ + static_cast<uint64_t>(share_.first) + i;
    uint64_t start = sequence_start(config_.seed, sequence, data_->tokens.size(), T);
    for (int t = 0; t < T; ++t) {
      batch.inputs[static_cast<size_t>(i) * T + t] = data_->tokens[start + t];
      batch.targets[static_cast<size_t>(i) * T + t] = data_->tokens[start + t + 1];
    }
  }
  return batch;
}

void Trainer::start_gradient_reduction(int bucket) {
  // Dense gradients: sum over all ranks. Expert gradients: sum over the ranks holding the same experts (the
  // tokens of the whole EP group already reached them through the all-to-all).
  const int L = config_.model.n_layers;
  size_t dense_begin, dense_end;
  if (bucket == L) {
    dense_begin = layout_.dense_layer_begin[static_cast<size_t>(L)];
    dense_end = layout_.dense_size;
  } else if (bucket < 0) {
    dense_begin = 0;
    dense_end = layout_.dense_layer_begin[0];
  } else {
    dense_begin = layout_.dense_layer_begin[static_cast<size_t>(bucket)];
    dense_end = layout_.dense_layer_begin[static_cast<size_t>(bucket) + 1];
  }
  if (comm_.size() > 1) {
    pending_.emplace_back();
    MPI_Iallreduce(MPI_IN_PLACE, grads_.dense.data() + dense_begin, static_cast<int>(dense_end - dense_begin),
                   MPI_FLOAT, MPI_SUM, comm_.world(), &pending_.back());
  }
  if (bucket >= 0 && bucket < L && comm_.expert_replicas() > 1) {
    size_t begin = layout_.expert_layer_begin[static_cast<size_t>(bucket)];
    size_t end = layout_.expert_layer_begin[static_cast<size_t>(bucket) + 1];
    pending_.emplace_back();
    MPI_Iallreduce(MPI_IN_PLACE, grads_.expert.data() + begin, static_cast<int>(end - begin), MPI_FLOAT, MPI_SUM,
                   comm_.expert_dp(), &pending_.back());
  }
}

double Trainer::global_grad_norm() {
  // Dense gradients are identical on every rank; each rank of an EP group holds different experts.
  double dense = sum_of_squares(grads_.dense.data(), grads_.dense.size());
  double expert = sum_of_squares(grads_.expert.data(), grads_.expert.size());
  double expert_total = 0;
  MPI_Allreduce(&expert, &expert_total, 1, MPI_DOUBLE, MPI_SUM, comm_.ep());
  return std::sqrt(dense + expert_total);
}

StepResult Trainer::compute_gradients(const Batch& batch, double global_tokens) {
  auto& faults = guard_.faults();
  faults.begin_attempt(step_ + 1, data_position_, weights_);
  pending_.clear();
  pending_.reserve(static_cast<size_t>(2 * config_.model.n_layers + 4));
  const auto start = std::chrono::steady_clock::now();
  StepResult result;
  result.local = model_.forward_backward(weights_, grads_, batch, global_tokens,
                                         [this](int bucket) { start_gradient_reduction(bucket); });
  faults.after_local_compute(step_ + 1, weights_, result.local,
                             std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  double parts[3] = {result.local.ce, result.local.aux, result.local.z}, sums[3];
  MPI_Allreduce(parts, sums, 3, MPI_DOUBLE, MPI_SUM, comm_.world());
  MPI_Waitall(static_cast<int>(pending_.size()), pending_.data(), MPI_STATUSES_IGNORE);
  faults.after_reduction(step_ + 1, grads_);
  result.global = {sums[0], sums[1], sums[2]};
  result.grad_norm = global_grad_norm();
  return result;
}

StepReport Trainer::step() {
  const auto start = std::chrono::steady_clock::now();
  const double mpi_start = mpi_wait_seconds();
  const double global_tokens = static_cast<double>(config_.global_batch) * config_.model.seq_len;
  StepResult result;
  while (true) {
    const Batch batch = next_batch();
    result = compute_gradients(batch, global_tokens);
    const StepVerdict verdict =
        guard_.check(step_ + 1, result, [&] { return compute_gradients(batch, global_tokens); });
    if (verdict == StepVerdict::take) break;
    if (verdict == StepVerdict::roll_back) {
      StepReport spike;
      spike.step = step_ + 1;
      spike.roll_back = true;
      return spike;
    }
    data_position_ += static_cast<uint64_t>(config_.global_batch);  // skip_batch: the next batch instead
  }

  StepReport report;
  report.grad_norm = result.grad_norm;
  float clip = 1.0f;
  if (config_.optim.grad_clip > 0 && report.grad_norm > config_.optim.grad_clip)
    clip = static_cast<float>(config_.optim.grad_clip / report.grad_norm);
  report.lr = learning_rate(config_.optim, step_, config_.steps);
  adamw_update(layout_, config_.optim, report.lr, step_ + 1, clip, weights_, grads_, adam_m_, adam_v_);
  ++step_;
  data_position_ += static_cast<uint64_t>(config_.global_batch);

  report.step = step_;
  report.loss = result.global;
  report.tokens = global_tokens;
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  int64_t kept = 0;
  for (int l = 0; l < config_.model.n_layers; ++l) {
    report.tokens_per_expert.push_back(model_.moe(l).stats().kept);
    report.dropped += model_.moe(l).stats().dropped;
    for (int64_t c : model_.moe(l).stats().kept) kept += c;
  }
  report.flops = flops_done(config_.model, global_tokens, kept);
  report.peak_gflops = peak_gflops_total_;
  report.peak_source = peak_source_;
  report.mfu = report.flops / report.seconds / (peak_gflops_total_ * 1e9);
  const double work_scale = static_cast<double>(largest_share(config_.global_batch, comm_.size())) / share_.count;
  guard_.step_taken(step_, report.loss.total(), report.seconds, mpi_wait_seconds() - mpi_start, work_scale);
  return report;
}

void Trainer::resume_after_rollback(int spike_step, uint64_t spike_position, bool from_checkpoint) {
  const uint64_t from = data_position_;
  if (config_.guard.spike_skip_data) data_position_ = spike_position + static_cast<uint64_t>(config_.global_batch);
  guard_.rolled_back(spike_step, step_, from_checkpoint, from, std::max(from, data_position_));
}

double Trainer::flops_per_token() const {
  const auto& m = config_.model;
  double flops = dense_flops_per_token(m);
  for (int l = 0; l < m.n_layers; ++l) flops += m.top_k_of(l) * expert_flops_per_assignment(m);
  return flops;
}

TrainingStateView Trainer::state() {
  TrainingStateView view;
  auto add = [&](const std::string& prefix, Arena& arena) {
    for (const auto& p : layout_.params) {
      TensorSlice s;
      s.name = prefix + p.name;
      s.global_shape = p.global_shape;
      s.local_shape = p.local_shape;
      s.offset0 = p.offset0;
      s.data = arena.at(p);
      s.replica_index = p.expert ? comm_.expert_replica() : comm_.rank();
      s.replica_count = p.expert ? comm_.expert_replicas() : comm_.size();
      view.tensors.push_back(std::move(s));
    }
  };
  add("", weights_);
  add("adam.m.", adam_m_);
  add("adam.v.", adam_v_);
  view.scalars = scalars();
  return view;
}

nlohmann::json Trainer::scalars() const {
  return {
      {"format", "sigma-train-state/1"},
      {"step", step_},
      {"data_position", data_position_},
      {"rng", {{"seed", config_.seed}, {"data_order", "splitmix64(seed, sequence)"}, {"init", "splitmix64 box-muller"}}},
      {"config_hash", config_hash(config_)},
      {"world_size", comm_.size()},
      {"ep_size", comm_.ep_size()},
  };
}

void Trainer::restore_scalars(const nlohmann::json& s) {
  auto need = [&](const char* key) -> const nlohmann::json& {
    if (!s.contains(key)) throw Error(ExitCode::bad_data, fmt::format("checkpoint scalars: missing '{}'", key));
    return s.at(key);
  };
  const auto& hash = need("config_hash");
  if (!hash.is_string() || hash.get<std::string>() != config_hash(config_))
    throw Error(ExitCode::bad_data, fmt::format("checkpoint scalars: config_hash {} does not match this run's {} "
                                                "(model, optimizer, batch or seed changed)",
                                                hash.dump(), config_hash(config_)));
  const auto& step = need("step");
  const auto& position = need("data_position");
  if (!step.is_number_unsigned() || !position.is_number_unsigned() || step.get<uint64_t>() > INT32_MAX)
    throw Error(ExitCode::bad_data, fmt::format("checkpoint scalars: step {} and data_position {}: expected integers "
                                                "0..{} and >= 0", step.dump(), position.dump(), INT32_MAX));
  // Every step consumes one global batch and the guardrails only ever skip whole batches forward (a skipped
  // batch, a spike's data window), so the position is a whole number of batches, at least one per step.
  const uint64_t batch = static_cast<uint64_t>(config_.global_batch);
  const uint64_t least = step.get<uint64_t>() * batch;
  if (position.get<uint64_t>() < least || position.get<uint64_t>() % batch != 0)
    throw Error(ExitCode::bad_data, fmt::format("checkpoint scalars: data_position {}: expected a multiple of "
                                                "global_batch {} and at least step {} x global_batch = {}",
                                                position.dump(), config_.global_batch, step.dump(), least));
  step_ = step.get<int>();
  data_position_ = position.get<uint64_t>();
}

}  // namespace sigma::trainer
