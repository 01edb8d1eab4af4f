// When sigma-launch supervise calls a step hung. Start-up (srun, MPI_Init, data and checkpoint load, the first
// training step) takes far longer than a step and varies with the machine's load, so it has its own bound:
//   until every rank has written its first heartbeat of this attempt, the step is judged against
//   policy.startup_timeout_s from its launch (a rank that never starts is caught here);
//   after that, against policy.heartbeat_timeout_s from its newest heartbeat (a collective stalls every rank
//   behind a stopped one, so no progress anywhere is a hang).
// A program that beats liveness only (it calls the client's start() but not beat(): --beats liveness) has no
// progress to judge: its start-up is bounded by its first liveness beats (check_liveness_start), and after that
// only a lost or silent rank (liveness_watch.hpp) ends the step; a hang inside a live process goes unseen.
// A rank whose liveness beat stops is caught sooner, by liveness_watch.hpp. Before either blames a node, the
// heartbeat directory is asked (heartbeat_dir_fault): beats that could not be written say nothing about a node.
// No processes and no files: unit-tested without a cluster.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "sigma/contracts/heartbeat.hpp"
#include "sigma/policy/site_config.hpp"
#include "sigma/launcher/liveness_watch.hpp"

namespace sigma::launch {

// What the step's ranks beat (sigma-launch supervise --beats): a progress beat every training step, or only
// their liveness beat.
enum class Beats { progress, liveness };

struct HangCheck {
  bool hung = false;
  bool starting = false;          // some rank has not beaten yet: the start-up bound applies
  std::vector<int> not_started;   // those ranks
  double waited_s = 0;            // since the launch (starting) or the newest heartbeat
  double bound_s = 0;             // the bound it is held to
  Beats beats = Beats::progress;  // the beats judged

  // One line for the log: what was waited for, how long, and the site config key that bounds it.
  std::string reason() const;
};

// `ranks`: the step's task count; `launched`, `now`: seconds since the epoch; `beats`: this attempt's heartbeats.
HangCheck check_hang(const PolicyConfig& policy, double launched, int ranks, const std::vector<Heartbeat>& beats,
                     double now);

// For a step that beats liveness only: hung while some rank has not written its first liveness beat
// policy.startup_timeout_s after the launch; never once every rank has (liveness_watch.hpp judges them then).
// `liveness`: this attempt's records.
HangCheck check_liveness_start(const PolicyConfig& policy, double launched, int ranks,
                               const std::vector<Liveness>& liveness, double now);

// The beats that belong to an attempt: written for it (`attempt`, the id the supervisor handed its ranks in
// SIGMA_HEARTBEAT_ATTEMPT) and not older than its launch. A rank of an aborted step that was frozen and thaws
// after the restart writes beats for its own attempt; a write it began before it froze may land with the old time.
std::vector<Heartbeat> beats_of_attempt(const std::vector<Heartbeat>& beats, const std::string& attempt,
                                        double launched);

// Whether a hang or a silent rank is the heartbeat directory's fault rather than a node's: "" when a node may be
// blamed, else one line, "heartbeat directory DIR not writable: WHY". `probe_error` is probe_heartbeat_dir's
// answer ("" when the supervisor could write there); `beats` and `liveness` are this attempt's. Besides a failed
// probe, every rank silent at once (liveness.every_silent), on more than one node (of their liveness or progress
// beats), is the filesystem's fault: a frozen or dead node stops only its own ranks' beats, while the others keep
// beating as they wait for it.
std::string heartbeat_dir_fault(const std::string& dir, const std::string& probe_error,
                                const std::vector<Heartbeat>& beats, const LivenessCheck& liveness);

}  // namespace sigma::launch
