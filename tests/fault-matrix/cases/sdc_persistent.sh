#!/usr/bin/env bash
# Silent data corruption, persistent: the bit flips in rank 1's reduced gradient at step 130 on every attempt
# while it runs on n2. Three replicas (the 3ranks shape): the re-run disagrees the same way, so the fault is
# persistent and the outvoted replica, rank 1 on n2, is blamed (two replicas could not tell which one is wrong).
# n2 is drained, the restart on n1,n3,n4 runs clean and ends with the fault-free weights.
source "$(dirname "$0")/../lib.sh"

# Three ranks share two cores: a restart on a loaded machine once took over 20 s to start (REPORT.md, run 3), so a
# slow start is not taken for a hang here.
HANG_TIMEOUT=60 matrix_site
FAULTS="--inject-bitflip grad --inject-bitflip-rank 1 --inject-bitflip-step 130 --inject-repeat true --inject-node n2" \
  use_shape 3ranks
start_job -w n1,n2,n3,n4
end_of_job COMPLETED
assert_sdc_recovered persistent
pass "persistent SDC on n2 at step 130: outvoted, blamed and drained n2, restarted on the spare, fault-free weights"
