#!/usr/bin/env bash
# A hung rank: training rank 1 stopped with SIGSTOP after step 230. No heartbeat progress for
# policy.heartbeat_timeout_s (20 s here) is a hang; the rank whose liveness went stale is blamed, its node
# drained ("sigma: hang ..."), and training restarts on the spare from the newest checkpoint to the fault-free
# weights.
source "$(dirname "$0")/../lib.sh"
case_cleanup() { [ -z "${VICTIM_PID:-}" ] || kill -9 "$VICTIM_PID" 2>/dev/null || true; }

matrix_site
use_shape 2ranks
start_job
freeze_rank 230
end_of_job COMPLETED
story 'step_failed{fault_code=hang,node='"$VICTIM"',next=restart}' 'node_drained{node='"$VICTIM"'}' \
  'step_started{attempt=2}' recovered 'supervise_ended{exit_code=0}'
assert_drained "$VICTIM"
[[ "$(on_cluster sinfo -h -n "$VICTIM" -o '%E')" == "sigma: hang"* ]] || fail "$VICTIM was not drained for a hang"
assert_restarted_without "$VICTIM"
restart_figures
assert_intact
pass "rank 1 on $VICTIM stopped at step >= 230: hang declared, $VICTIM drained, restarted on the spare, fault-free weights"
