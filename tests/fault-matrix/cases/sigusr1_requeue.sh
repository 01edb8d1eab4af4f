#!/usr/bin/env bash
# SIGUSR1 before the time limit (what `--signal=B:USR1@300` makes Slurm send to the batch shell, which passes it to
# sigma-launch): sent after step 230 with `scancel --batch --signal=USR1`. The supervisor forwards it, sigma-train
# saves the step it ends and exits 42, Slurm requeues the job (RequeueExit), the next run resumes from that very
# step (nothing redone) and trains to the fault-free weights.
source "$(dirname "$0")/../lib.sh"

matrix_site
use_shape 2ranks
start_job
wait_training_step 230
keep_committed
on_cluster scancel --batch --signal=USR1 "$JOB"
fault_now
end_of_job COMPLETED
story 'step_started{attempt=1}' 'supervise_ended{exit_code=42}' job_prolog supervise_started step_started \
  'supervise_ended{exit_code=0}'
grep -q "forwarding signal 10 to the step" "$OUTPUT" || fail "the signal was not forwarded"
grep -q "moe-train: job $JOB, run 2," "$OUTPUT" || fail "no second run of job $JOB"
[ "$(job_field "$JOB" Restarts)" = 1 ] || fail "job $JOB was requeued $(job_field "$JOB" Restarts) times, expected 1"
saved=$(grep -o "sigma-train: resumed from .*step_[0-9]*" "$OUTPUT" | tail -1 | grep -o 'step_[0-9]*')
[ -n "$saved" ] || fail "the requeued run did not resume"
assert_only_drained
blamed "none (a stop, not a fault)"
detected_at "$(event_time supervise_ended)"
LAST_STEP=$((10#${saved#step_}))
recovered_from_heartbeats
assert_intact
pass "SIGUSR1 after step 230: saved $saved, exit 42, requeued once, resumed there, fault-free weights"
