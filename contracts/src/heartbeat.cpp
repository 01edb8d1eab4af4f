#include "sigma/contracts/node_name.hpp"
#include "sigma/contracts/heartbeat.hpp"
#include "sigma/contracts/liveness_datagram.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <climits>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <set>
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

// The rank a file name DIR/<prefix><rank> names, or -1 for any other name (a temp file being written, a foreign
// file such as "rank-1.bak").
int rank_in_name(const std::string& name, const std::string& prefix) {
  if (name.rfind(prefix, 0) != 0) return -1;
  const char* first = name.data() + prefix.size();
  const char* last = name.data() + name.size();
  int rank = -1;
  const auto [end, error] = std::from_chars(first, last, rank);
  return first != last && *first != '-' && *first != '+' && error == std::errc() && end == last ? rank : -1;
}

// Calls `use(path, rank)` for each file DIR/<prefix><rank>.
template <typename Use>
void for_each_beat_file(const std::string& dir, const std::string& prefix, Use&& use) {
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
    const int rank = rank_in_name(entry.path().filename().string(), prefix);
    if (rank >= 0) use(entry.path(), rank);
  }
}

// Says once per file why it is skipped: the supervisor reads the directory every half second.
void skip_file(const std::filesystem::path& path, const std::string& why) {
  static std::mutex mutex;
  static std::set<std::string> warned;
  std::lock_guard lock(mutex);
  if (warned.insert(path.string()).second) {
    fmt::print(stderr, "sigma: warning: heartbeat file {} skipped: {}\n", path.string(), why);
  }
}

// The text of a beat file, or nullopt when it is not a small regular file (a FIFO or device planted in the
// directory must not block or flood the supervisor). A file gone between listing and reading (replaced by its
// writer's rename, removed by a reset) is skipped without a word.
std::optional<std::string> read_beat_file(const std::filesystem::path& path) {
  constexpr std::size_t kMaxBeatBytes = 64 * 1024;
  try {
    return read_regular_file(path.string(), kMaxBeatBytes, "heartbeat file");
  } catch (const Error& e) {
    if (e.code() != ExitCode::not_found) skip_file(path, e.what());
    return std::nullopt;
  }
}

// A beat file's JSON object, or nullopt (said once) when it is not one.
std::optional<nlohmann::json> read_record(const std::filesystem::path& path) {
  const auto text = read_beat_file(path);
  if (!text) return std::nullopt;
  auto record = nlohmann::json::parse(*text, nullptr, false);
  if (!record.is_object()) {
    skip_file(path, "expected a JSON object");
    return std::nullopt;
  }
  return record;
}

// Typed fields of a record; each throws Error(bad_data) naming the key for a missing key or a value of another
// type or range. Integers must be JSON integers (a double such as 1e300 would not fit).
[[noreturn]] void bad_field(const char* key, const char* expected) {
  throw Error(ExitCode::bad_data, fmt::format("\"{}\": expected {}", key, expected));
}
long long_field(const nlohmann::json& record, const char* key) {
  const auto it = record.find(key);
  const bool fits = it != record.end() && (it->is_number_integer() && !(it->is_number_unsigned() &&
                                                                        it->get<unsigned long>() > LONG_MAX));
  if (!fits) bad_field(key, "an integer");
  return it->get<long>();
}
double double_field(const nlohmann::json& record, const char* key) {
  const auto it = record.find(key);
  if (it == record.end() || !it->is_number() || !std::isfinite(it->get<double>())) bad_field(key, "a number");
  return it->get<double>();
}
std::string string_field(const nlohmann::json& record, const char* key) {
  const auto it = record.find(key);
  if (it == record.end() || !it->is_string()) bad_field(key, "a string");
  return it->get<std::string>();
}
// "attempt" is absent from records written outside a supervised step, "node" from liveness an older writer wrote.
std::string optional_string_field(const nlohmann::json& record, const char* key) {
  return record.contains(key) ? string_field(record, key) : "";
}
// The rank a record names must be the file's.
void check_rank(const nlohmann::json& record, int rank) {
  const long named = long_field(record, "rank");
  if (named != rank) throw Error(ExitCode::bad_data, fmt::format("\"rank\": {} in the file of rank {}", named, rank));
}

