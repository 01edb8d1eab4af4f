#!/usr/bin/env bash
# A training rank killed with kill -9: srun reports the task killed at once ("srun: error: NODE: task 1: Killed"),
# and the supervisor aborts the step on that line (SIGKILL to the other task through slurmctld, then srun's
# abort) instead of waiting for srun, which would wait for the other rank (its SIGTERM, then the site's KillWait).
# It moves off that rank's node onto the spare inside the same allocation (no requeue), and training resumes
# from its newest checkpoint to the end.
source "$(dirname "$0")/lib.sh"
trap restore_cluster EXIT

start_training killed 6000
job=$JOB victim=$VICTIM
kill -9 "$VICTIM_PID"
killed_at=$(now)
wait_until 240 "job $job to complete" job_in_state "$job" COMPLETED
grep "sigma-launch\|resumed" "$out/killed.out"
[ "$(job_field "$job" Restarts)" = 0 ] || fail "the job was requeued"
grep -q "killed by signal 9" "$out/killed.out" || fail "the failure was not classified"
grep -q "srun reports a task on $victim ended: Killed: aborting the step" "$out/killed.out" ||
  fail "the step was not aborted on srun's line"
# From the in-memory copies (the survivor's own and the killed rank's mirror), or a file checkpoint.
grep -qE "sigma-train: resumed from (.*step_0000|in-memory copies)" "$out/killed.out" ||
  fail "training did not resume from a checkpoint"
second=$(grep "starting the step on" "$out/killed.out" | sed -n 2p)
[[ -n "$second" && "$second" != *"$victim"* ]] || fail "the restart ($second) did not leave $victim"
"$SIGMA_CKPT" verify "$out/killed.ckpt" >/dev/null || fail "the final checkpoint does not verify"
recovered=$(events recovered)
[ -n "$recovered" ] || fail "no recovered event"
failed_at=$(events step_failed | json_field time | head -1)
detected=$(seconds_between "$killed_at" "$(date -d "$failed_at" +%s.%N)")
# Generous for a loaded machine; waiting for srun took 5 s here (KillWait=5), 30 s with Slurm's default.
awk -v d="$detected" 'BEGIN { exit !(d < 4) }' || fail "the kill was decided ${detected}s after it"
pass "rank 1 on $victim killed at step >= 1100; restarted inside the allocation ($second), resumed, completed"
pass "$(printf 'kill -9 to the step seen failed: %ss; failure to the first new step: %.1fs; steps redone: %s' \
  "$detected" \
  "$(json_field details.fault_to_first_step_s <<<"$recovered")" "$(json_field details.steps_redone <<<"$recovered")")"
pass "split of the recovery (s): $(json_field details.split_s <<<"$recovered")"
