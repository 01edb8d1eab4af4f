// The run-config part of the trainer's guardrails and of their fault injection (trainer/README.md,
// "Guardrails"). Plain values: config.cpp reads them with every other key.
#pragma once

#include <cstdint>
#include <string>

namespace sigma::trainer {

struct GuardConfig {
  bool grad_norm_check = true;            // compare the reduced gradient norm bitwise across replicas every step
  bool skip_numerical_faults = false;     // a deterministic non-finite step: skip its batch (else stop, exit 11)
  int max_skipped_batches = 3;            // more deterministic faults than this stop the run (exit 11)
  int spike_window = 0;                   // accepted losses in the moving window; 0 = no spike detection
  double spike_mads = 6;                  // a spike is this many scaled MADs above the window's median ...
  double spike_min_rise = 0.1;            // ... and at least this fraction above it
  bool spike_skip_data = true;            // after a rollback skip the data up to the spike (else replay it)
  int max_rollbacks = 3;                  // more spikes than this stop the run (exit 11)
  double straggler_margin = 0;            // a rank this fraction slower than the others' median; 0 = off
  int straggler_steps = 10;               // ... for this many consecutive steps is a straggler
  double straggler_min_seconds = 0.005;   // differences below this are scheduling noise, never a straggler
  std::string metrics_textfile;           // Prometheus textfile (rank 0) with per-rank step times; empty = none
};

enum class FaultTarget { none, param, grad };

// Fault injection for tests and the demo. Steps are 1-based; -1 = never.
struct FaultConfig {
  FaultTarget bitflip = FaultTarget::none;  // flip a bit in a dense parameter (read path) or reduced gradient
  int bitflip_rank = 0;
  int bitflip_step = -1;
  int bitflip_bit = 30;                     // 30: the top exponent bit of a float
  int64_t bitflip_index = 0;                // element of the dense arena
  bool repeat = true;                       // bit flip and NaN recur at every attempt of the step (else once)
  int nan_at_step = -1;                     // NaN in the loss of the last rank
  int spike_at_step = -1;                   // the loss the spike detector sees is multiplied (once)
  double spike_factor = 10;
  int slow_rank = -1;                       // this rank sleeps (factor - 1) x its compute time every step
  double slow_factor = 1;
  int crash_rank = -1, crash_at_step = -1;  // SIGKILL at the start of the step
  int hang_rank = -1, hang_at_step = -1;    // sleeps forever at the start of the step
  std::string node = "";                    // when set, the rank faults above hit their rank only on this node:
                                            // a bad node, so a restart without it runs clean
};

}  // namespace sigma::trainer
