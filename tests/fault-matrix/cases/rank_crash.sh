#!/usr/bin/env bash
# A rank crash: training rank 1 killed with kill -9 after step 230. srun reports the task killed at once and the
# supervisor aborts the step on that line; it classifies it (a killed process: doubt, not evidence of bad
# hardware), restarts on the spare without that node (excluded, not drained) and training resumes from the
# newest checkpoint to the fault-free weights.
source "$(dirname "$0")/../lib.sh"

matrix_site
use_shape 2ranks
start_job
wait_training_step 230
victim 1
keep_committed
kill -9 "$VICTIM_PID"
fault_now
end_of_job COMPLETED
story 'step_failed{node='"$VICTIM"',next=restart}' 'step_started{attempt=2}' recovered 'supervise_ended{exit_code=0}'
grep -q "killed by signal 9" "$OUTPUT" || fail "the failure was not classified as a kill"
assert_restarted_without "$VICTIM"
assert_only_drained
blamed "$VICTIM (excluded)"
restart_figures
assert_intact
pass "rank 1 on $VICTIM killed at step >= 230: restarted without it, resumed, fault-free weights"
