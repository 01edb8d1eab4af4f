#!/usr/bin/env bash
# A program that uses no sigma client (no heartbeats, no stop handler: programs/plain_rank.sh) still gets crash
# and requeue handling: a rank killed with kill -9 is restarted on the spare inside the allocation and the job
# completes; SIGUSR1 to the batch script kills the program (it has no handler) and the supervisor, which
# forwarded it, stops the job as asked: exit 42, Slurm requeues it, no restart inside the allocation.
source "$(dirname "$0")/lib.sh"
trap restore_cluster EXIT
readonly PROGRAM=$(cd "$(dirname "$0")" && pwd)/programs/plain_rank.sh

# plain_job NAME SECONDS: the supervisor over the plain program on 2 of 3 nodes, with no --heartbeat-dir.
plain_job() {
  mkdir -p "$out/ranks.$1"
  cat >"$out/$1.sbatch" <<JOB
#!/bin/bash
#SBATCH -N 3 --no-kill --requeue
exec "$SIGMA_LAUNCH" supervise --nodes 2 --spares 1 --config "$out/site.yaml" -- "$PROGRAM" "$out/ranks.$1" $2
JOB
  JOB=$(submit "$1")
  wait_until 60 "both ranks of job $JOB to start" test -s "$out/ranks.$1/rank-1" -a -s "$out/ranks.$1/rank-0"
}

plain_job crash 12
read -r pid victim <"$out/ranks.crash/rank-1"
kill -9 "$pid"
wait_until 90 "job $JOB to complete" job_in_state "$JOB" COMPLETED
grep "sigma-launch" "$out/crash.out"
grep -q "srun reports a task on $victim ended: Killed: aborting the step" "$out/crash.out" ||
  fail "the killed rank did not abort the step"
second=$(grep "starting the step on" "$out/crash.out" | sed -n 2p)
[[ -n "$second" && "$second" != *"$victim"* ]] || fail "the restart ($second) did not leave $victim"
[ "$(job_field "$JOB" Restarts)" = 0 ] || fail "the job was requeued"
[ "$(events step_failed | json_field details.node)" = "$victim" ] || fail "step_failed: $(events step_failed)"
pass "no client: rank 1 on $victim killed; restarted on the spare (${second##* on }) and completed"

plain_job usr1 120
on_cluster scancel --batch --signal=USR1 "$JOB"
wait_until 90 "job $JOB to complete after its requeue" job_in_state "$JOB" COMPLETED
grep "sigma-launch" "$out/usr1.out"
grep -q "forwarding signal 10 to the step" "$out/usr1.out" || fail "the signal was not forwarded"
grep -qF "summary: stop signal: the step was killed by signal 10 without saving, requeue (exit 42)" "$out/usr1.out" ||
  fail "the supervisor did not end the job on the stop signal with exit 42"
[ "$(grep -c "starting the step on" "$out/usr1.out")" = 2 ] ||
  fail "expected one step before the requeue and one after: the stop was restarted inside the allocation"
[ "$(job_field "$JOB" Restarts)" = 1 ] || fail "Restarts=$(job_field "$JOB" Restarts), expected 1"
pass "no client: SIGUSR1 killed the program without a handler; exit 42, requeued once, completed"
