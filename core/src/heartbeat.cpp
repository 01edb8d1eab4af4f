#include "sigma/core/heartbeat.hpp"

#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace sigma {

void write_heartbeat(const std::string& dir, const Heartbeat& beat) {
  const std::string path = dir + "/rank-" + std::to_string(beat.rank);
  const std::string temp = path + ".tmp";
  {
    std::ofstream out(temp, std::ios::trunc);
    out << nlohmann::json{{"rank", beat.rank}, {"step", beat.step}, {"time", beat.time}, {"node", beat.node},
                          {"resumed_from", beat.resumed_from}}.dump();
    if (!out) return;
  }
  std::rename(temp.c_str(), path.c_str());
}

std::vector<Heartbeat> read_heartbeats(const std::string& dir) {
  std::vector<Heartbeat> beats;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("rank-", 0) != 0 || name.ends_with(".tmp")) continue;
    std::ifstream in(entry.path());
    std::stringstream text;
    text << in.rdbuf();
    const auto j = nlohmann::json::parse(text.str(), nullptr, false);
    if (!j.is_object()) continue;
    beats.push_back({j.value("rank", -1), j.value("step", 0L), j.value("time", 0.0), j.value("node", ""),
                     j.value("resumed_from", 0L)});
  }
  return beats;
}

std::optional<Heartbeat> stopped_first(const std::vector<Heartbeat>& beats) {
  if (beats.empty()) return std::nullopt;
  return *std::min_element(beats.begin(), beats.end(), [](const Heartbeat& a, const Heartbeat& b) {
    return a.step != b.step ? a.step < b.step : a.time < b.time;
  });
}

}  // namespace sigma
