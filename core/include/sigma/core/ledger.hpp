// The event ledger: append-only JSON lines (one event per line) recording every decision sigma makes about a
// node or job. Many processes on many nodes may append at once: each event is one write(2) of a whole line to a
// file opened O_APPEND, under flock, then fsync'd, so lines are never torn or interleaved by live writers.
// No writer waits more than a second for the lock: a lock held longer (by a stuck writer, or by anyone who can
// open the file) is passed by, the line written as that one write(2), whole on a local filesystem
// (durable_file.hpp). The file is created 0600 (it names every user's jobs); root makes its own ledger 0600 again
// when it finds it readable by others, and refuses one owned by another user. Parts that run as the job's user
// (the supervisor, the trainer) cannot write root's ledger: they warn and go on (record_event).
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
