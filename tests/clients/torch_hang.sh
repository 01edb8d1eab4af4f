#!/usr/bin/env bash
# torch-train.sbatch running the PyTorch example: rank 1 hangs at step 60 (the example's test hook), its liveness
# thread beating on and rank 0 waiting for it in the step's gradient all-reduce, as in a hung collective. Only
# step progress stops: the progress timeout (policy.heartbeat_timeout_s, 10 s here) declares the hang, a node of
# the step is drained, and the program restarts from its newest checkpoint and trains to the end.
source "$(dirname "$0")/torch_lib.sh"
trap restore_spank_cluster EXIT

export SIGMA_CKPT_EVERY=20 SIGMA_TORCH_ARGS="--steps 120 --step-seconds 0.02"
export SIGMA_EXAMPLE_HANG_RANK=1 SIGMA_EXAMPLE_HANG_AT_STEP=60
submit_torch
wait_until 90 "rank 1 to hang" grep -qs "torch_train: rank 1 hangs at step 60" "$OUTPUT"
hung_at=$(now)
wait_until 60 "the hang to be declared" grep -q "no heartbeat progress" "$OUTPUT"
declared=$(seconds_between "$hung_at" "$(now)")
finished 120
! grep -q "no liveness beat" "$OUTPUT" || fail "a rank whose liveness thread beats was declared lost"
grep -q "sigma-launch: starting the step on .*(attempt 2)" "$OUTPUT" || fail "the program was not restarted"
failed=$(events "$JOB" step_failed)
[ "$(json_field details.rule <<<"$failed")" = hang ] || fail "step_failed: $failed"
blamed=$(json_field details.node <<<"$failed")
reason=$(on_cluster sinfo -h -n "$blamed" -o '%E')
[[ "$reason" == "sigma: hang"* ]] || fail "the blamed node $blamed's drain reason is \"$reason\""
[ "$(resumed_step)" = 60 ] || fail "the restart resumed from step $(resumed_step), not from the checkpoint at 60"
pass "rank 1 hung at step 60: declared by the progress timeout ${declared}s later, $blamed drained (\"$reason\"), restarted, resumed from step 60, completed"
