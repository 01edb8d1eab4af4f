#include "sigma/core/heartbeat.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <sstream>
#include <thread>

#include "sigma/core/durable_file.hpp"
#include "sigma/core/error.hpp"
#include "sigma/core/trusted_path.hpp"
#include "sigma/core/wall_clock.hpp"

namespace sigma {
namespace {

constexpr const char* kProgressPrefix = "rank-";
constexpr const char* kLivenessPrefix = "alive-";
constexpr const char* kStragglerPrefix = "straggler-";
constexpr const char* kBlamePrefix = "blame-";

// Calls `use(path, rank)` for each finished file DIR/<prefix><rank> (temp files being written are skipped).
template <typename Use>
void for_each_beat_file(const std::string& dir, const std::string& prefix, Use&& use) {
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(prefix, 0) != 0 || name.ends_with(".tmp")) continue;
    use(entry.path(), std::atoi(name.c_str() + prefix.size()));
  }
}

// The text of a beat file, or "" when it is not a small regular file (a FIFO or device planted in the directory
// must not block or flood the supervisor).
std::string read_beat_file(const std::filesystem::path& path) {
  constexpr std::size_t kMaxBeatBytes = 64 * 1024;
  try {
    return read_regular_file(path.string(), kMaxBeatBytes, "heartbeat file");
  } catch (const Error&) {
    return "";
  }
}

// Writes DIR/<prefix><rank> whole through core's helper: no link is followed (the temp file is created O_EXCL|
// O_NOFOLLOW) and a reader sees the old or the new contents. Without fsync: these files are liveness, rewritten
// every step or second (durable_file.hpp, Durability::atomic_only). Best effort: a full disk or a vanished
// directory must not stop training; the supervisor sees the missing beat. The first failure is said once, so a
// rank the supervisor calls hung for want of beats (a directory root must refuse, say) shows why.
void write_beat_file(const std::string& dir, const std::string& prefix, int rank, const std::string& contents) {
  static std::atomic<bool> warned = false;
  try {
    write_file_durably(dir + "/" + prefix + std::to_string(rank), contents, Durability::atomic_only);
  } catch (const Error& e) {
    if (!warned.exchange(true)) fmt::print(stderr, "sigma: warning: heartbeat not written: {}\n", e.what());
  }
}

}  // namespace

void write_heartbeat(const std::string& dir, const Heartbeat& beat) {
  write_beat_file(dir, kProgressPrefix, beat.rank,
                  nlohmann::json{{"rank", beat.rank}, {"step", beat.step}, {"time", beat.time}, {"node", beat.node},
                                 {"resumed_from", beat.resumed_from}, {"started_at", beat.started_at},
                                 {"mpi_ready_at", beat.mpi_ready_at}, {"ready_at", beat.ready_at}}
                      .dump());
}

std::vector<Heartbeat> read_heartbeats(const std::string& dir) {
  std::vector<Heartbeat> beats;
  for_each_beat_file(dir, kProgressPrefix, [&](const std::filesystem::path& path, int) {
    const auto j = nlohmann::json::parse(read_beat_file(path), nullptr, false);
    if (!j.is_object()) return;
    beats.push_back({j.value("rank", -1), j.value("step", 0L), j.value("time", 0.0), j.value("node", ""),
                     j.value("resumed_from", 0L), j.value("started_at", 0.0), j.value("mpi_ready_at", 0.0),
                     j.value("ready_at", 0.0)});
  });
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
  std::string dir;
  int rank = 0;
  std::mutex mutex;
  std::condition_variable wake;
  bool stop = false;
  std::thread thread;
};

LivenessBeat::LivenessBeat(std::string dir, int rank) : impl_(new Impl) {
  impl_->dir = std::move(dir);
  impl_->rank = rank;
  impl_->thread = std::thread([impl = impl_] {
    std::unique_lock lock(impl->mutex);
    while (!impl->stop) {
      write_beat_file(impl->dir, kLivenessPrefix, impl->rank, fmt::format("{:.3f}", now_seconds()));
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
  for_each_beat_file(dir, kLivenessPrefix, [&](const std::filesystem::path& path, int rank) {
    std::istringstream text(read_beat_file(path));
    double time = 0;
    text >> time;
    if (time > 0) out.emplace_back(rank, time);
  });
  return out;
}

namespace {

// A rank-and-node file DIR/<prefix><rank> (JSON).
void write_rank_flag(const std::string& dir, const std::string& prefix, const RankOnNode& flag) {
  write_beat_file(dir, prefix, flag.rank, nlohmann::json{{"rank", flag.rank}, {"node", flag.node}}.dump());
}

std::vector<RankOnNode> read_rank_flags(const std::string& dir, const std::string& prefix) {
  std::vector<RankOnNode> flags;
  for_each_beat_file(dir, prefix, [&](const std::filesystem::path& path, int rank) {
    const auto j = nlohmann::json::parse(read_beat_file(path), nullptr, false);
    if (j.is_object() && j.value("node", "") != "") flags.push_back({rank, j.value("node", "")});
  });
  return flags;
}

}  // namespace

void write_straggler_flag(const std::string& dir, const StragglerFlag& flag) {
  write_rank_flag(dir, kStragglerPrefix, flag);
}

void clear_straggler_flag(const std::string& dir, int rank) {
  std::remove((dir + "/" + kStragglerPrefix + std::to_string(rank)).c_str());
}

std::vector<StragglerFlag> read_straggler_flags(const std::string& dir) { return read_rank_flags(dir, kStragglerPrefix); }

void write_blame(const std::string& dir, const RankOnNode& blamed) { write_rank_flag(dir, kBlamePrefix, blamed); }

std::optional<RankOnNode> read_blame(const std::string& dir) {
  const auto flags = read_rank_flags(dir, kBlamePrefix);
  if (flags.empty()) return std::nullopt;
  return flags.front();
}

void reset_heartbeat_dir(const std::string& dir) {
  std::filesystem::create_directories(dir);
  const char* prefixes[] = {kProgressPrefix, kLivenessPrefix, kStragglerPrefix, kBlamePrefix};
  for (const char* prefix : prefixes) {
    for_each_beat_file(dir, prefix, [](const std::filesystem::path& path, int) { std::filesystem::remove(path); });
  }
  // The temp files (".<prefix><rank>.<pid>.tmp") of writers killed between create and rename.
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
    const std::string name = entry.path().filename().string();
    for (const char* prefix : prefixes) {
      const bool temp = name.rfind(std::string(".") + prefix, 0) == 0 && name.ends_with(".tmp");
      if (temp) std::filesystem::remove(entry.path(), error);
    }
  }
}

}  // namespace sigma
