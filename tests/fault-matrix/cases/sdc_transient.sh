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
assert_sdc_recovered transient
pass "transient SDC on n2 at step 230: blamed and drained n2, restarted on the spare, fault-free weights"
