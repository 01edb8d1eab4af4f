#!/usr/bin/env bash
# Silent data corruption, transient: one bit flips in rank 1's reduced gradient at step 230 while it runs on n2.
# The replicas disagree on the gradient norm, the re-run is clean: the trainer blames rank 1 on n2 before the
# update and exits 10; the supervisor drains n2 and restarts on the spare from the newest checkpoint. The flip
# follows the node (inject_node), so the restart runs clean and ends with the fault-free weights.
source "$(dirname "$0")/../lib.sh"

matrix_site
FAULTS="--inject-bitflip grad --inject-bitflip-rank 1 --inject-bitflip-step 230 --inject-repeat false --inject-node n2" \
  use_shape 2ranks
start_job -w n1,n2,n3
end_of_job COMPLETED
story 'fault_injected{node=n2}' step_rerun 'fault_classified{class=transient,node=n2}' \
  'step_failed{class=hardware,node=n2,next=restart}' 'node_drained{node=n2}' 'step_started{attempt=2}' recovered \
  'supervise_ended{exit_code=0}'
assert_drained n2
assert_restarted_without n2
FAULT_AT=$(event_time fault_injected) LAST_STEP=$(event_detail step_failed last_step)
detected_at "$(event_time step_failed)"
recovered_from_heartbeats
assert_kept
assert_bitwise_equal
pass "transient SDC on n2 at step 230: blamed and drained n2, restarted on the spare, fault-free weights"
