// How the supervisor ends once a stop signal made the step save its state and exit 42. SIGUSR1 (sbatch
// --signal=B:USR1 before the time limit) asks for a requeue: exit 42, and slurm.conf's RequeueExit requeues the
// job. SIGTERM without a SIGUSR1 before it is Slurm ending the job (scancel, the time limit, a preemption; Slurm
// itself decides whether such a job is requeued): the supervisor then ends by SIGTERM, so the job shows what a
// cancelled job shows (CANCELLED, ExitCode 0:15), not a requeue request on a cancelled job.
#pragma once

namespace sigma::launch {

enum class StopEnding { requeue, terminated };

inline StopEnding stop_ending(bool usr1_seen, bool term_seen) {
  return term_seen && !usr1_seen ? StopEnding::terminated : StopEnding::requeue;
}

}  // namespace sigma::launch
