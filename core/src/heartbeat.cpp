#include "sigma/core/heartbeat.hpp"

#include <unistd.h>

#include <nlohmann/json.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
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
                          {"resumed_from", beat.resumed_from}, {"started_at", beat.started_at},
                          {"mpi_ready_at", beat.mpi_ready_at},
                          {"ready_at", beat.ready_at}}.dump();
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
                     j.value("resumed_from", 0L), j.value("started_at", 0.0), j.value("mpi_ready_at", 0.0),
                     j.value("ready_at", 0.0)});
  }
  return beats;
}

std::optional<Heartbeat> stopped_first(const std::vector<Heartbeat>& beats,
                                       const std::vector<std::pair<int, double>>& liveness, double now) {
  if (beats.empty()) return std::nullopt;
  // Stale: no liveness beat for three periods.
  std::optional<std::pair<int, double>> stalest;
  for (const auto& [rank, time] : liveness) {
    if (now - time > 3 * kLivenessPeriod_s && (!stalest || time < stalest->second)) stalest = {rank, time};
  }
  if (stalest) {
    for (const auto& beat : beats) {
      if (beat.rank == stalest->first) return beat;
    }
  }
  return *std::min_element(beats.begin(), beats.end(), [](const Heartbeat& a, const Heartbeat& b) {
    return a.step != b.step ? a.step < b.step : a.time < b.time;
  });
}

struct LivenessBeat::Impl {
  std::string path;
  std::mutex mutex;
  std::condition_variable wake;
  bool stop = false;
  std::thread thread;
};

LivenessBeat::LivenessBeat(std::string dir, int rank) : impl_(new Impl) {
  impl_->path = dir + "/alive-" + std::to_string(rank);
  impl_->thread = std::thread([impl = impl_] {
    std::unique_lock lock(impl->mutex);
    while (!impl->stop) {
      const double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
      std::ofstream(impl->path + ".tmp", std::ios::trunc) << fmt::format("{:.3f}", now);
      std::rename((impl->path + ".tmp").c_str(), impl->path.c_str());
      impl->wake.wait_for(lock, std::chrono::duration<double>(kLivenessPeriod_s));
    }
  });
}

LivenessBeat::~LivenessBeat() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stop = true;
  }
  impl_->wake.notify_all();
  impl_->thread.join();
  delete impl_;
}

std::vector<std::pair<int, double>> read_liveness(const std::string& dir) {
  std::vector<std::pair<int, double>> out;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("alive-", 0) != 0 || name.ends_with(".tmp")) continue;
    double time = 0;
    std::ifstream(entry.path()) >> time;
    if (time > 0) out.emplace_back(std::atoi(name.c_str() + 6), time);
  }
  return out;
}

}  // namespace sigma
