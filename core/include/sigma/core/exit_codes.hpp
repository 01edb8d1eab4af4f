// The exit-code contract: every sigma binary exits with one of these, and Slurm's RequeueExit names the
// requeue-worthy ones. The table here is the single source; docs/exit-codes.md documents it.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace sigma {

enum class ExitCode : int {
  ok = 0,
  internal = 1,       // a bug in sigma: unexpected state
  usage = 2,          // bad command-line option or argument
  config = 3,         // bad site config or job config, or a path it names that cannot be written: read-only,
                      // forbidden, its filesystem full or over quota (ENOSPC, EDQUOT). Stop once, say which;
                      // not a node fault (nothing drained) and not requeued (it would fail the same way)
  bad_data = 4,       // input data is malformed: token file, checkpoint contents
  not_found = 5,      // an input file or checkpoint does not exist
  node_hardware = 10, // preflight failure, silent data corruption, hardware signal: drain node + requeue
  numerical = 11,     // deterministic NaN/Inf or loss spike: stop, a human must look
  hang = 12,          // timeout or lost heartbeat: requeue
  transient = 13,     // a fault that is expected to pass: retry with backoff
  requeue = 42,       // state saved on SIGTERM/SIGUSR1: requeue and resume
};

struct ExitCodeInfo {
  ExitCode code;
  std::string_view name;     // stable identifier used in the ledger and config
  bool requeue;              // listed in slurm.conf RequeueExit
  std::string_view meaning;  // one line for README and --help
};

// All codes, in numeric order.
std::span<const ExitCodeInfo> exit_code_table();

// Lookup by number or by name; nullopt when unknown.
std::optional<ExitCodeInfo> exit_code_info(int code);
std::optional<ExitCodeInfo> exit_code_by_name(std::string_view name);

// "10,12,13,42": the value for slurm.conf's RequeueExit.
std::string requeue_exit_list();

inline int to_int(ExitCode c) { return static_cast<int>(c); }

}  // namespace sigma
