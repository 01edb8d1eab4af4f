#!/usr/bin/env bash
# A node dies under a --no-kill job: its slurmd is killed with kill -9 and its slurmstepd and training rank are
# frozen with SIGSTOP (a node that lost power runs nothing, answers nothing). Rank 1's liveness beat stops while
# rank 0's goes on: the supervisor declares rank 1 lost within policy.liveness_timeout_s (3 s), long before Slurm
# notices the node (SlurmdTimeout=10, then it is marked down), drains it, and restarts the step on the survivor
# and the spare at once (srun --overlap: the dead node's step stays registered until Slurm declares the node down),
# resuming from the newest checkpoint. (The job is then cancelled: a loaded machine trains it slowly.)
source "$(dirname "$0")/lib.sh"
trap revive_and_restore EXIT

start_training dead 30000
job=$JOB victim=$VICTIM
[ "$victim" != n1 ] || fail "rank 1 landed on the batch host"
kill_victim_node
killed_at=$(now)
wait_until 120 "rank 1 to be declared lost" grep -q "no liveness beat" "$out/dead.out"
state_at_decision=$(node_state "$victim")
wait_until 240 "the step to restart" grep -q "sigma-train: resumed from" "$out/dead.out"
resumed=$(grep -o "(step [0-9]*)" "$out/dead.out" | tail -1 | tr -dc 0-9)
wait_until 120 "the restarted step to make progress" past_step dead $((resumed + 100))
grep "sigma-launch\|resumed\|Node failure" "$out/dead.out"
[[ "$state_at_decision" != down* ]] || fail "Slurm had declared $victim down ($state_at_decision) before the supervisor did"
second=$(grep "starting the step on" "$out/dead.out" | sed -n 2p)
[[ -n "$second" && "$second" != *"$victim"* ]] || fail "the restart ($second) did not leave $victim"
[ "$(job_field "$job" Restarts)" = 0 ] || fail "the job was requeued"
failed=$(events step_failed)
[ "$(json_field details.fault_code <<<"$failed")" = liveness_lost ] || fail "step_failed: $failed"
[ "$(json_field details.node <<<"$failed")" = "$victim" ] || fail "step_failed blames another node: $failed"
detected=$(seconds_between "$killed_at" "$(date -d "$(json_field time <<<"$failed")" +%s.%N)")
# Generous for a loaded machine, and below Slurm's own detection (SlurmdTimeout=10; 25 s measured before).
awk -v d="$detected" 'BEGIN { exit !(d < 10) }' || fail "the node death was decided ${detected}s after it"
recovered=$(events recovered)
[ -n "$recovered" ] || fail "no recovered event"
[ -z "$(events restart_blocked)" ] || fail "the restart waited for the dead node's step: $(events restart_blocked)"
pass "$victim died at step >= 1100; job $job restarted inside the allocation ($second), resumed at step $resumed and trains on"
pass "$(printf 'node death to the decision: %ss (Slurm had it %s); decision to the first new step: %.1fs; split: %s' \
  "$detected" "$state_at_decision" "$(json_field details.fault_to_first_step_s <<<"$recovered")" \
  "$(json_field details.split_s <<<"$recovered")")"
