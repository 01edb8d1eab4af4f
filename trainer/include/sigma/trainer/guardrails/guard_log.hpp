// Where the guardrails record what they saw and decided: the event ledger (SIGMA_LEDGER, component
// "trainer"), the run's JSON log (log_jsonl, one {"event": ...} line among the step lines) and a
// `guardrail:` line on stdout. Decisions are collective, so rank 0 records them for everyone and names the
// rank and node concerned; an injected crash or hang is recorded by the rank it hits.
#pragma once

#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sigma/contracts/ledger.hpp"
#include "sigma/trainer/comm.hpp"

namespace sigma::trainer {

class GuardLog {
 public:
  // Collective: learns every rank's node (this_node_name(), node_name.hpp).
  GuardLog(const Comm& comm, const std::string& jsonl_path);

  const std::string& node_of(int rank) const { return nodes_.at(static_cast<size_t>(rank)); }
  // Called on every rank with the same arguments; rank 0 writes.
  void decision(LedgerEvent event, nlohmann::json details) const;
  // Called on every rank before a hardware-fault exit (10): rank 0 leaves the blamed rank and node in the
  // supervisor's heartbeat directory (SIGMA_HEARTBEAT_DIR, when set), so the right node is drained.
  void blame(int rank) const;
  // Written by the calling rank alone (a fault injected on it).
  void local(LedgerEvent event, nlohmann::json details) const;

 private:
  void write(LedgerEvent event, nlohmann::json details) const;
  int rank_ = 0;
  LedgerWriter ledger_;
  std::vector<std::string> nodes_;
  mutable std::ofstream jsonl_;  // writing a line does not change what the log is
};

}  // namespace sigma::trainer
