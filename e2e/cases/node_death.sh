#!/usr/bin/env bash
# A node death: rank 1's node dies after step 230 (`sigma-cluster kill-node` kills its slurmd; its training
# process is frozen with SIGSTOP, as a node that lost power runs nothing). Slurm declares the node dead after
# SlurmdTimeout and kills the step; the supervisor classifies srun's "Node failure" (hardware), drains the node
# and restarts on the survivors plus the spare, resuming from the newest checkpoint to the fault-free weights.
# The hang timeout is set far beyond Slurm's detection, so Slurm's is the one measured.
source "$(dirname "$0")/../lib.sh"
case_cleanup() {
  [ -z "${VICTIM_PID:-}" ] || kill -9 "$VICTIM_PID" 2>/dev/null || true
  [ -z "${VICTIM:-}" ] || "$SIGMA_CLUSTER_SCRIPT" start-node "$SIGMA_CLUSTER_DIR" "$VICTIM" >/dev/null 2>&1 || true
}

HANG_TIMEOUT=120 matrix_site
use_shape 2ranks
start_job
freeze_rank 230
[ "$VICTIM" != n1 ] || fail "rank 1 landed on the batch host"
"$SIGMA_CLUSTER_SCRIPT" kill-node "$SIGMA_CLUSTER_DIR" "$VICTIM"
end_of_job COMPLETED 300
story 'step_failed{class=hardware,fault_code=node_fail,node='"$VICTIM"',next=restart}' 'node_drained{node='"$VICTIM"'}' \
  'step_started{attempt=2}' recovered 'supervise_ended{exit_code=0}'
assert_drained "$VICTIM"
assert_restarted_without "$VICTIM"
restart_figures
assert_intact
pass "$VICTIM died at step >= 230: Slurm's node failure, drained, restarted on the spare, fault-free weights"
