#include "sigma/trainer/memory_footprint.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "sigma/core/error.hpp"
#include "sigma/trainer/batch_share.hpp"
#include "sigma/trainer/params.hpp"
#include "sigma/trainer/peak.hpp"

namespace sigma::trainer {
namespace {

constexpr uint64_t kFloat = sizeof(float);

// Address space a rank reserves after the check without using it (OpenBLAS's buffers on the first sgemm, sigma's
// sgemm's packing buffers of 1.5 MiB a thread, thread stacks, malloc arenas), below this bound on a 1-4
// thread rank (the measured range: trainer/README.md, "Memory check"). RLIMIT_AS and RLIMIT_DATA count it;
// MemAvailable and the cgroup, which count pages in use, do not.
constexpr uint64_t kReservedAddressSpace = 256ull << 20;

// Rows this rank sends to the experts (S) and receives for its own experts (R) in one layer (moe.cpp).
struct ExpertRows {
  uint64_t send = 0, receive = 0;
};

ExpertRows expert_rows(const ModelConfig& m, uint64_t tokens, int k, int ep_size) {
  const uint64_t assignments = tokens * static_cast<uint64_t>(k);
  if (m.capacity_factor <= 0) return {assignments, assignments};  // balanced: E/P experts get P*N*k*(1/P) rows
  // Capacity per (source rank, expert), as MoeLayer::apply_capacity computes it.
  const auto capacity = static_cast<uint64_t>(std::ceil(m.capacity_factor * static_cast<double>(assignments) /
                                                        m.n_experts));
  const uint64_t experts_local = static_cast<uint64_t>(m.n_experts / ep_size), P = static_cast<uint64_t>(ep_size);
  const uint64_t most_per_source = tokens * std::min<uint64_t>(static_cast<uint64_t>(k), experts_local);
  return {std::min(assignments, capacity * static_cast<uint64_t>(m.n_experts)),
          P * std::min(capacity * experts_local, most_per_source)};
}

// MoeLayer's buffers for one layer, in bytes.
uint64_t moe_layer_bytes(const ModelConfig& m, uint64_t N, int k, int ep_size) {
  const uint64_t E = static_cast<uint64_t>(m.n_experts), D = static_cast<uint64_t>(m.d_model),
                 F = static_cast<uint64_t>(m.d_ff), A = N * static_cast<uint64_t>(k);
  const ExpertRows rows = expert_rows(m, N, k, ep_size);
  const bool exchanged = ep_size > 1;  // rows travel: receive, regroup and return buffers exist
  uint64_t values = 3 * N * E + 2 * N + 4 * A;                       // logits, probs, dprobs; lse, sums; slots
  values += (exchanged ? 4 : 2) * rows.send * D;                     // send_, scratch_send_ (+ returned, back)
  values += 6 * rows.receive * F;                                    // gate, up, act and their gradients
  values += (exchanged ? 5 : 2) * rows.receive * D + rows.receive;  // expert out, dx rows (+ in, order, dy)
  return values * kFloat;
}

// Model's buffers (model.cpp) and the batch, in bytes.
uint64_t dense_activation_bytes(const TrainConfig& c, uint64_t B) {
  const ModelConfig& m = c.model;
  const uint64_t T = static_cast<uint64_t>(m.seq_len), N = B * T, D = static_cast<uint64_t>(m.d_model),
                 H = static_cast<uint64_t>(m.n_heads), V = static_cast<uint64_t>(m.vocab_size),
                 L = static_cast<uint64_t>(m.n_layers);
  const uint64_t per_layer = 8 * N * D + 2 * N + B * H * T * T;    // h1 q k v att x2 h2 out; rstd; probs
  const uint64_t rest = (L + 1) * N * D + N * D + N + 2 * N * V   // residuals, final norm, logits, dlogits
                        + 5 * N * D + static_cast<uint64_t>(c.threads) * T * T  // backward scratch
                        + 2 * N;                                                // batch inputs and targets
  return (L * per_layer + rest) * kFloat;
}

uint64_t largest_peak_gemm_bytes(const ModelConfig& m, int tokens) {
  uint64_t most = 0;
  for (const GemmShape& s : step_gemm_shapes(m, tokens)) {
    const uint64_t M = static_cast<uint64_t>(s.m), N = static_cast<uint64_t>(s.n), K = static_cast<uint64_t>(s.k);
    most = std::max(most, (M * K + K * N + M * N) * kFloat);
  }
  return most;
}

}  // namespace

uint64_t MemoryFootprint::total() const {
  return model_state + checkpoint_copy + memory_copies + activations + expert_buffers + peak_measurement;
}

std::string MemoryFootprint::breakdown() const {
  return fmt::format("model state {}, activations {}, expert buffers {}, checkpoint copy {}, in-memory copies {}, "
                     "peak measurement {}",
                     format_bytes(model_state), format_bytes(activations), format_bytes(expert_buffers),
                     format_bytes(checkpoint_copy), format_bytes(memory_copies), format_bytes(peak_measurement));
}

MemoryFootprint estimate_memory_footprint(const TrainConfig& config, int world_size, bool checkpoints) {
  const ModelConfig& m = config.model;
  const int experts_local = m.n_experts / config.ep_size;
  const ParamLayout layout(m, experts_local, 0);
  const uint64_t parameters = layout.dense_size + layout.expert_size;
  const uint64_t B = static_cast<uint64_t>(largest_share(config.global_batch, world_size));
  const uint64_t N = B * static_cast<uint64_t>(m.seq_len);
  MemoryFootprint f;
  f.model_state = 4 * parameters * kFloat;
  f.checkpoint_copy = checkpoints ? parameters * 3 * kFloat : 0;
  f.memory_copies = checkpoints && config.memory_copy_every > 0 ? 6 * parameters * 3 * kFloat : 0;
  f.activations = dense_activation_bytes(config, B);
  for (int l = 0; l < m.n_layers; ++l) f.expert_buffers += moe_layer_bytes(m, N, m.top_k_of(l), config.ep_size);
  if (config.peak_gflops <= 0) f.peak_measurement = largest_peak_gemm_bytes(m, static_cast<int>(N));
  return f;
}

void check_memory_fits(const MemoryFootprint& footprint, int ranks_on_node, const std::vector<MemoryHeadroom>& limits) {
  for (const MemoryHeadroom& limit : limits) {
    const uint64_t ranks = limit.per_process ? 1 : static_cast<uint64_t>(ranks_on_node);
    const uint64_t per_rank = footprint.total() + (limit.per_process ? kReservedAddressSpace : 0);
    if (per_rank * ranks <= limit.bytes) continue;
    const std::string need =
        ranks == 1 ? format_bytes(per_rank)
                   : fmt::format("{} ({} ranks on this node x {})", format_bytes(per_rank * ranks), ranks,
                                 format_bytes(per_rank));
    throw Error(ExitCode::config,
                fmt::format("the model does not fit in memory: it needs {} ({}{}), {} has {} left; make the model, "
                            "global_batch or seq_len smaller, or use more ranks",
                            need, footprint.breakdown(), limit.per_process ? ", reserved address space " + format_bytes(kReservedAddressSpace) : "",
                            limit.source, format_bytes(limit.bytes)));
  }
}

}  // namespace sigma::trainer
