#!/usr/bin/env bash
# A hung rank, two ways:
# 1. Stopped with SIGSTOP: its liveness beat (every second) stops while rank 0's goes on, so it is lost after
#    policy.liveness_timeout_s (3 s), long before the progress timeout (10 s here); its node is drained
#    ("sigma: liveness_lost ...") and training goes on from its checkpoint on the spare, to the end.
# 2. Hung inside a step (sigma-train --inject-hang-*, on n2): the process and its liveness beat live on, only step
#    progress stops, so the progress timeout (policy.heartbeat_timeout_s) declares the hang and a node of the
#    step is drained "sigma: hang ...". Which one is not asserted: the rank with the oldest step is blamed, and a
#    rank hung at the start of a step and its partner waiting for it both finished the step before.
source "$(dirname "$0")/lib.sh"
trap restore_cluster EXIT

start_training hung 6000
job=$JOB victim=$VICTIM pid=$VICTIM_PID
kill -STOP "$pid"
stopped_at=$(now)
wait_until 120 "rank 1 to be declared lost" grep -q "no liveness beat" "$out/hung.out"
declared_at=$(now)
wait_until 240 "job $job to complete" job_in_state "$job" COMPLETED
kill -CONT "$pid" 2>/dev/null || true
grep "sigma-launch" "$out/hung.out"
elapsed=$(seconds_between "$stopped_at" "$declared_at")
# Bounded below the 10 s progress timeout: it is liveness that saw it (3 s here; generous for a loaded machine).
awk -v e="$elapsed" 'BEGIN { exit !(e < 10) }' || fail "rank 1 declared lost ${elapsed}s after SIGSTOP"
! grep -q "no heartbeat progress" "$out/hung.out" || fail "the progress timeout, not liveness, declared the hang"
node_is "$victim" 'drained\|draining' || fail "$victim (rank 1) is $(node_state "$victim"), not drained"
reason=$(on_cluster sinfo -h -n "$victim" -o '%E')
[[ "$reason" == "sigma: liveness_lost rank 1 on $victim"* ]] || fail "$victim's drain reason is \"$reason\""
[ "$(job_field "$job" Restarts)" = 0 ] || fail "the job was requeued"
failed=$(events step_failed)
[ "$(json_field details.rule <<<"$failed")" = liveness ] || fail "step_failed: $failed"
detected=$(seconds_between "$stopped_at" "$(date -d "$(json_field time <<<"$failed")" +%s.%N)")
recovered=$(events recovered)
pass "SIGSTOP on rank 1 ($victim): lost ${elapsed}s later (liveness timeout 3 s), $victim drained (\"$reason\"), job $job completed"
pass "$(printf 'SIGSTOP to the decision (step_failed): %ss; decision to the first new step: %.1fs; split: %s' "$detected" \
  "$(json_field details.fault_to_first_step_s <<<"$recovered")" "$(json_field details.split_s <<<"$recovered")")"
restore_cluster
: >"$LEDGER"

# 2. A rank hung in a step on n2 (rank 1 of a step on n1,n2): it beats liveness but makes no progress.
TRAIN_EXTRA="--inject-hang-rank 1 --inject-hang-at-step 1300 --inject-node n2" start_training stalled 6000
[ "$VICTIM" = n2 ] || fail "rank 1 runs on $VICTIM, not on n2 where the hang is injected"
wait_until 120 "the hang to be declared" grep -q "no heartbeat progress" "$out/stalled.out"
wait_until 120 "the restart to train" grep -q "sigma-train: resumed from" "$out/stalled.out"
grep "sigma-launch" "$out/stalled.out"
! grep -q "no liveness beat" "$out/stalled.out" || fail "a rank that still beats was declared lost"
failed=$(events step_failed)
[ "$(json_field details.rule <<<"$failed")" = hang ] || fail "step_failed: $failed"
blamed=$(json_field details.node <<<"$failed")
[[ "$blamed" == n1 || "$blamed" == n2 ]] || fail "step_failed blames no node of the step: $failed"
reason=$(on_cluster sinfo -h -n "$blamed" -o '%E')
[[ "$reason" == "sigma: hang"* ]] || fail "$blamed's drain reason is \"$reason\""
pass "rank 1 hung in a step on n2, its liveness beating: the progress timeout declared it, $blamed drained (\"$reason\")"
