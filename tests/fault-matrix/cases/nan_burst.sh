#!/usr/bin/env bash
# A NaN in the loss at step 230 that the re-run reproduces (deterministic: the model or the data, not a node).
# With skip_numerical_faults the batch is skipped and the next one takes its place: no node is blamed, the job
# completes. Not bitwise equal (the model saw one batch less and one more): asserted instead are the skip at
# step 230 in the ledger, finite final weights, and the data position one batch past the fault-free run's.
source "$(dirname "$0")/../lib.sh"

matrix_site
FAULTS="--inject-nan-at-step 230" use_shape 2ranks "skip_numerical_faults: true"
start_job
end_of_job COMPLETED
story 'fault_injected{fault=nan}' 'step_rerun{step=230}' 'fault_classified{class=deterministic,action=skip_batch}' \
  'batch_skipped{step=230}' 'supervise_ended{exit_code=0,restarts=0}'
assert_only_drained
blamed "none (deterministic: the data or the model)"
FAULT_AT=$(event_time fault_injected)
note detection_s "$(elapsed "$FAULT_AT" "$(event_time fault_classified)")"
note steps_redone 0
assert_kept
assert_bitwise_differs "a batch was skipped"
assert_data_position 1
pass "NaN at step 230 re-run, classified deterministic, its batch skipped; finite weights, data position one batch on"
