#include "sigma/trainer/guardrails/fault_injector.hpp"

#include <unistd.h>

#include <cmath>
#include <csignal>
#include <cstring>
#include <thread>

#include <fmt/format.h>

#include "sigma/core/error.hpp"

namespace sigma::trainer {
namespace {

void check_rank(const char* key, int rank, int world_size) {
  if (rank >= world_size)
    throw Error(ExitCode::config, fmt::format("config: {}={} is not a rank of this run (world size {})", key, rank,
                                              world_size));
}

void flip_bit(float& value, int bit) {
  uint32_t bits = 0;
  std::memcpy(&bits, &value, sizeof bits);
  bits ^= 1u << bit;
  std::memcpy(&value, &bits, sizeof bits);
}

}  // namespace

FaultInjector::FaultInjector(const FaultConfig& config, const Comm& comm, size_t dense_size, GuardLog& log)
    : config_(config),
      rank_(comm.rank()),
      last_rank_(comm.size() - 1),
      on_faulty_node_(config.node.empty() || log.node_of(comm.rank()) == config.node),
      log_(log) {
  check_rank("inject_bitflip_rank", config.bitflip_rank, comm.size());
  check_rank("inject_slow_rank", config.slow_rank, comm.size());
  check_rank("inject_crash_rank", config.crash_rank, comm.size());
  check_rank("inject_hang_rank", config.hang_rank, comm.size());
  if (config.bitflip != FaultTarget::none && static_cast<size_t>(config.bitflip_index) >= dense_size)
    throw Error(ExitCode::config, fmt::format("config: inject_bitflip_index={} is outside the {} dense parameters",
                                              config.bitflip_index, dense_size));
}

bool FaultInjector::fires(int target_step, int step, bool& once_done) {
  if (step != target_step || attempt_batch_ != first_batch_) return false;
  if (config_.repeat) return true;
  if (once_done) return false;
  once_done = true;
  return true;
}

void FaultInjector::flip(float& value, const char* where, int step) {
  const float before = value;
  flip_bit(value, config_.bitflip_bit);
  log_.local(LedgerEvent::fault_injected, {{"fault", fmt::format("bitflip_{}", where)}, {"step", step}, {"rank", rank_},
                                {"node", log_.node_of(rank_)}, {"attempt", attempt_}, {"index", config_.bitflip_index},
                                {"bit", config_.bitflip_bit}, {"before", before}, {"after", value}});
}

void FaultInjector::begin_attempt(int step, uint64_t batch, Arena& weights) {
  if (step != attempt_step_) first_batch_ = batch;
  attempt_ = step == attempt_step_ && batch == attempt_batch_ ? attempt_ + 1 : 1;
  attempt_step_ = step;
  attempt_batch_ = batch;
  if (step == config_.crash_at_step && hits(config_.crash_rank) && attempt_ == 1) {
    log_.local(LedgerEvent::fault_injected, {{"fault", "crash"}, {"step", step}, {"rank", rank_}, {"node", log_.node_of(rank_)}});
    std::raise(SIGKILL);
  }
  if (step == config_.hang_at_step && hits(config_.hang_rank) && attempt_ == 1) {
    log_.local(LedgerEvent::fault_injected, {{"fault", "hang"}, {"step", step}, {"rank", rank_}, {"node", log_.node_of(rank_)}});
    while (true) pause();  // a stop signal's handler returns here: a hung rank does not answer
  }
  if (config_.bitflip == FaultTarget::param && hits(config_.bitflip_rank) && fires(config_.bitflip_step, step, bitflip_done_)) {
    flip(weights.dense[static_cast<size_t>(config_.bitflip_index)], "param", step);
    param_flipped_ = true;
  }
}

void FaultInjector::after_local_compute(int step, Arena& weights, LossParts& local, double compute_seconds) {
  if (param_flipped_) {
    flip_bit(weights.dense[static_cast<size_t>(config_.bitflip_index)], config_.bitflip_bit);
    param_flipped_ = false;
  }
  if (rank_ == last_rank_ && fires(config_.nan_at_step, step, nan_done_)) {
    local.ce = std::nan("");
    log_.local(LedgerEvent::fault_injected, {{"fault", "nan"}, {"step", step}, {"rank", rank_}, {"node", log_.node_of(rank_)},
                                  {"attempt", attempt_}});
  }
  if (hits(config_.slow_rank) && config_.slow_factor > 1)
    std::this_thread::sleep_for(std::chrono::duration<double>((config_.slow_factor - 1) * compute_seconds));
}

void FaultInjector::after_reduction(int step, Arena& grads) {
  if (config_.bitflip == FaultTarget::grad && hits(config_.bitflip_rank) && fires(config_.bitflip_step, step, bitflip_done_))
    flip(grads.dense[static_cast<size_t>(config_.bitflip_index)], "grad", step);
}

double FaultInjector::loss_seen(int step, double loss) {
  if (step != config_.spike_at_step || spike_done_) return loss;
  spike_done_ = true;
  log_.decision(LedgerEvent::fault_injected, {{"fault", "spike"}, {"step", step}, {"factor", config_.spike_factor}});
  return loss * config_.spike_factor;
}

}  // namespace sigma::trainer
