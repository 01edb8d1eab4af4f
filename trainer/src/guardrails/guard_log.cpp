#include "sigma/trainer/guardrails/guard_log.hpp"

#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "sigma/contracts/env_names.hpp"
#include "sigma/contracts/node_name.hpp"
#include "sigma/core/cli.hpp"
#include "sigma/core/error.hpp"
#include "sigma/contracts/heartbeat.hpp"

namespace sigma::trainer {
namespace {

constexpr int kNodeChars = 256;

std::string ledger_path() {
  const char* path = std::getenv(env::kLedger);
  return path ? path : "";
}

}  // namespace

GuardLog::GuardLog(const Comm& comm, const std::string& jsonl_path)
    : rank_(comm.rank()), ledger_(ledger_path(), Component::trainer, "guardrail") {
  char mine[kNodeChars] = {};
  std::strncpy(mine, this_node_name().c_str(), kNodeChars - 1);
  std::vector<char> all(static_cast<size_t>(kNodeChars) * static_cast<size_t>(comm.size()));
  MPI_Allgather(mine, kNodeChars, MPI_CHAR, all.data(), kNodeChars, MPI_CHAR, comm.world());
  for (int r = 0; r < comm.size(); ++r) nodes_.emplace_back(all.data() + static_cast<size_t>(r) * kNodeChars);
  if (rank_ == 0 && !jsonl_path.empty()) {
    jsonl_.open(jsonl_path, std::ios::app);
    if (!jsonl_) throw Error(ExitCode::not_found, fmt::format("log_jsonl {}: cannot open for appending", jsonl_path));
  }
}

void GuardLog::decision(LedgerEvent event, nlohmann::json details) const {
  if (rank_ == 0) write(event, std::move(details));
}

void GuardLog::blame(int rank) const {
  const char* dir = std::getenv(env::kHeartbeatDir);
  if (rank_ == 0 && rank >= 0 && dir != nullptr && *dir != '\0') write_blame(dir, {rank, node_of(rank)});
}

void GuardLog::local(LedgerEvent event, nlohmann::json details) const { write(event, std::move(details)); }

void GuardLog::write(LedgerEvent event, nlohmann::json details) const {
  const std::string name = event_name(event);
  fmt::print("guardrail: {} {}\n", name, details.dump());
  std::fflush(stdout);
  if (jsonl_.is_open()) {
    nlohmann::json line = {{"event", name}};
    line.update(details);
    jsonl_ << line.dump() << '\n' << std::flush;
  }
  ledger_.record(event, std::move(details));
}

}  // namespace sigma::trainer
