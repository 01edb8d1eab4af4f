#!/usr/bin/env bash
# torch-train.sbatch running the PyTorch example on 2 nodes and a spare: rank 1 killed with kill -9 mid-training.
# The supervisor aborts the step on srun's line for the killed task, restarts the program off the killed rank's
# node (on the spare, inside the allocation, no requeue), where it resumes from its newest checkpoint and trains
# to the end.
source "$(dirname "$0")/torch_lib.sh"
trap restore_spank_cluster EXIT

export SIGMA_CKPT_EVERY=20 SIGMA_TORCH_ARGS="--steps 200 --step-seconds 0.05"
submit_torch
wait_until 90 "job $JOB to pass step 50" past_step 50
pid=$(torch_rank_pid 1) || fail "no rank 1 found"
victim=$(rank_node "$pid")
kill -9 "$pid"
finished 200
grep -q "srun reports a task on $victim ended: Killed: aborting the step" "$OUTPUT" ||
  fail "the step was not aborted on srun's line for the killed rank"
second=$(grep "sigma-launch: starting the step on" "$OUTPUT" | sed -n 2p)
[[ -n "$second" && "$second" != *"$victim"* ]] || fail "the restart ($second) did not leave $victim"
[ "$(job_field "$JOB" Restarts)" = 0 ] || fail "the job was requeued"
resumed=$(resumed_step)
[ "${resumed:-0}" -gt 0 ] || fail "the restart did not resume from a checkpoint"
pass "rank 1 on $victim killed past step 50: step aborted, restarted without $victim ($second), resumed from step $resumed, completed"
