#!/usr/bin/env bash
# A node death: rank 1's node dies after step 230 (`sigma-cluster kill-node` kills its slurmd; its training
# process is frozen with SIGSTOP, as a node that lost power runs nothing). Rank 1's liveness beat stops while
# rank 0's goes on: the supervisor declares it lost after policy.liveness_timeout_s (3 s, the default), long
# before Slurm would notice the node (SlurmdTimeout), drains the node ("sigma: liveness_lost ...") and restarts
# on the survivor plus the spare at once (srun --overlap: the dead node's step stays registered until Slurm
# declares the node down), resuming from the newest checkpoint to the fault-free weights. The hang timeout stays
# the matrix's 20 s: liveness, not the progress timeout and not Slurm, is what detects.
source "$(dirname "$0")/../lib.sh"
case_cleanup() {
  [ -z "${VICTIM_PID:-}" ] || kill -9 "$VICTIM_PID" 2>/dev/null || true
  [ -z "${VICTIM:-}" ] || "$SIGMA_CLUSTER_SCRIPT" start-node "$SIGMA_CLUSTER_DIR" "$VICTIM" >/dev/null 2>&1 || true
}

matrix_site
use_shape 2ranks
start_job
freeze_rank 230
[ "$VICTIM" != n1 ] || fail "rank 1 landed on the batch host"
"$SIGMA_CLUSTER_SCRIPT" kill-node "$SIGMA_CLUSTER_DIR" "$VICTIM"
end_of_job COMPLETED 300
story 'step_failed{fault_code=liveness_lost,node='"$VICTIM"',next=restart}' 'node_drained{node='"$VICTIM"'}' \
  'step_started{attempt=2}' recovered 'supervise_ended{exit_code=0}'
assert_drained "$VICTIM"
[[ "$(on_cluster sinfo -h -n "$VICTIM" -o '%E')" == "sigma: liveness_lost"* ]] || fail "$VICTIM was not drained for its lost rank"
assert_restarted_without "$VICTIM"
restart_figures
assert_intact
pass "$VICTIM died at step >= 230: its rank's liveness lost, drained, restarted on the spare, fault-free weights"
