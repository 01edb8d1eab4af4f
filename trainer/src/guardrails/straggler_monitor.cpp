#include "sigma/trainer/guardrails/straggler_monitor.hpp"

#include <cstdio>
#include <cstdlib>

#include <fmt/format.h>

#include "sigma/core/durable_file.hpp"
#include "sigma/core/error.hpp"
#include "sigma/contracts/heartbeat.hpp"

namespace sigma::trainer {

StragglerMonitor::StragglerMonitor(const GuardConfig& config, const Comm& comm, GuardLog& log)
    : enabled_(config.straggler_margin > 0 && comm.size() > 1),
      comm_(comm),
      log_(log),
      tracker_(config.straggler_margin, config.straggler_steps, config.straggler_min_seconds, comm.size()),
      every_(config.straggler_steps),
      metrics_path_(config.metrics_textfile),
      compute_(static_cast<size_t>(comm.size())),
      wait_(static_cast<size_t>(comm.size())) {
  if (const char* dir = std::getenv(env::kHeartbeatDir); dir != nullptr) flag_dir_ = dir;
}

void StragglerMonitor::observe(int step, double step_seconds, double mpi_seconds, double work_scale) {
  if (!enabled_) return;
  double mine[2] = {(step_seconds - mpi_seconds) * work_scale, mpi_seconds};
  std::vector<double> all(2 * compute_.size());
  MPI_Allgather(mine, 2, MPI_DOUBLE, all.data(), 2, MPI_DOUBLE, comm_.world());
  for (size_t r = 0; r < compute_.size(); ++r) {
    compute_[r] = all[2 * r];
    wait_[r] = all[2 * r + 1];
  }
  const auto changes = tracker_.update(compute_);
  for (const auto& change : changes) report(step, change);
  if (!changes.empty() || step % every_ == 0) write_metrics(step);
}

void StragglerMonitor::report(int step, const StragglerChange& change) {
  const std::string& node = log_.node_of(change.rank);
  nlohmann::json details = {{"step", step}, {"rank", change.rank}, {"node", node},
                            {"compute_s", change.seconds}, {"others_median_s", change.others_median},
                            {"wait_s", wait_[static_cast<size_t>(change.rank)]}};
  log_.decision(change.straggler ? LedgerEvent::straggler_detected : LedgerEvent::straggler_cleared, details);
  if (comm_.rank() != 0 || flag_dir_.empty()) return;
  if (change.straggler)
    write_straggler_flag(flag_dir_, {change.rank, node});
  else
    clear_straggler_flag(flag_dir_, change.rank);
}

void StragglerMonitor::write_metrics(int step) const {
  if (comm_.rank() != 0 || metrics_path_.empty()) return;
  std::string text;
  // One family at a time: the textfile format wants each metric's samples together.
  auto family = [&](const char* name, const char* help, auto value_of) {
    text += fmt::format("# HELP {} {}\n# TYPE {} gauge\n", name, help, name);
    for (size_t r = 0; r < compute_.size(); ++r)
      text += fmt::format("{}{{rank=\"{}\",node=\"{}\"}} {}\n", name, r, log_.node_of(static_cast<int>(r)),
                          value_of(r));
  };
  family("sigma_train_compute_seconds", "Compute time of the last step (wall time minus time in MPI calls).",
         [&](size_t r) { return compute_[r]; });
  family("sigma_train_wait_seconds", "Time in MPI calls in the last step.", [&](size_t r) { return wait_[r]; });
  family("sigma_train_straggler", "1 while the rank is a straggler.",
         [&](size_t r) { return tracker_.flagged(static_cast<int>(r)) ? 1 : 0; });
  text += fmt::format("# HELP sigma_train_straggler_check_step Step of these figures.\n"
                      "# TYPE sigma_train_straggler_check_step gauge\nsigma_train_straggler_check_step {}\n", step);
  // Replaced whole for the textfile collector, without an fsync per step (step metrics are liveness, not data);
  // best effort, like the heartbeats: a metrics directory that fills up must not stop training.
  try {
    write_file_durably(metrics_path_, text, Durability::atomic_only);
  } catch (const Error&) {
  }
}

}  // namespace sigma::trainer
