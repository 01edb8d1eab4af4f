// The event ledger: append-only JSON lines (one event per line) recording every decision sigma makes about a
// node or job. Many processes on many nodes may append at once: each event is one write(2) of a whole line to a
// file opened O_APPEND, under flock, then fsync'd, so lines are never torn or interleaved by live writers.
// No writer waits more than a second for the lock: a lock held longer (by a stuck writer, or by anyone who can
// open the file) is passed by, the line written as that one write(2), whole on a local filesystem
// (durable_file.hpp). The file is created 0600 (it names every user's jobs); root makes its own ledger 0600 again
// when it finds it readable by others, and refuses one owned by another user. Parts that run as the job's user
// (the supervisor, the trainer) cannot write root's ledger: they warn and go on (LedgerWriter).
// A crash can still leave a torn final line; read_ledger() skips it and says so.
#pragma once

#include <nlohmann/json.hpp>
#include <functional>
#include <string>
#include <vector>

#include "sigma/contracts/ledger_event.hpp"

namespace sigma {

struct Event {
  std::string component;            // healthcheck, spank, launcher, trainer, ckpt
  std::string event;                // e.g. preflight_pass, node_drained, ckpt_saved
  nlohmann::json details = nlohmann::json::object();
  // Filled by append_event when empty:
  std::string time;                 // RFC 3339 UTC with microseconds
  std::string host;                 // this_node_name() (node_name.hpp)
  std::string job_id;               // SLURM_JOB_ID
  std::string step_id;              // SLURM_STEP_ID
};

// Appends one line; throws sigma::Error(ExitCode::internal... ) naming the path on I/O failure.
void append_event(const std::string& ledger_path, Event event);

// How every part of sigma records its events: one writer per part, one policy. The ledger records decisions and
// never makes them, so an event that cannot be written (no permission on root's ledger, a full filesystem) is one
// warning line, "<program>: warning: <path>: cannot append to the event ledger: <why>", and the work goes on.
// An empty path means no ledger: nothing is written and nothing is said.
class LedgerWriter {
 public:
  using Warn = std::function<void(const std::string& line)>;
  // `program` starts the warning line on stderr; `warn`, when given, takes the line instead.
  LedgerWriter(std::string path, Component component, std::string program, Warn warn = nullptr);

  // `host`, `job_id`: the node and job the event is about, when the environment does not say (the prolog's, nhc's).
  void record(LedgerEvent event, nlohmann::json details, const std::string& host = "",
              const std::string& job_id = "") const;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  Component component_;
  std::string program_;
  Warn warn_;
};

struct LedgerContents {
  std::vector<nlohmann::json> events;
  bool torn_tail = false;           // the last line was incomplete (crash mid-write) and was skipped
  std::vector<std::string> bad_lines;  // "path:line: reason" for lines that are not JSON objects
};

LedgerContents read_ledger(const std::string& ledger_path);

}  // namespace sigma
