#include "sigma/core/exit_codes.hpp"

#include <array>

namespace sigma {
namespace {

constexpr std::array kTable{
    ExitCodeInfo{ExitCode::ok, "ok", false, "success"},
    ExitCodeInfo{ExitCode::internal, "internal", false, "unexpected internal error in sigma (a bug)"},
    ExitCodeInfo{ExitCode::usage, "usage", false, "bad command-line option or argument"},
    ExitCodeInfo{ExitCode::config, "config", false,
                 "bad site config or job config, or a path it names is unwritable (read-only, filesystem full, "
                 "over quota): stop, nothing drained"},
    ExitCodeInfo{ExitCode::bad_data, "bad_data", false, "malformed input data (token file, checkpoint contents)"},
    ExitCodeInfo{ExitCode::not_found, "not_found", false, "an input file or checkpoint does not exist"},
    ExitCodeInfo{ExitCode::node_hardware, "node_hardware", true,
                 "node hardware fault (preflight failure, silent data corruption): drain node, requeue"},
    ExitCodeInfo{ExitCode::numerical, "numerical", false, "deterministic numerical fault (NaN/Inf, loss spike)"},
    ExitCodeInfo{ExitCode::hang, "hang", true, "hang or timeout (lost heartbeat, check over budget): requeue"},
    ExitCodeInfo{ExitCode::transient, "transient", true, "transient fault expected to pass: retry with backoff"},
    ExitCodeInfo{ExitCode::requeue, "requeue", true, "state saved on SIGTERM/SIGUSR1: requeue and resume"},
};

}  // namespace

std::span<const ExitCodeInfo> exit_code_table() { return kTable; }

std::optional<ExitCodeInfo> exit_code_info(int code) {
  for (const auto& info : kTable) {
    if (to_int(info.code) == code) return info;
  }
  return std::nullopt;
}

std::optional<ExitCodeInfo> exit_code_by_name(std::string_view name) {
  for (const auto& info : kTable) {
    if (info.name == name) return info;
  }
  return std::nullopt;
}

std::string requeue_exit_list() {
  std::string list;
  for (const auto& info : kTable) {
    if (!info.requeue) continue;
    if (!list.empty()) list += ',';
    list += std::to_string(to_int(info.code));
  }
  return list;
}

}  // namespace sigma
