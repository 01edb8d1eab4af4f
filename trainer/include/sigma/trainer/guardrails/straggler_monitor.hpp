// Stragglers across the run: every step each rank's compute time (wall time minus time in MPI calls) and wait
// time are gathered (one small all-gather), judged by StragglerTracker on every rank alike, and a change is
// reported by rank 0: ledger and JSON log (straggler_detected / straggler_cleared with rank and node), a flag
// file SIGMA_HEARTBEAT_DIR/straggler-<rank> for the supervisor while the rank is a straggler, and the
// Prometheus textfile (metrics_textfile) with every rank's times and flag.
#pragma once

#include <string>
#include <vector>

#include "sigma/trainer/comm.hpp"
#include "sigma/trainer/guard_config.hpp"
#include "sigma/trainer/guardrails/guard_log.hpp"
#include "sigma/trainer/guardrails/straggler_tracker.hpp"

namespace sigma::trainer {

class StragglerMonitor {
 public:
  StragglerMonitor(const GuardConfig& config, const Comm& comm, GuardLog& log);
  bool enabled() const { return enabled_; }
  // Collective. `step_seconds` and `mpi_seconds` are this rank's for the step just taken; its compute time is
  // compared scaled by `work_scale` (the largest batch share over its own: an uneven split is no straggler).
  void observe(int step, double step_seconds, double mpi_seconds, double work_scale = 1);

 private:
  void report(int step, const StragglerChange& change);
  void write_metrics(int step) const;

  bool enabled_;
  const Comm& comm_;
  GuardLog& log_;
  StragglerTracker tracker_;
  int every_;
  std::string metrics_path_, flag_dir_;
  std::vector<double> compute_, wait_;
};

}  // namespace sigma::trainer
