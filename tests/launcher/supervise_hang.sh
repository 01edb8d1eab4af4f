#!/usr/bin/env bash
# A rank stopped with SIGSTOP: no heartbeat progress for policy.heartbeat_timeout_s (10 s here; start-up has its
# own 90 s bound) is a hang; the rank that stopped first is blamed, its node drained, and training goes on from
# its checkpoint on the spare.
source "$(dirname "$0")/lib.sh"
trap restore_cluster EXIT

start_training hung 6000
job=$JOB victim=$VICTIM pid=$VICTIM_PID
kill -STOP "$pid"
stopped_at=$(now)
wait_until 120 "the hang to be declared" grep -q "no heartbeat progress" "$out/hung.out"
declared_at=$(now)
wait_until 240 "job $job to complete" job_in_state "$job" COMPLETED
kill -CONT "$pid" 2>/dev/null || true
grep "sigma-launch" "$out/hung.out"
elapsed=$(seconds_between "$stopped_at" "$declared_at")
awk -v e="$elapsed" 'BEGIN { exit !(e < 10 + 5 + 5) }' || fail "hang declared ${elapsed}s after SIGSTOP"
node_is "$victim" 'drained\|draining' || fail "$victim (rank 1) is $(node_state "$victim"), not drained"
reason=$(on_cluster sinfo -h -n "$victim" -o '%E')
[[ "$reason" == "sigma: hang"* ]] || fail "$victim's drain reason is \"$reason\""
[ "$(job_field "$job" Restarts)" = 0 ] || fail "the job was requeued"
pass "SIGSTOP on rank 1 ($victim): hang declared ${elapsed}s later (timeout 10 s), $victim drained (\"$reason\"), job $job completed"
