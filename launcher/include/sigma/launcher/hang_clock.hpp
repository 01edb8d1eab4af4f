// When sigma-launch supervise calls a step hung. Start-up (srun, MPI_Init, data and checkpoint load, the first
// training step) takes far longer than a step and varies with the machine's load, so it has its own bound:
//   until every rank has written its first heartbeat of this attempt, the step is judged against
//   policy.startup_timeout_s from its launch (a rank that never starts is caught here);
//   after that, against policy.heartbeat_timeout_s from its newest heartbeat (a collective stalls every rank
//   behind a stopped one, so no progress anywhere is a hang).
// No processes and no files: unit-tested without a cluster.
#pragma once

#include <string>
#include <vector>

#include "sigma/core/heartbeat.hpp"
#include "sigma/core/site_config.hpp"

namespace sigma::launch {

struct HangCheck {
  bool hung = false;
  bool starting = false;          // some rank has not beaten yet: the start-up bound applies
  std::vector<int> not_started;   // those ranks
  double waited_s = 0;            // since the launch (starting) or the newest heartbeat
  double bound_s = 0;             // the bound it is held to

  // One line for the log: what was waited for, how long, and the site config key that bounds it.
  std::string reason() const;
};

// `ranks`: the step's task count; `launched`, `now`: seconds since the epoch; `beats`: this attempt's heartbeats.
HangCheck check_hang(const PolicyConfig& policy, double launched, int ranks, const std::vector<Heartbeat>& beats,
                     double now);

}  // namespace sigma::launch
