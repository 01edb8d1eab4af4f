#!/usr/bin/env bash
# A loss spike at step 230 (the loss the detector sees is 10x): the update is not made, training rolls back to
# the newest checkpoint (step 200) and skips the data from there through the spike's batch (the default,
# spike_skip_data). Not bitwise equal (the model skipped 30 batches): asserted instead are the rollback and the
# skipped window in the ledger, finite final weights, and the data position 30 batches past the fault-free run's.
source "$(dirname "$0")/../lib.sh"

matrix_site
FAULTS="--inject-spike-at-step 230" use_shape 2ranks "spike_window: 50"
start_job
end_of_job COMPLETED
story 'fault_injected{fault=spike}' 'loss_spike{step=230}' 'rolled_back{to_step=200,from=checkpoint}' \
  'data_skipped{first_sequence=1600,end_sequence=1840}' 'supervise_ended{exit_code=0,restarts=0}'
assert_only_drained
blamed "none (numerical: not a node)"
FAULT_AT=$(event_time fault_injected)
detected_at "$(event_time loss_spike)"
note recovery_s "$(elapsed "$DETECTED_AT" "$(event_time rolled_back)")"
note steps_redone 30
assert_kept
assert_bitwise_differs "the spike's data window was skipped"
assert_data_position 30
pass "spike at step 230 rolled back to step 200, sequences 1600-1840 skipped; finite weights, data position 30 batches on"
