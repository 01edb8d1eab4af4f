// How the supervisor ends once a stop signal made the step save its state and exit 42. SIGUSR1 (sbatch
// --signal=B:USR1 before the time limit) asks for a requeue: exit 42, and slurm.conf's RequeueExit requeues the
// job. SIGTERM without a SIGUSR1 before it is Slurm ending the job (scancel, the time limit, a preemption; Slurm
// itself decides whether such a job is requeued): the supervisor then ends by SIGTERM, so the job shows what a
// cancelled job shows (CANCELLED, ExitCode 0:15), not a requeue request on a cancelled job.
#pragma once

#include <string>

namespace sigma::launch {

enum class StopEnding { requeue, terminated };

inline StopEnding stop_ending(bool usr1_seen, bool term_seen) {
  return term_seen && !usr1_seen ? StopEnding::terminated : StopEnding::requeue;
}

// Why the job stops when the step ended after a stop signal was forwarded to it: it saved (exit 42), or it ended
// otherwise: a program with no stop handler is killed by the signal, one may fail while saving. Either way the
// job stops as the signal asked (a restart would train on past the time limit or a scancel), from the newest
// state the program saved itself. "" for a step that completed (exit 0): it ends as a completed one.
inline std::string stopped_step(int exit_code, int signal) {
  if (signal != 0) return "stop signal: the step was killed by signal " + std::to_string(signal) + " without saving";
  if (exit_code == 42) return "stop signal: state saved";
  if (exit_code == 0) return "";
  return "stop signal: the step exited " + std::to_string(exit_code) + " without saving";
}

}  // namespace sigma::launch
