#!/usr/bin/env bash
# SIGUSR1 to the batch script (as `sbatch --signal=B:USR1@120` sends before the time limit): the supervisor
# forwards it to the step, the trainer saves and exits 42, the supervisor exits 42, Slurm requeues the job
# (RequeueExit) and the next run resumes from that checkpoint.
source "$(dirname "$0")/lib.sh"
trap restore_cluster EXIT

write_job usr1 5000
job=$(submit usr1 --requeue)
wait_until 120 "job $job to pass step 300" past_step usr1 300
on_cluster scancel --batch --signal=USR1 "$job"
wait_until 240 "job $job to complete after its requeue" job_in_state "$job" COMPLETED
grep "sigma-launch\|resumed" "$out/usr1.out"
grep -q "forwarding signal 10 to the step" "$out/usr1.out" || fail "the signal was not forwarded"
[ "$(job_field "$job" Restarts)" = 1 ] || fail "Restarts=$(job_field "$job" Restarts), expected 1"
grep -q "sigma-train: resumed from" "$out/usr1.out" || fail "the requeued job did not resume"
pass "SIGUSR1: forwarded, saved, exit 42, requeued once, resumed and completed"
