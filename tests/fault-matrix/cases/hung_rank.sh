#!/usr/bin/env bash
# A hung rank: training rank 1 stopped with SIGSTOP after step 230. Its liveness beat stops while rank 0's goes
# on: it is lost after policy.liveness_timeout_s (3 s), long before the progress timeout (20 s here), its node
# drained ("sigma: liveness_lost ..."), and training restarts on the spare from the newest checkpoint to the
# fault-free weights.
source "$(dirname "$0")/../lib.sh"
case_cleanup() { [ -z "${VICTIM_PID:-}" ] || kill -9 "$VICTIM_PID" 2>/dev/null || true; }

matrix_site
use_shape 2ranks
start_job
freeze_rank 230
end_of_job COMPLETED
story 'step_failed{fault_code=liveness_lost,node='"$VICTIM"',next=restart}' 'node_drained{node='"$VICTIM"'}' \
  'step_started{attempt=2}' recovered 'supervise_ended{exit_code=0}'
assert_drained "$VICTIM"
[[ "$(on_cluster sinfo -h -n "$VICTIM" -o '%E')" == "sigma: liveness_lost"* ]] || fail "$VICTIM was not drained for its lost rank"
assert_restarted_without "$VICTIM"
restart_figures
assert_intact
pass "rank 1 on $VICTIM stopped at step >= 230: declared lost, $VICTIM drained, restarted on the spare, fault-free weights"
