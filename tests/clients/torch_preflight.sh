#!/usr/bin/env bash
# torch-train.sbatch as a user submits it (the template's own #SBATCH lines: 3 nodes, --sigma-preflight): every
# node burned in by the plugin's job prolog (--sigma-fresh: whatever earlier tests cached), the PyTorch example
# trained on 2 of them with the site's spare kept, to the end; then the template's refusals of its bad knobs.
source "$(dirname "$0")/torch_lib.sh"
trap restore_spank_cluster EXIT

export SIGMA_CKPT_EVERY=50 SIGMA_TORCH_ARGS="--steps 100"
submit_torch --sigma-fresh
finished 100
passed=$(events "$JOB" preflight_pass | json_field host | sort | xargs)
nodes=$(on_cluster scontrol show hostnames "$(job_field "$JOB" NodeList)" | sort | xargs)
[ "$(wc -w <<<"$nodes")" = 3 ] || fail "job $JOB ran on \"$nodes\", not 3 nodes"
[ "$passed" = "$nodes" ] || fail "preflight_pass events for \"$passed\", expected one for each of $nodes"
grep -qxF "sigma-launch: 3 node(s): 2 training, 1 spare (cluster.spare_nodes)" "$OUTPUT" ||
  fail "the supervisor did not keep the site's spare"
[ -f "$RUN/ckpt/step_00000100.pt" ] || fail "no checkpoint of step 100 in $RUN/ckpt"
pass "job $JOB: preflight passed on $nodes, the PyTorch example trained to step 100 on 2 nodes with 1 spare"

# refused WHAT LINE: the template ends FAILED with exit 2 and the one line LINE in its output.
refused() {
  local state
  submit_torch
  state=$(wait_job_ends "$JOB" 60)
  [ "$state" = FAILED ] || fail "job with $1 ended $state"
  grep -qxF -- "$2" "$OUTPUT" || fail "no message for $1: $(cat "$OUTPUT")"
  [ "$(job_field "$JOB" ExitCode)" = "2:0" ] || fail "$1: exit code $(job_field "$JOB" ExitCode), expected 2"
}
SIGMA_TORCH_SCRIPT=$out/none.py refused "a missing program" \
  "torch-train: SIGMA_TORCH_SCRIPT: \"$out/none.py\" is not a file; expected the path of a training program"
SIGMA_TORCH_ARGS="--steps 'ten'" refused "quotes in SIGMA_TORCH_ARGS" \
  "torch-train: SIGMA_TORCH_ARGS: quotes and backslashes are not parsed; expected options split at spaces"
SIGMA_TORCH_ARGS="--steps ten" refused "a bad option of the program" \
  "torch_train: argument --steps: expected a whole number >= 1, got \"ten\""
pass "the template refuses a missing program and quoted SIGMA_TORCH_ARGS, the program a bad option: one line, exit 2"
