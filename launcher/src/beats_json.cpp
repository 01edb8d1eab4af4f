#include "sigma/launcher/beats_json.hpp"

#include <algorithm>

#include "sigma/contracts/heartbeat.hpp"

namespace sigma::launch {

nlohmann::json heartbeats_json(const std::string& dir) {
  auto beats = read_heartbeats(dir);
  std::sort(beats.begin(), beats.end(), [](const Heartbeat& a, const Heartbeat& b) { return a.rank < b.rank; });
  nlohmann::json list = nlohmann::json::array();
  for (const auto& beat : beats) {
    list.push_back({{"rank", beat.rank}, {"step", beat.step}, {"time", beat.time}, {"node", beat.node},
                    {"resumed_from", beat.resumed_from}, {"started_at", beat.started_at},
                    {"mpi_ready_at", beat.mpi_ready_at}, {"ready_at", beat.ready_at}, {"attempt", beat.attempt}});
  }
  auto liveness = read_liveness(dir);
  std::sort(liveness.begin(), liveness.end(), [](const Liveness& a, const Liveness& b) { return a.rank < b.rank; });
  nlohmann::json alive = nlohmann::json::array();
  for (const auto& beat : liveness) alive.push_back({{"rank", beat.rank}, {"time", beat.time}, {"node", beat.node}});
  nlohmann::json stragglers = nlohmann::json::array();
  for (const auto& flag : read_straggler_flags(dir)) stragglers.push_back({{"rank", flag.rank}, {"node", flag.node}});
  const auto blamed = read_blame(dir);
  const nlohmann::json blame = blamed ? nlohmann::json{{"rank", blamed->rank}, {"node", blamed->node}} : nullptr;
  return {{"dir", dir}, {"beats", list}, {"liveness", alive}, {"stragglers", stragglers}, {"blame", blame}};
}

}  // namespace sigma::launch
