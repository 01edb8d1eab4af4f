#!/usr/bin/env bash
# kill -9 during a checkpoint save: after step 130, training rank 1 is killed the moment a save is seen in flight
# (its temporary step directory exists and the step is not committed yet: a save is in flight from its start until
# every rank's shard is written). Asserted: the kill landed inside that save; every step committed before it
# still verifies; the restart resumes from the in-memory copies, at or after the interrupted step (rank 1's node
# lives on: its own copies and its partner's serve), or, when they are missing, from the newest committed step,
# saving the interrupted step again; and ends with the fault-free weights.
source "$(dirname "$0")/../lib.sh"

matrix_site
use_shape 2ranks
start_job
wait_training_step 130
victim 1
in_flight=""
# A save is committed as soon as its shards are written (a few ms here), so the look repeats for up to a minute of
# training; bash builtins only between the look and the kill, so the kill lands in that save.
deadline=$((SECONDS + 60))
while (( SECONDS < deadline )); do
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
from_memory=$(sed -n 's/^sigma-train: resumed from in-memory copies (step \([0-9]*\)).*/\1/p' "$OUTPUT" | tail -1)
if [ -n "$from_memory" ]; then
  (( from_memory >= 10#${in_flight#step_} )) || fail "resumed from the in-memory copies of step $from_memory, before $in_flight"
  resumed="in-memory copies (step $from_memory)"
else
  resumed=$(grep -o "sigma-train: resumed from .*step_[0-9]*" "$OUTPUT" | tail -1 | grep -o 'step_[0-9]*')
  # Rank 0 may still commit the step when rank 1 had handed over its shard before it died (the commit is atomic
  # either way); the restart resumes from the newest committed step that verifies.
  [[ -n "$resumed" && ! "$resumed" > "$in_flight" ]] || fail "resumed from ${resumed:-nothing}, not from $in_flight or before"
  [ "$resumed" = "$(echo "$KEPT" | tail -1)" ] || fail "resumed from $resumed, not the newest committed step"
  "$SIGMA_CKPT" verify "$CKPT" --step "$((10#${in_flight#step_}))" >/dev/null || fail "$in_flight was not saved again"
fi
note interrupted_save "$in_flight, resumed from $resumed"
restart_figures
assert_intact
pass "kill -9 inside the save of $in_flight: resumed from $resumed, fault-free weights"