// Parses every DIR/<prefix><rank> file that holds a JSON object; a record `parse` refuses (throws Error) is
// skipped, said once per file.
template <typename Parse>
void for_each_record(const std::string& dir, const std::string& prefix, Parse parse) {
  for_each_beat_file(dir, prefix, [&](const std::filesystem::path& path, int rank) {
    const auto record = read_record(path);
    if (!record) return;
    try {
      parse(*record, rank);
    } catch (const Error& e) {
      skip_file(path, e.what());
    }
  });
}

bool wanted(const AttemptFilter& filter, const std::string& attempt) { return !filter || *filter == attempt; }

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

std::string heartbeat_attempt_from_env() {
  const char* attempt = std::getenv(env::kHeartbeatAttempt);
  return attempt != nullptr ? attempt : "";
}

void write_heartbeat(const std::string& dir, const Heartbeat& beat) {
  write_beat_file(dir, kProgressPrefix, beat.rank,
                  nlohmann::json{{"rank", beat.rank}, {"step", beat.step}, {"time", beat.time}, {"node", beat.node},
                                 {"resumed_from", beat.resumed_from}, {"started_at", beat.started_at},
                                 {"mpi_ready_at", beat.mpi_ready_at}, {"ready_at", beat.ready_at},
                                 {"attempt", heartbeat_attempt_from_env()}}
                      .dump());
}

std::vector<Heartbeat> read_heartbeats(const std::string& dir, const AttemptFilter& attempt) {
  std::vector<Heartbeat> beats;
  for_each_record(dir, kProgressPrefix, [&](const nlohmann::json& record, int rank) {
    check_rank(record, rank);
    // A braced list is evaluated in order: the first bad field, in this order, is the one named.
    Heartbeat beat{rank,
                   long_field(record, "step"),
                   double_field(record, "time"),
                   string_field(record, "node"),
                   long_field(record, "resumed_from"),
                   double_field(record, "started_at"),
                   double_field(record, "mpi_ready_at"),
                   double_field(record, "ready_at"),
                   optional_string_field(record, "attempt")};
    if (wanted(attempt, beat.attempt)) beats.push_back(std::move(beat));
  });
  return beats;
}

