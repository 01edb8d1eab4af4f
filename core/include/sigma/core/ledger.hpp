// The event ledger: append-only JSON lines (one event per line) recording every decision sigma makes about a
// node or job. Many processes on many nodes may append at once: each event is one write(2) of a whole line to a
// file opened O_APPEND, under flock, then fsync'd, so lines are never torn or interleaved by live writers.
// A crash can still leave a torn final line; read_ledger() skips it and says so.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace sigma {

struct Event {
  std::string component;            // healthcheck, spank, launcher, trainer, ckpt
  std::string event;                // e.g. preflight_pass, node_drained, ckpt_saved
  nlohmann::json details = nlohmann::json::object();
  // Filled by append_event when empty:
  std::string time;                 // RFC 3339 UTC with microseconds
  std::string host;                 // gethostname, or SIGMA_NODE_NAME / SLURMD_NODENAME when set
  std::string job_id;               // SLURM_JOB_ID
  std::string step_id;              // SLURM_STEP_ID
};

// Appends one line; throws sigma::Error(ExitCode::internal... ) naming the path on I/O failure.
void append_event(const std::string& ledger_path, Event event);

// For events that record a decision but must never change it: appends unless ledger_path is empty, and returns
// the one-line reason it could not ("" when written or when there is no ledger) instead of throwing.
std::string record_event(const std::string& ledger_path, Event event);

struct LedgerContents {
  std::vector<nlohmann::json> events;
  bool torn_tail = false;           // the last line was incomplete (crash mid-write) and was skipped
  std::vector<std::string> bad_lines;  // "path:line: reason" for lines that are not JSON objects
};

LedgerContents read_ledger(const std::string& ledger_path);

}  // namespace sigma
