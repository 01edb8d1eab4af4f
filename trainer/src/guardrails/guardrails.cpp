#include "sigma/trainer/guardrails/guardrails.hpp"

#include <bit>
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "sigma/core/error.hpp"

namespace sigma::trainer {
namespace {

uint64_t bits_of(double value) { return std::bit_cast<uint64_t>(value); }

// The first rank whose flag is set, or -1.
int first_set(const std::vector<int>& flags) {
  for (size_t r = 0; r < flags.size(); ++r)
    if (flags[r]) return static_cast<int>(r);
  return -1;
}

}  // namespace

Guardrails::Guardrails(const TrainConfig& config, const Comm& comm, size_t dense_size)
    : config_(config.guard),
      comm_(comm),
      log_(comm, config.log_jsonl),
      faults_(config.fault, comm, dense_size, log_),
      spikes_(config.guard.spike_window, config.guard.spike_mads, config.guard.spike_min_rise),
      stragglers_(config.guard, comm, log_) {}

StepSymptom Guardrails::observe(const StepResult& result, bool gather) const {
  StepSymptom symptom;
  symptom.loss_bits = bits_of(result.global.total());
  // One small all-reduce agrees on finiteness everywhere; the maximum of the norm's bits and of their
  // complement gives the minimum too, so equal maximum and minimum mean every replica holds the same norm.
  const bool finite_here = std::isfinite(result.global.total()) && std::isfinite(result.grad_norm);
  const uint64_t norm = bits_of(result.grad_norm);
  uint64_t mine[3] = {norm, ~norm, finite_here ? 0u : 1u}, top[3];
  MPI_Allreduce(mine, top, 3, MPI_UINT64_T, MPI_MAX, comm_.world());
  symptom.finite = top[2] == 0;
  symptom.replicas_agree = !config_.grad_norm_check || top[0] == ~top[1];
  if (!symptom.bad() && !gather) return symptom;
  // The rare path: every rank's norm and whether its own loss was finite, to name a suspect.
  const uint64_t local[2] = {norm, std::isfinite(result.local.total()) ? 0u : 1u};
  std::vector<uint64_t> all(2 * static_cast<size_t>(comm_.size()));
  MPI_Allgather(local, 2, MPI_UINT64_T, all.data(), 2, MPI_UINT64_T, comm_.world());
  std::vector<int> bad_loss;
  for (int r = 0; r < comm_.size(); ++r) {
    symptom.norm_bits.push_back(all[2 * static_cast<size_t>(r)]);
    bad_loss.push_back(all[2 * static_cast<size_t>(r) + 1] != 0);
  }
  const int outvoted = outvoted_index(symptom.norm_bits);
  symptom.suspect_rank = first_set(bad_loss) >= 0 ? first_set(bad_loss) : std::max(outvoted, -1);
  return symptom;
}

std::string Guardrails::who(int rank) const {
  return rank < 0 ? "no rank could be blamed" : fmt::format("rank {} (node {})", rank, log_.node_of(rank));
}

StepVerdict Guardrails::check(int step, const StepResult& result, const std::function<StepResult()>& rerun) {
  const StepSymptom symptom = observe(result, false);
  if (symptom.bad()) return on_bad_step(step, result, symptom, rerun);
  const double loss = faults_.loss_seen(step, result.global.total());
  const SpikeVerdict spike = spikes_.judge(loss);
  return spike.spike ? on_spike(step, loss, spike) : StepVerdict::take;
}

StepVerdict Guardrails::on_bad_step(int step, const StepResult& first, const StepSymptom& symptom,
                                    const std::function<StepResult()>& rerun) {
  const std::string what = !symptom.finite ? "non-finite loss or gradient" : "replicas disagree on the gradient norm";
  log_.decision(LedgerEvent::step_rerun, {{"step", step}, {"symptom", what}, {"suspect_rank", symptom.suspect_rank},
                               {"loss", first.global.total()}, {"grad_norm", first.grad_norm}});
  const StepResult again = rerun();
  const StepSymptom second = observe(again, true);
  const Classification c = classify(symptom, second);
  const std::string node = c.blamed_rank >= 0 ? log_.node_of(c.blamed_rank) : "";
  nlohmann::json details = {{"step", step}, {"symptom", what}, {"class", to_string(c.kind)},
                            {"rank", c.blamed_rank}, {"node", node}, {"rerun_bad", second.bad()},
                            {"loss", first.global.total()}, {"rerun_loss", again.global.total()}};
  if (c.kind != FaultKind::deterministic) {
    details["action"] = "exit_node_hardware";
    log_.decision(LedgerEvent::fault_classified, details);
    log_.blame(c.blamed_rank);
    throw Error(ExitCode::node_hardware,
                fmt::format("{} fault at step {}: {}; {} on re-run: blaming {}", to_string(c.kind), step, what,
                            second.bad() ? "a different bad result" : "a clean result", who(c.blamed_rank)));
  }
  const bool skip = config_.skip_numerical_faults && skipped_ < config_.max_skipped_batches;
  details["action"] = skip ? "skip_batch" : "exit_numerical";
  log_.decision(LedgerEvent::fault_classified, details);
  if (skip) {
    ++skipped_;
    log_.decision(LedgerEvent::batch_skipped, {{"step", step}, {"skipped", skipped_}, {"reason", "deterministic " + what}});
    return StepVerdict::skip_batch;
  }
  const bool loss_bad = !std::isfinite(first.global.total());
  throw Error(ExitCode::numerical,
              fmt::format("numerical fault at step {}: non-finite {} {} (loss={}, grad_norm={}); the re-run gave the "
                          "same result{}; stopping",
                          step, loss_bad ? "loss" : "gradient norm",
                          symptom.suspect_rank >= 0 ? fmt::format("on rank {}", symptom.suspect_rank)
                                                    : "in the reduced gradients (no rank's loss was non-finite)",
                          first.global.total(), first.grad_norm,
                          skipped_ > 0 ? fmt::format(" ({} batches skipped already)", skipped_) : ""));
}

StepVerdict Guardrails::on_spike(int step, double loss, const SpikeVerdict& spike) {
  nlohmann::json details = {{"step", step}, {"loss", loss}, {"median", spike.median},
                            {"threshold", spike.threshold}, {"rollbacks", rollbacks_}};
  log_.decision(LedgerEvent::loss_spike, details);
  if (rollbacks_ >= config_.max_rollbacks)
    throw Error(ExitCode::numerical,
                fmt::format("loss spike at step {}: loss {:.4g} above the threshold {:.4g} (window median {:.4g}) after "
                            "{} rollback(s) (max_rollbacks); stopping",
                            step, loss, spike.threshold, spike.median, rollbacks_));
  ++rollbacks_;
  return StepVerdict::roll_back;
}

void Guardrails::rolled_back(int spike_step, int to_step, bool from_checkpoint, uint64_t data_from,
                             uint64_t data_to) {
  spikes_.forget_after(to_step);
  log_.decision(LedgerEvent::rolled_back, {{"spike_step", spike_step}, {"to_step", to_step},
                                {"from", from_checkpoint ? "checkpoint" : "weights before the spike step"},
                                {"rollbacks", rollbacks_}});
  if (data_to > data_from)
    log_.decision(LedgerEvent::data_skipped, {{"spike_step", spike_step}, {"first_sequence", data_from},
                                   {"end_sequence", data_to}, {"sequences", data_to - data_from}});
}

void Guardrails::step_taken(int step, double loss, double step_seconds, double mpi_seconds, double work_scale) {
  spikes_.accept(step, loss);
  stragglers_.observe(step, step_seconds, mpi_seconds, work_scale);
}

}  // namespace sigma::trainer