std::optional<Heartbeat> stopped_first(const std::vector<Heartbeat>& beats, const std::vector<Liveness>& liveness,
                                       double now, double stale_after_s) {
  if (beats.empty()) return std::nullopt;
  const Liveness* stalest = nullptr;
  for (const auto& alive : liveness) {
    if (now - alive.time > stale_after_s && (!stalest || alive.time < stalest->time)) stalest = &alive;
  }
  if (stalest) {
    for (const auto& beat : beats) {
      if (beat.rank == stalest->rank) return beat;
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
  impl_->thread = std::thread([impl = impl_, attempt = heartbeat_attempt_from_env(), node = this_node_name()] {
    // A datagram to the supervisor when it listens for them (liveness_datagram.hpp), else the file.
    const auto address = liveness_address_from_env();
    std::optional<LivenessSender> sender;
    if (address) sender.emplace(*address);
    std::unique_lock lock(impl->mutex);
    while (!impl->stop) {
      if (sender && sender->ready()) {
        sender->send(liveness_datagram(impl->rank, now_seconds(), attempt, node, address->token));
      } else {
        write_beat_file(impl->dir, kLivenessPrefix, impl->rank,
                        nlohmann::json{{"time", now_seconds()}, {"attempt", attempt}, {"node", node}}.dump());
      }
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

std::vector<Liveness> read_liveness(const std::string& dir, const AttemptFilter& attempt) {
  std::vector<Liveness> out;
  for_each_record(dir, kLivenessPrefix, [&](const nlohmann::json& record, int rank) {
    const double time = double_field(record, "time");
    const std::string written_for = optional_string_field(record, "attempt");
    const std::string node = optional_string_field(record, "node");
    if (wanted(attempt, written_for)) out.push_back(Liveness{rank, time, node});
  });
  return out;
}

namespace {

// A rank-and-node file DIR/<prefix><rank> (JSON).
void write_rank_flag(const std::string& dir, const std::string& prefix, const RankOnNode& flag) {
  write_beat_file(dir, prefix, flag.rank,
                  nlohmann::json{{"rank", flag.rank}, {"node", flag.node}, {"attempt", heartbeat_attempt_from_env()}}
                      .dump());
}

std::vector<RankOnNode> read_rank_flags(const std::string& dir, const std::string& prefix, const AttemptFilter& attempt) {
  std::vector<RankOnNode> flags;
  for_each_record(dir, prefix, [&](const nlohmann::json& record, int rank) {
    check_rank(record, rank);
    RankOnNode flag{rank, string_field(record, "node")};
    const std::string written_for = optional_string_field(record, "attempt");
    if (flag.node.empty()) throw Error(ExitCode::bad_data, "\"node\": expected a node name");
    if (wanted(attempt, written_for)) flags.push_back(std::move(flag));
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

std::vector<StragglerFlag> read_straggler_flags(const std::string& dir, const AttemptFilter& attempt) {
  return read_rank_flags(dir, kStragglerPrefix, attempt);
}

void write_blame(const std::string& dir, const RankOnNode& blamed) { write_rank_flag(dir, kBlamePrefix, blamed); }

std::optional<RankOnNode> read_blame(const std::string& dir, const AttemptFilter& attempt) {
  const auto flags = read_rank_flags(dir, kBlamePrefix, attempt);
  if (flags.empty()) return std::nullopt;
  return flags.front();
}

namespace {

constexpr const char* kProbePrefix = ".sigma-probe.";

[[noreturn]] void refuse_dir(const std::string& dir, ExitCode code, const std::string& why) {
  throw Error(code, fmt::format("heartbeat directory {}: {}", dir, why));
}

// DIR, created when missing (0755: umask only clears bits, so a site's umask 002 does not make it group-writable),
// then refused unless it is a directory of this process's user that no one else can write.
void require_own_dir(std::string dir) {
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  std::error_code error;
  const std::filesystem::path parent = std::filesystem::path(dir).parent_path();
  if (!parent.empty() && !std::filesystem::create_directories(parent, error) && error) {
    refuse_dir(dir, exit_code_for_errno(error.value()), "cannot create its parent: " + error.message());
  }
  if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    refuse_dir(dir, exit_code_for_errno(errno), fmt::format("cannot create it: {}", std::strerror(errno)));
  }
  struct stat st {};
  if (lstat(dir.c_str(), &st) == 0 && !S_ISDIR(st.st_mode)) {
    refuse_dir(dir, ExitCode::config, S_ISLNK(st.st_mode) ? "a symbolic link (not followed: name the directory itself)"
                                                          : "not a directory");
  }
  // Opened without following a link, and judged on the descriptor: what was checked is what is used.
  UniqueFd fd(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (fd.get() < 0 || fstat(fd.get(), &st) != 0) {
    refuse_dir(dir, ExitCode::config, fmt::format("cannot open it: {}", std::strerror(errno)));
  }
  const char* expected = "; expected a directory that only this job's user can write (another user's beats, flags "
                         "or blame there would decide which node is drained)";
  if (st.st_uid != geteuid()) {
    refuse_dir(dir, ExitCode::config, fmt::format("owned by uid {}, not by this job's uid {}{}", st.st_uid, geteuid(), expected));
  }
  if (st.st_mode & (S_IWGRP | S_IWOTH)) {
    refuse_dir(dir, ExitCode::config, fmt::format("writable by group or others (mode {:04o}){}", st.st_mode & 07777, expected));
  }
}

}  // namespace

void reset_heartbeat_dir(const std::string& dir) {
  require_own_dir(dir);
  const char* prefixes[] = {kProgressPrefix, kLivenessPrefix, kStragglerPrefix, kBlamePrefix};
  for (const char* prefix : prefixes) {
    for_each_beat_file(dir, prefix, [](const std::filesystem::path& path, int) { std::filesystem::remove(path); });
  }
  // The temp files (".<prefix><rank>.<pid>.tmp") of writers killed between create and rename, and probes left by
  // a supervisor killed between write and remove.
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
    const std::string name = entry.path().filename().string();
    bool ours = name.rfind(kProbePrefix, 0) == 0;
    for (const char* prefix : prefixes) ours = ours || (name.rfind(std::string(".") + prefix, 0) == 0 && name.ends_with(".tmp"));
    if (ours) std::filesystem::remove(entry.path(), error);
  }
}

std::string probe_heartbeat_dir(const std::string& dir) {
  // 4 KiB: a data block must be allocated (a few bytes could fit in a full filesystem's inode); synced, so a
  // filesystem that reports ENOSPC or EIO only on sync (NFS) is caught too.
  const std::string probe = fmt::format("{}/{}{}", dir, kProbePrefix, getpid());
  try {
    write_file_durably(probe, std::string(4096, '.'), Durability::fsync);
  } catch (const Error& e) {
    return e.what();
  }
  if (unlink(probe.c_str()) != 0) return fmt::format("{}: remove failed: {}", probe, std::strerror(errno));
  return "";
}

}  // namespace sigma
