#!/usr/bin/env bash
# torch-train.sbatch running the PyTorch example: SIGUSR1 to the batch shell (what --signal=B:USR1@300 sends
# before the time limit). The template forwards it to the supervisor, the supervisor to the step; every rank sees
# sigma.should_stop(), they save at the same step and exit 42; the job exits 42 and Slurm requeues it
# (RequeueExit); the requeued run resumes from that step and trains to the end.
source "$(dirname "$0")/torch_lib.sh"
trap restore_spank_cluster EXIT

export SIGMA_CKPT_EVERY=1000 SIGMA_TORCH_ARGS="--steps 400 --step-seconds 0.05"
submit_torch
wait_until 90 "job $JOB to pass step 30" past_step 30
on_cluster scancel --batch --signal=USR1 "$JOB"
finished 400
grep -q "forwarding signal 10 to the step" "$OUTPUT" || fail "the supervisor did not forward SIGUSR1"
saved=$(sed -n 's/^torch_train: stopped at step \([0-9]*\) on a signal: saved, exit 42$/\1/p' "$OUTPUT")
[ -n "$saved" ] || fail "the program did not save on the signal"
[ "$(job_field "$JOB" Restarts)" = 1 ] || fail "Restarts=$(job_field "$JOB" Restarts), expected 1"
grep -q "torch-train: job $JOB, run 2," "$OUTPUT" || fail "no second run of the job"
# --ckpt-every 1000: the only checkpoint below step 400 is the one the signal asked for.
[ "$(resumed_step)" = "$saved" ] || fail "the requeued run resumed from step $(resumed_step), not $saved"
pass "SIGUSR1: forwarded, saved at step $saved, exit 42, requeued once, resumed from step $saved, completed"
