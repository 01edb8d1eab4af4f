// sigma's supervision protocol (version 2) for any C++ training program, header-only: no sigma library, no
// JSON library, C++17 and POSIX. Under `sigma-launch supervise` a program that uses it gets hang detection, the
// blamed node and the stop-signal save, as sigma-train does (launcher/README.md, "The supervision protocol"):
//
//   sigma::client::Client sigma(rank);        // after MPI_Init: signal handlers, liveness thread
//   for (...) { step(); sigma.beat(++done); if (sigma.should_stop()) { save(); return sigma::client::kExitRequeue; } }
//
// Outside a supervised step (no SIGMA_HEARTBEAT_DIR) beat, blame and the liveness thread do nothing, and
// should_stop still reports SIGUSR1 and SIGTERM. Every write replaces a file whole (a temporary file renamed
// over it); a failed write is ignored: a full disk must not stop training, the supervisor sees the missing beat.
// The liveness beat is a UDP datagram to the supervisor when it listens for them (SIGMA_LIVENESS_PORT, with
// SIGMA_LIVENESS_TOKEN and srun's SLURM_LAUNCH_NODE_IPADDR), else the file alive-<r>.
#pragma once

#include <fcntl.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>

namespace sigma::client {

inline constexpr int kProtocolVersion = 2;

// Exit codes (docs/exit-codes.md). Slurm requeues 10, 12, 13 and 42 (RequeueExit).
inline constexpr int kExitOk = 0, kExitUsage = 2, kExitConfig = 3, kExitBadData = 4, kExitNotFound = 5,
                     kExitNodeHardware = 10, kExitNumerical = 11, kExitHang = 12, kExitTransient = 13,
                     kExitRequeue = 42;

inline constexpr double kLivenessPeriodSeconds = 1.0;

namespace detail {

inline volatile std::sig_atomic_t stop_signal = 0;
extern "C" inline void record_stop_signal(int number) { stop_signal = number; }

inline std::string env(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr ? value : "";
}

inline double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// This node as sigma names it: SIGMA_NODE_NAME, else SLURMD_NODENAME, else the short host name.
inline std::string node_name() {
  for (const char* name : {"SIGMA_NODE_NAME", "SLURMD_NODENAME"})
    if (!env(name).empty()) return env(name);
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  const std::string name(host);
  return name.substr(0, name.find('.'));
}

// `text` as a JSON string.
inline std::string quoted(const std::string& text) {
  std::string out = "\"";
  for (const unsigned char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
      out += escaped;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

inline std::string number(double value) {
  char text[64];
  std::snprintf(text, sizeof text, "%.6f", value);
  return text;
}

// Replaces DIR/<name> whole with `contents`; best effort.
inline void replace_file(const std::string& dir, const std::string& name, const std::string& contents) {
  if (dir.empty()) return;
  static std::atomic<unsigned> sequence{0};
  const std::string temporary = dir + "/." + name + "." + std::to_string(getpid()) + "." + std::to_string(sequence++);
  const int fd = open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) return;
  const bool written = write(fd, contents.data(), contents.size()) == static_cast<ssize_t>(contents.size());
  close(fd);
  if (!written || rename(temporary.c_str(), (dir + "/" + name).c_str()) != 0) unlink(temporary.c_str());
}

// A UDP socket connected to the supervisor's liveness port, or -1: then the file is written.
inline int liveness_socket() {
  const std::string host = env("SLURM_LAUNCH_NODE_IPADDR"), port = env("SIGMA_LIVENESS_PORT");
  if (host.empty() || port.empty() || env("SIGMA_LIVENESS_TOKEN").empty()) return -1;
  addrinfo hints{};
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), port.c_str(), &hints, &found) != 0) return -1;
  int fd = socket(found->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd >= 0 && connect(fd, found->ai_addr, found->ai_addrlen) != 0) {
    close(fd);
    fd = -1;
  }
  freeaddrinfo(found);
  return fd;
}

}  // namespace detail

class Client {
 public:
  // Once per process, when its ranks can talk to each other. `rank`: the global rank; `resumed_from`: the step
  // its checkpoint holds (0 for a fresh start). Installs SIGUSR1 and SIGTERM handlers that only record. A header
  // cannot know when the process started: the beats' started_at and mpi_ready_at are this construction's time.
  explicit Client(int rank, long resumed_from = 0)
      : rank_(rank), resumed_from_(resumed_from), node_(detail::node_name()), dir_(detail::env("SIGMA_HEARTBEAT_DIR")),
        attempt_(detail::env("SIGMA_HEARTBEAT_ATTEMPT")), started_at_(detail::now_seconds()) {
    std::signal(SIGUSR1, detail::record_stop_signal);
    std::signal(SIGTERM, detail::record_stop_signal);
    if (!dir_.empty()) liveness_ = std::thread([this] { beat_liveness(); });
  }
  ~Client() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    if (liveness_.joinable()) liveness_.join();
  }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Optional: the moment the program is ready to train (data and checkpoint loaded). Default: the first beat.
  void ready() { ready_at_ = detail::now_seconds(); }

  // After each training step: `step` is the number of steps done.
  void beat(long step) {
    const double now = detail::now_seconds();
    if (ready_at_ == 0) ready_at_ = now;
    detail::replace_file(dir_, "rank-" + std::to_string(rank_),
                         "{\"rank\":" + std::to_string(rank_) + ",\"step\":" + std::to_string(step) +
                             ",\"time\":" + detail::number(now) + ",\"node\":" + detail::quoted(node_) +
                             ",\"resumed_from\":" + std::to_string(resumed_from_) +
                             ",\"started_at\":" + detail::number(started_at_) +
                             ",\"mpi_ready_at\":" + detail::number(started_at_) +
                             ",\"ready_at\":" + detail::number(ready_at_) +
                             ",\"attempt\":" + detail::quoted(attempt_) + "}");
  }

  // True once SIGUSR1 or SIGTERM has arrived: save, then exit with kExitRequeue.
  bool should_stop() const { return detail::stop_signal != 0; }

  // Names the rank and node whose hardware made the program stop; exit with kExitNodeHardware afterwards.
  void blame(int rank, const std::string& node) const {
    detail::replace_file(dir_, "blame-" + std::to_string(rank),
                         "{\"rank\":" + std::to_string(rank) + ",\"node\":" + detail::quoted(node) +
                             ",\"attempt\":" + detail::quoted(attempt_) + "}");
  }
  void blame_this_rank() const { blame(rank_, node_); }

 private:
  void beat_liveness() {
    const int datagrams = detail::liveness_socket();
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      const std::string record = "{\"time\":" + detail::number(detail::now_seconds()) + ",\"attempt\":" +
                                 detail::quoted(attempt_) + ",\"node\":" + detail::quoted(node_);
      if (datagrams >= 0) {
        const std::string datagram = record + ",\"v\":2,\"rank\":" + std::to_string(rank_) +
                                     ",\"token\":" + detail::quoted(detail::env("SIGMA_LIVENESS_TOKEN")) + "}";
        (void)send(datagrams, datagram.data(), datagram.size(), MSG_DONTWAIT | MSG_NOSIGNAL);  // lost: a missed beat
      } else {
        detail::replace_file(dir_, "alive-" + std::to_string(rank_), record + "}");
      }
      wake_.wait_for(lock, std::chrono::duration<double>(kLivenessPeriodSeconds));
    }
    if (datagrams >= 0) close(datagrams);
  }

  const int rank_;
  const long resumed_from_;
  const std::string node_, dir_, attempt_;
  const double started_at_;
  double ready_at_ = 0;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread liveness_;
};

}  // namespace sigma::client
