#!/usr/bin/env bash
# `--beats liveness`: a program that calls the client's start() and never beat() (programs/liveness_only_rank.py)
# makes no progress beats, and is not called hung for it: it runs past policy.heartbeat_timeout_s (10 s) with
# no progress beat. Its liveness beats still catch a rank that stops: rank 1 frozen with SIGSTOP is declared lost
# within policy.liveness_timeout_s (3 s), its node drained, and the step restarted on the spare.
source "$(dirname "$0")/lib.sh"
trap restore_cluster EXIT
readonly HERE=$(cd "$(dirname "$0")" && pwd)

mkdir -p "$out/ranks"
cat >"$out/live.sbatch" <<JOB
#!/bin/bash
#SBATCH -N 3 --no-kill
export PYTHONPATH="$HERE/../../clients/python"
exec "$SIGMA_LAUNCH" supervise --nodes 2 --spares 1 --heartbeat-dir "$HEARTBEATS" --beats liveness \\
  --config "$out/site.yaml" -- /usr/bin/python3 "$HERE/programs/liveness_only_rank.py" "$out/ranks" 25
JOB
job=$(submit live)
wait_until 60 "both ranks to start beating liveness" test -s "$out/ranks/rank-0" -a -s "$out/ranks/rank-1"
started=$(now)
sleep 14  # past the 10 s progress timeout
grep -q "aborting" "$out/live.out" && fail "the step was aborted with no progress beat: $(grep aborting "$out/live.out")"
ls "$HEARTBEATS"/rank-* 2>/dev/null && fail "the program wrote progress beats: the test proves nothing"
read -r pid victim <"$out/ranks/rank-1"
kill -STOP "$pid"
frozen_at=$(now)
wait_until 30 "rank 1 to be declared lost" grep -q "no liveness beat" "$out/live.out"
kill -CONT "$pid" 2>/dev/null || true
wait_until 90 "job $job to complete" job_in_state "$job" COMPLETED
grep "sigma-launch" "$out/live.out"
failed=$(events step_failed)
[ "$(json_field details.fault_code <<<"$failed")" = liveness_lost ] || fail "step_failed: $failed"
[ "$(json_field details.node <<<"$failed")" = "$victim" ] || fail "step_failed blames another node: $failed"
second=$(grep "starting the step on" "$out/live.out" | sed -n 2p)
[[ -n "$second" && "$second" != *"$victim"* ]] || fail "the restart ($second) did not leave $victim"
detected=$(seconds_between "$frozen_at" "$(date -d "$(json_field time <<<"$failed")" +%s.%N)")
pass "--beats liveness: no hang after $(seconds_between "$started" "$frozen_at")s without a progress beat;" \
  "rank 1 frozen on $victim declared lost ${detected}s later; restarted on ${second##* on }; completed"
