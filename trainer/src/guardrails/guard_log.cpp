#include "sigma/trainer/guardrails/guard_log.hpp"

#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "sigma/core/cli.hpp"
#include "sigma/core/error.hpp"
#include "sigma/core/heartbeat.hpp"
#include "sigma/core/ledger.hpp"

namespace sigma::trainer {
namespace {

constexpr int kNodeChars = 256;

std::string this_node() {
  for (const char* name : {"SIGMA_NODE_NAME", "SLURMD_NODENAME"})
    if (const char* value = std::getenv(name); value != nullptr && *value != '\0') return value;
  char host[MPI_MAX_PROCESSOR_NAME] = {};
  int length = 0;
  MPI_Get_processor_name(host, &length);
  return host;
}

}  // namespace

GuardLog::GuardLog(const Comm& comm, const std::string& jsonl_path) : rank_(comm.rank()) {
  char mine[kNodeChars] = {};
  std::strncpy(mine, this_node().c_str(), kNodeChars - 1);
  std::vector<char> all(static_cast<size_t>(kNodeChars) * static_cast<size_t>(comm.size()));
  MPI_Allgather(mine, kNodeChars, MPI_CHAR, all.data(), kNodeChars, MPI_CHAR, comm.world());
  for (int r = 0; r < comm.size(); ++r) nodes_.emplace_back(all.data() + static_cast<size_t>(r) * kNodeChars);
  if (rank_ == 0 && !jsonl_path.empty()) {
    jsonl_.open(jsonl_path, std::ios::app);
    if (!jsonl_) throw Error(ExitCode::not_found, fmt::format("log_jsonl {}: cannot open for appending", jsonl_path));
  }
}

void GuardLog::decision(const std::string& event, nlohmann::json details) const {
  if (rank_ == 0) write(event, std::move(details));
}

void GuardLog::blame(int rank) const {
  const char* dir = std::getenv(kHeartbeatDirEnv);
  if (rank_ == 0 && rank >= 0 && dir != nullptr && *dir != '\0') write_blame(dir, {rank, node_of(rank)});
}

void GuardLog::local(const std::string& event, nlohmann::json details) const { write(event, std::move(details)); }

void GuardLog::write(const std::string& event, nlohmann::json details) const {
  fmt::print("guardrail: {} {}\n", event, details.dump());
  std::fflush(stdout);
  if (jsonl_.is_open()) {
    nlohmann::json line = {{"event", event}};
    line.update(details);
    jsonl_ << line.dump() << '\n' << std::flush;
  }
  Event ledger_event;
  ledger_event.component = "trainer";
  ledger_event.event = event;
  ledger_event.details = std::move(details);
  const char* ledger = std::getenv("SIGMA_LEDGER");
  if (const auto error = record_event(ledger ? ledger : "", std::move(ledger_event)); !error.empty())
    fmt::print(stderr, "guardrail: warning: {}\n", printable(error));
}

}  // namespace sigma::trainer
