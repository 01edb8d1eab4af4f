#!/usr/bin/env bash
# sigma's main job on a real Slurm cluster: a 2-node expert-parallel sigma-train batch job is told to stop mid-run
# (SIGUSR1 to its step, as Slurm does before a time limit or preemption), saves an HDF5 checkpoint, exits 42,
# is requeued by RequeueExit, resumes from the checkpoint and finishes with weights and optimizer state bitwise
# identical to an uninterrupted run of the same job.
# Usage: train_requeue_resume.sh SIGMA_TRAIN SIGMA_CKPT
source "$(dirname "$0")/../cluster/lib.sh"
trap restore_cluster EXIT
TRAIN=$1 CKPT=$2
out=$(scratch)
steps=1000

"$TRAIN" prepare --output "$out/licences.tok" "$(dirname "$0")/../trainer/data/GPL-3.txt" >/dev/null
cat >"$out/train.sbatch" <<JOB
#!/bin/bash
#SBATCH -N 2 --ntasks-per-node=1
# Last command: its exit code (42 after a stop signal) is the job's, which RequeueExit acts on.
srun --mpi=pmix "$TRAIN" train --data "$out/licences.tok" --d-model 32 --n-heads 2 --seq-len 32 --d-ff 32 \
  --n-experts 4 --top-k 2 --global-batch 8 --ep-size 2 --threads 1 --peak-gflops 1 --steps $steps \
  --log-every 1 --ckpt-every 100 --ckpt-dir "\$1"
JOB

submit() {  # submit NAME [sbatch options] -> job id
  local name=$1
  shift
  on_cluster sbatch --parsable --open-mode=append -o "$out/$name.out" "$@" "$out/train.sbatch" "$out/$name"
}

reference=$(submit reference)
wait_until 180 "reference job $reference to complete" job_in_state "$reference" COMPLETED

job=$(submit interrupted --requeue)
wait_until 120 "job $job to reach step 60" grep -qs "^step 60/" "$out/interrupted.out"
on_cluster scancel --signal=USR1 "$job"
signalled_at=$(now)
wait_until 180 "job $job to complete after requeue" job_in_state "$job" COMPLETED
grep -E "resumed|^step (1|$steps)/" "$out/interrupted.out"

restarts=$(job_field "$job" Restarts)
[ "$restarts" = 1 ] || fail "job $job restarts=$restarts, expected 1 (exit 42 -> RequeueExit)"
resumed_line=$(grep -m1 "resumed from" "$out/interrupted.out") || fail "the requeued job did not resume from a checkpoint"
resumed_step=$(echo "$resumed_line" | grep -oE 'step_[0-9]+' | sed 's/step_0*//')
[ "${resumed_step:-0}" -ge 60 ] || fail "resumed from step ${resumed_step:-?}, expected the step saved on SIGUSR1 (>= 60)"
"$CKPT" verify "$out/interrupted" >/dev/null || fail "the interrupted job's final checkpoint does not verify"

final=$(printf 'step_%08d' "$steps")
/usr/bin/python3 - "$out/reference/$final/manifest.json" "$out/interrupted/$final/manifest.json" <<'PY' ||
import json, sys
a, b = (json.load(open(path))["tensors"] for path in sys.argv[1:3])
sys.exit(0 if a == b else "tensors differ")
PY
  fail "step $steps differs between the uninterrupted and the interrupted+requeued job"
pass "job $job: SIGUSR1 at step >= 60, saved, exit 42, requeued, resumed at step $resumed_step; step $steps bitwise identical to job $reference (XXH3-64 of every tensor)"
