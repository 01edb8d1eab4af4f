#!/usr/bin/env bash
# A node dies under a program that uses no sigma client (programs/plain_rank.sh: no liveness beat to miss): its
# slurmd is killed with kill -9 and the rank's slurmstepd and process are frozen. Only Slurm can notice: once it
# declares the node down (SlurmdTimeout=10) it ends the step ("Node failure on NODE"), and the supervisor drains
# that node and restarts on the survivor and the spare, without a requeue. Slower than with liveness beats
# (supervise_node_death.sh: a few seconds), and the point of this test: it still works.
source "$(dirname "$0")/lib.sh"
trap revive_and_restore EXIT
readonly PROGRAM=$(cd "$(dirname "$0")" && pwd)/programs/plain_rank.sh

mkdir -p "$out/ranks"
cat >"$out/dead.sbatch" <<JOB
#!/bin/bash
#SBATCH -N 3 --no-kill
exec "$SIGMA_LAUNCH" supervise --nodes 2 --spares 1 --config "$out/site.yaml" -- "$PROGRAM" "$out/ranks" 15
JOB
job=$(submit dead)
wait_until 60 "rank 1 to start" test -s "$out/ranks/rank-1"
read -r VICTIM_PID VICTIM <"$out/ranks/rank-1"
[ "$VICTIM" != n1 ] || fail "rank 1 landed on the batch host"
victim=$VICTIM
kill_victim_node
killed_at=$(now)
wait_until 120 "job $job to complete" job_in_state "$job" COMPLETED
grep "sigma-launch\|Node failure" "$out/dead.out"
second=$(grep "starting the step on" "$out/dead.out" | sed -n 2p)
[[ -n "$second" && "$second" != *"$victim"* ]] || fail "the restart ($second) did not leave $victim"
[ "$(job_field "$job" Restarts)" = 0 ] || fail "the job was requeued"
failed=$(events step_failed)
[ "$(json_field details.node <<<"$failed")" = "$victim" ] || fail "step_failed blames another node: $failed"
detected=$(seconds_between "$killed_at" "$(date -d "$(json_field time <<<"$failed")" +%s.%N)")
pass "no client: $victim died; Slurm's node failure ended the step ${detected}s later; restarted on ${second##* on }; completed"
