// Re-run to classify a bad step (Megatron-LM's rerun state machine is the model). When a step's loss or
// gradient is non-finite, or the data-parallel replicas disagree about the reduced gradient norm, the step is
// computed again from the same weights and batch:
//   - the re-run is clean, or bad in another way     -> transient: hardware or silent data corruption on the
//                                                       suspect rank's node (blame it, exit 10);
//   - the same replica disagrees again, bit for bit  -> persistent: replicas compute the same function of the
//                                                       same inputs, so a difference is never the model's
//                                                       numerics (blame the odd replica's node, exit 10);
//   - the same non-finite result again, bit for bit  -> deterministic: a numerical fault of the model or the
//                                                       data (skip the batch or stop with exit 11).
// Megatron also re-runs on another device to tell a stuck hardware fault from numerics; re-running in place
// cannot, so a fault that recurs identically on one rank without a replica disagreeing reads as deterministic.
#pragma once

#include <cstdint>
#include <vector>

namespace sigma::trainer {

// One attempt at a step as every rank agreed on it.
struct StepSymptom {
  bool finite = true;          // loss and gradient norm finite on every rank
  bool replicas_agree = true;  // the reduced gradient norm bitwise equal on every rank
  int suspect_rank = -1;       // first rank with a non-finite loss, or the replica outvoted; -1 = none known
  uint64_t loss_bits = 0;      // the global loss
  std::vector<uint64_t> norm_bits;  // each rank's gradient norm (gathered when the attempt is bad or a re-run)
  bool bad() const { return !finite || !replicas_agree; }
};

enum class FaultKind { transient, persistent, deterministic };

struct Classification {
  FaultKind kind = FaultKind::transient;
  int blamed_rank = -1;  // -1 when no rank can be named
};

const char* to_string(FaultKind kind);

// `first` was bad; `rerun` is the same step computed again.
Classification classify(const StepSymptom& first, const StepSymptom& rerun);

// The index of the value that differs from a strict majority; kAllEqual, or kNoMajority when the values
// differ and none has a strict majority (two replicas, or a three-way split).
inline constexpr int kAllEqual = -1;
inline constexpr int kNoMajority = -2;
int outvoted_index(const std::vector<uint64_t>& values);

}  // namespace sigma::trainer
