// Per-rank heartbeats: every rank of a training step rewrites DIR/rank-<r> after each step (through
// durable_file.hpp without fsync: an O_EXCL|O_NOFOLLOW temp file renamed over it, so a reader never sees half a
// file and no planted link is followed) with the step it finished, the time and its node. The supervisor reads
// them to see a hang (no progress for policy.heartbeat_timeout_s) and to blame the rank that stopped first: a
// collective stalls every other rank behind it, so the stopped one is the one with the oldest step.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace sigma {

struct Heartbeat {
  int rank = 0;
  long step = 0;
  double time = 0;   // seconds since the epoch
  std::string node;
  long resumed_from = 0;  // the step this process started from (its checkpoint's step; 0 for a fresh start)
  double started_at = 0;  // when the process started (before MPI_Init)
  double mpi_ready_at = 0;  // when MPI_Init returned
  double ready_at = 0;    // when it was ready to train (MPI up, data and checkpoint loaded)
};

// The environment variable through which the supervisor names the directory for the ranks.
inline constexpr const char* kHeartbeatDirEnv = "SIGMA_HEARTBEAT_DIR";

void write_heartbeat(const std::string& dir, const Heartbeat& beat);  // best effort: a full disk must not kill training
std::vector<Heartbeat> read_heartbeats(const std::string& dir);       // unreadable files are skipped

// Liveness, apart from progress: a thread of each rank rewrites DIR/alive-<r> every kLivenessPeriod_s while the
// process runs, even while its training thread waits in a collective. A rank whose process is frozen or gone
// stops beating; the ranks waiting for it do not.
inline constexpr double kLivenessPeriod_s = 1.0;

class LivenessBeat {
 public:
  LivenessBeat(std::string dir, int rank);  // starts the thread
  ~LivenessBeat();                          // stops and joins it
  LivenessBeat(const LivenessBeat&) = delete;
  LivenessBeat& operator=(const LivenessBeat&) = delete;

 private:
  struct Impl;
  Impl* impl_;
};

// Each rank's last liveness time (seconds since the epoch), by rank.
std::vector<std::pair<int, double>> read_liveness(const std::string& dir);

// Straggler flags: while the trainer's straggler monitor holds rank r to be a straggler, DIR/straggler-<r> holds
// its rank and node (JSON); the flag is removed when the rank recovers. The supervisor moves the job off a
// flagged node when the site policy says so (policy.exclude_stragglers).
struct RankOnNode {
  int rank = 0;
  std::string node;
};
using StragglerFlag = RankOnNode;
void write_straggler_flag(const std::string& dir, const StragglerFlag& flag);  // best effort, like heartbeats
void clear_straggler_flag(const std::string& dir, int rank);
std::vector<StragglerFlag> read_straggler_flags(const std::string& dir);     // unreadable files are skipped

// The trainer's blame: when a guardrail stops the run as a hardware fault (exit 10: a transient fault on re-run,
// a replica whose weights differ), DIR/blame-<r> names the rank and node it blamed. Every rank exits 10 together,
// so srun's error lines name whichever task it saw end first; the supervisor drains this node instead.
void write_blame(const std::string& dir, const RankOnNode& blamed);  // best effort, like heartbeats
std::optional<RankOnNode> read_blame(const std::string& dir);

// Creates DIR when missing and removes the heartbeat, liveness, straggler and blame files in it, so a new attempt
// starts clean.
void reset_heartbeat_dir(const std::string& dir);

// The rank to blame for a hang: one whose liveness went stale (its process stopped), the stalest first; when
// every rank is still alive (a device hang), the rank with the lowest step, then the oldest time. nullopt when
// there are no heartbeats.
std::optional<Heartbeat> stopped_first(const std::vector<Heartbeat>& beats,
                                       const std::vector<std::pair<int, double>>& liveness = {}, double now = 0);

}  // namespace sigma
