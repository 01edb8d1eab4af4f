#!/usr/bin/env bash
# A node dies (its slurmd killed with kill -9) under a --no-kill job: Slurm removes it from the allocation and
# kills the step; the supervisor classifies srun's "Node failure" (hardware), drains the node and restarts the
# step on the survivors plus the spare, resuming from the newest checkpoint (the job is then cancelled). Prints the time from the death to
# the step's failure (Slurm's node-death detection) and to the first new training step.
source "$(dirname "$0")/lib.sh"
victim=""
cleanup() {
  [ -z "$victim" ] || "$SIGMA_CLUSTER_SCRIPT" start-node "$SIGMA_CLUSTER_DIR" "$victim" 2>/dev/null || true
  restore_cluster
}
trap cleanup EXIT

start_training dead 30000
job=$JOB victim=$VICTIM
[ "$victim" != n1 ] || fail "rank 1 landed on the batch host"
"$SIGMA_CLUSTER_SCRIPT" kill-node "$SIGMA_CLUSTER_DIR" "$victim"
killed_at=$(now)
# Slurm sees the death after about 30 s; then the restarted step must resume and make progress. Training to the
# end is left out (the other launcher tests do it): a loaded machine trains this job many times slower.
wait_until 240 "the step to restart" grep -q "sigma-train: resumed from" "$out/dead.out"
resumed=$(grep -o "(step [0-9]*)" "$out/dead.out" | tail -1 | tr -dc 0-9)
wait_until 120 "the restarted step to make progress" past_step dead $((resumed + 100))
grep "sigma-launch\|resumed\|Node failure" "$out/dead.out"
grep -q "slurm-node-failure" "$out/dead.out" || fail "the node failure was not classified"
second=$(grep "starting the step on" "$out/dead.out" | sed -n 2p)
[[ -n "$second" && "$second" != *"$victim"* ]] || fail "the restart ($second) did not leave $victim"
grep -q "sigma-train: resumed from" "$out/dead.out" || fail "training did not resume from a checkpoint"
[ "$(job_field "$job" Restarts)" = 0 ] || fail "the job was requeued"
recovered=$(events recovered)
failed_at=$(events step_failed | json_field time | head -1)
pass "$victim died at step >= 1100; job $job restarted inside the allocation ($second), resumed at step $resumed and trains on"
pass "$(printf 'node death to the step seen failed: %ss; failure to the first new step: %.1fs; steps redone: %s' \
  "$(seconds_between "$killed_at" "$(date -d "$failed_at" +%s.%N)")" \
  "$(json_field details.fault_to_first_step_s <<<"$recovered")" "$(json_field details.steps_redone <<<"$recovered")")"
