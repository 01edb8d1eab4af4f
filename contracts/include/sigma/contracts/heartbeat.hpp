// Per-rank heartbeats: every rank of a training step rewrites DIR/rank-<r> after each step (through
// durable_file.hpp without fsync: an O_EXCL|O_NOFOLLOW temp file renamed over it, so a reader never sees half a
// file and no planted link is followed) with the step it finished, the time and its node. The supervisor reads
// them to see a hang (no progress for policy.heartbeat_timeout_s) and to blame the rank that stopped first: a
// collective stalls every other rank behind it, so the stopped one is the one with the oldest step.
//
// Every record carries the attempt it belongs to: the supervisor names each attempt of the step in
// SIGMA_HEARTBEAT_ATTEMPT and the writers here copy it into what they write, so a rank of an aborted step that
// thaws late (a frozen node) cannot pass its beats, liveness, flags or blame off as the new attempt's.
// The readers skip (and warn once about) a file that is not a well-formed record: the directory is data, not a
// contract anyone enforces, and one bad file must not stop the supervisor.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sigma/contracts/env_names.hpp"  // the supervisor names the directory and the attempt for the ranks

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
  std::string attempt = {};  // read back: the attempt it was written for ("" outside a supervised step)
};

// The attempt this process writes for: $SIGMA_HEARTBEAT_ATTEMPT, or "" when unset.
std::string heartbeat_attempt_from_env();

// Readers take the attempt to read: nullopt reads every record, a value only those written for that attempt.
using AttemptFilter = std::optional<std::string>;

// Best effort: a full disk must not kill training. `beat.attempt` is ignored: the environment's is written.
void write_heartbeat(const std::string& dir, const Heartbeat& beat);
std::vector<Heartbeat> read_heartbeats(const std::string& dir, const AttemptFilter& attempt = std::nullopt);

// Liveness, apart from progress: a thread of each rank sends a datagram to the supervisor when it gives a port
// (liveness_datagram.hpp), else rewrites DIR/alive-<r>, every kLivenessPeriod_s while the
// process runs, even while its training thread waits in a collective, with the time and its node
// (this_node_name()), so a rank that stops beating can be placed before its first progress beat. A rank whose
// process is frozen or gone, or whose node died, stops beating; the ranks waiting for it do not.
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

// One rank's last liveness beat: when it was written (seconds since the epoch, the writer's clock) and where
// ("" when the writer did not know its node).
struct Liveness {
  int rank = 0;
  double time = 0;
  std::string node = {};
};
std::vector<Liveness> read_liveness(const std::string& dir, const AttemptFilter& attempt = std::nullopt);

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
std::vector<StragglerFlag> read_straggler_flags(const std::string& dir, const AttemptFilter& attempt = std::nullopt);

// The trainer's blame: when a guardrail stops the run as a hardware fault (exit 10: a transient fault on re-run,
// a replica whose weights differ), DIR/blame-<r> names the rank and node it blamed. Every rank exits 10 together,
// so srun's error lines name whichever task it saw end first; the supervisor drains this node instead.
void write_blame(const std::string& dir, const RankOnNode& blamed);  // best effort, like heartbeats
std::optional<RankOnNode> read_blame(const std::string& dir, const AttemptFilter& attempt = std::nullopt);

// Creates DIR when missing (mode 0755, its parents as needed) and removes the heartbeat, liveness, straggler and
// blame files in it, so a new attempt starts clean. Refuses (sigma::Error, config) a directory that is a symbolic
// link, is owned by another user or is writable by group or others: whoever else can write it can plant beats,
// flags or blame that decide which node the supervisor drains.
void reset_heartbeat_dir(const std::string& dir);

// Whether this process can create, write (4 KiB, synced) and remove a file in DIR: "" when it can, else why not
// ("No space left on device"). A supervisor asks before it blames a node for missing heartbeats.
std::string probe_heartbeat_dir(const std::string& dir);

// The rank to blame for a hang: one whose liveness is older than `stale_after_s` (its process stopped), the
// stalest first; when every rank is still alive (a device hang), the rank with the lowest step, then the oldest
// time. nullopt when there are no heartbeats.
std::optional<Heartbeat> stopped_first(const std::vector<Heartbeat>& beats, const std::vector<Liveness>& liveness = {},
                                       double now = 0, double stale_after_s = 3 * kLivenessPeriod_s);

}  // namespace sigma
