#!/usr/bin/env bash
# A straggler: rank 1 computes 30x slower while it runs on n2 (inject_slow, tied to the node). The trainer flags
# it after 5 slow steps; with policy.exclude_stragglers the supervisor stops the step at a step boundary (the
# trainer saves and exits 42) and restarts it without n2 (excluded, not drained: slow is not broken). The
# slowdown only sleeps, so the weights are the fault-free run's.
source "$(dirname "$0")/../lib.sh"

matrix_site "" "exclude_stragglers: true"
FAULTS="--inject-slow-rank 1 --inject-slow-factor 30 --inject-node n2" use_shape 2ranks \
  "$(printf 'straggler_margin: 1\nstraggler_steps: 5\nstraggler_min_seconds: 0.002')"
start_job -w n1,n2,n3
end_of_job COMPLETED
story 'step_started{attempt=1}' 'straggler_detected{rank=1,node=n2}' 'straggler_leaving{node=n2}' \
  'node_excluded{node=n2,reason=straggler}' 'step_started{attempt=2}' recovered 'supervise_ended{exit_code=0}'
assert_restarted_without n2
node_is n2 idle || fail "n2 is $(node_state n2): a straggler's node must not be drained"
assert_only_drained
blamed "n2 (excluded)"
FAULT_AT=$(event_time step_started)   # slow from its first step
detected_at "$(event_time straggler_leaving)"
recovered_from_heartbeats
note steps_redone "$(event_detail recovered steps_redone)"   # the stop saved the step it ended at
assert_intact
pass "rank 1 on n2 flagged as a straggler; the step left n2 (not drained) and completed with the fault-free weights"
