#!/usr/bin/env bash
# kill -9 during a checkpoint save: after step 130, training rank 1 is killed the moment a save is seen in flight
# (its temporary step directory exists and the step is not committed; sigma-train commits a periodic save at the
# next checkpoint, so a save is in flight from its start until then). Asserted: the kill landed inside that
# save; every step committed before it still verifies; the restart resumes from the newest committed step (an
# older one, or the interrupted step itself when rank 0 finished its commit after rank 1 had handed over its
# shard), saves the interrupted step again, and ends with the fault-free weights.
source "$(dirname "$0")/../lib.sh"

matrix_site
use_shape 2ranks
start_job
wait_training_step 130
victim 1
in_flight=""
for _ in $(seq 5000); do  # bash builtins only between the look and the kill, so the kill lands in that save
  for tmp in "$CKPT"/.tmp_step_*; do
    if [ -d "$tmp" ] && [ ! -e "$CKPT/${tmp##*/.tmp_}" ]; then in_flight=${tmp##*/.tmp_}; break 2; fi
  done
done
kill -9 "$VICTIM_PID"
fault_now
[ -n "$in_flight" ] || fail "no save was seen in flight"
step_failed_seen() { [ -n "$(events "$JOB" step_failed)" ]; }
wait_until 120 "the supervisor to see the step fail" step_failed_seen
keep_committed   # what the killed attempt left committed
echo "kill -9 of rank 1 on $VICTIM while $in_flight was being saved (committed then: $(echo $KEPT))"
end_of_job COMPLETED
story 'step_failed{node='"$VICTIM"',next=restart}' 'step_started{attempt=2}' recovered 'supervise_ended{exit_code=0}'
assert_restarted_without "$VICTIM"
assert_only_drained
blamed "$VICTIM (excluded)"
resumed=$(grep -o "sigma-train: resumed from .*step_[0-9]*" "$OUTPUT" | tail -1 | grep -o 'step_[0-9]*')
# Rank 0 may still commit the step when rank 1 had handed over its shard before it died (the commit is atomic
# either way); the restart resumes from the newest committed step that verifies.
[[ -n "$resumed" && ! "$resumed" > "$in_flight" ]] || fail "resumed from ${resumed:-nothing}, not from $in_flight or before"
[ "$resumed" = "$(echo "$KEPT" | tail -1)" ] || fail "resumed from $resumed, not the newest committed step"
"$SIGMA_CKPT" verify "$CKPT" --step "$((10#${in_flight#step_}))" >/dev/null || fail "$in_flight was not saved again"
note interrupted_save "$in_flight $([ "$resumed" = "$in_flight" ] && echo 'committed by rank 0' || echo abandoned)"
restart_figures
assert_intact
pass "kill -9 inside the save of $in_flight: resumed from $resumed, $in_flight saved again, fault-free weights"
