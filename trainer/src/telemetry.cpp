#include "sigma/trainer/telemetry.hpp"

#include <cstdio>

#include <fmt/format.h>
#include <unistd.h>

#include "sigma/core/durable_file.hpp"
#include "sigma/core/error.hpp"
#include "sigma/core/wall_clock.hpp"

namespace sigma::trainer {

std::string progress_line(const StepReport& r, int total_steps) {
  return fmt::format(
      "step {}/{} | loss {:.4f} (ce {:.4f} aux {:.4f} z {:.4f}) | grad norm {:.3f} | lr {:.2e} | {:.0f} tok/s | "
      "MFU {:.1f}% ({:.1f} GFLOP/s done, dropped excluded, of {:.1f} GFLOP/s: {}) | tokens/expert {}..{} | "
      "dropped {}",
      r.step, total_steps, r.loss.total(), r.loss.ce, r.loss.aux, r.loss.z, r.grad_norm, r.lr, r.tokens / r.seconds,
      100 * r.mfu, r.flops / r.seconds / 1e9, r.peak_gflops, r.peak_source, r.min_expert_tokens(),
      r.max_expert_tokens(), r.dropped);
}

nlohmann::json report_json(const StepReport& r) {
  return {{"step", r.step},
          {"loss", r.loss.total()},
          {"ce_loss", r.loss.ce},
          {"aux_loss", r.loss.aux},
          {"z_loss", r.loss.z},
          {"grad_norm", r.grad_norm},
          {"lr", r.lr},
          {"step_seconds", r.seconds},
          {"tokens_per_s", r.tokens / r.seconds},
          {"mfu", r.mfu},
          {"flops_done", r.flops},
          {"peak_gflops", r.peak_gflops},
          {"peak_source", r.peak_source},
          {"tokens_per_expert", r.tokens_per_expert},
          {"tokens_per_expert_min", r.min_expert_tokens()},
          {"tokens_per_expert_max", r.max_expert_tokens()},
          {"dropped_tokens", r.dropped}};
}

Telemetry::Telemetry(const std::string& jsonl_path, const std::string& heartbeat_path)
    : heartbeat_path_(heartbeat_path) {
  if (!jsonl_path.empty()) {
    jsonl_.open(jsonl_path, std::ios::app);
    if (!jsonl_) throw Error(ExitCode::not_found, fmt::format("log_jsonl {}: cannot open for appending", jsonl_path));
  }
}

void Telemetry::record(const StepReport& report) {
  if (jsonl_.is_open()) jsonl_ << report_json(report).dump() << '\n' << std::flush;
  if (!heartbeat_path_.empty()) beat(report);
}

void Telemetry::beat(const StepReport& report) {
  // Replaced whole (a watcher never reads half a heartbeat, no link is followed), without an fsync per step:
  // liveness, not data (durable_file.hpp).
  nlohmann::json beat = {{"step", report.step}, {"loss", report.loss.total()}, {"time", now_seconds()}, {"pid", getpid()}};
  write_file_durably(heartbeat_path_, beat.dump() + "\n", Durability::atomic_only);
}

}  // namespace sigma::trainer
