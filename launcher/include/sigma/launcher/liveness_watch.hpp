// When sigma-launch supervise calls a rank lost from its liveness beats (a thread of every rank beats once a second,
// even while its training thread waits in a collective, with its node: a datagram, contracts/liveness_datagram.hpp,
// or the file alive-<r>, contracts/heartbeat.hpp):
//   lost          a rank silent for policy.liveness_timeout_s while another rank beat at least kLivenessEvidence_s
//                 after that rank's last beat: the directory took beats that rank did not write, so its process
//                 or its node is gone, frozen or cut off. Its node is to blame.
//   every_silent  every rank of the step silent for the timeout at once. On two or more nodes that is the
//                 heartbeat directory's fault (their writes fail; hang_clock.hpp, heartbeat_dir_fault), not a
//                 node's; all on one node, that node's.
// A silent rank without such a witness (another rank beating well after it) is not judged: the ranks' last beats
// lie within a period of each other when the directory stops taking writes, and the slowest must not be blamed
// before the others fall silent too.
// Times are the supervisor's own: when it saw a rank's record change, not the time the rank wrote in it, so a
// node whose clock is off by a few seconds is not taken for a silent one. A rank not seen beating yet is not
// judged here: start-up has its own bound, and a rank that beats but makes no step progress is held to the
// progress timeout (hang_clock.hpp). No processes and no files: unit-tested without a cluster.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "sigma/contracts/heartbeat.hpp"

namespace sigma::launch {

// How much later than a silent rank's last beat another rank must have beaten to witness against it: two beat
// periods, so the silent rank missed at least two beats the directory would have taken.
inline constexpr double kLivenessEvidence_s = 2 * kLivenessPeriod_s;

struct LivenessCheck {
  bool lost = false;
  bool every_silent = false;
  int rank = -1;                // lost: the silent rank (the longest silent one)
  std::string node;             // lost: its node; every_silent: the one node of every rank ("" for several)
  double silent_s = 0;          // lost: its silence; every_silent: the shortest silence of any rank
  int seen = 0;                 // ranks seen beating
  std::set<std::string> nodes;  // their nodes (a record without a node adds none)
  double timeout_s = 0;

  // One line for the log: who is silent, for how long, and the site config key that bounds it.
  std::string reason() const;
  // Shorter, for a drain reason and the ledger's evidence: "rank 1 on n2: no liveness beat for 3.2s".
  std::string evidence() const;
};

class LivenessWatch {
 public:
  // `timeout_s`: policy.liveness_timeout_s; `ranks`: the step's task count.
  LivenessWatch(double timeout_s, int ranks) : timeout_s_(timeout_s), ranks_(ranks) {}

  // Takes the attempt's liveness records as read at `now` (seconds since the epoch, the supervisor's clock).
  void observe(const std::vector<Liveness>& records, double now);
  LivenessCheck check(double now) const;

 private:
  struct Seen {
    double written = 0;     // the time in the record, only to tell a new record from the one seen before
    double changed_at = 0;  // when the supervisor saw it change
    std::string node;
  };
  double timeout_s_;
  int ranks_;
  std::map<int, Seen> seen_;
};

}  // namespace sigma::launch
