#!/usr/bin/env bash
# moe-train.sbatch, unchanged: 3 nodes (2 training + 1 spare), every node burned in by the plugin's prolog, the
# supervisor running sigma-train with checkpoints in the job's own run directory, to the end; then the
# template's own refusals of a missing trainer config, a spare count the job cannot hold, a SIGMA_MIN_NODES that
# is no number and quotes in SIGMA_TRAIN_ARGS (which it does not parse).
source "$(dirname "$0")/lib.sh"
trap restore_spank_cluster EXIT

"$SIGMA_TRAIN" prepare --output "$out/licences.tok" /usr/share/common-licenses/* >/dev/null
{ tiny_run_config "$out/licences.tok" 300 8; echo "log_every: 100"; } >"$out/run.yaml"
export SIGMA_TRAIN_CONFIG=$out/run.yaml SIGMA_TRAIN_ARGS="--ep-size 2 --threads 1" SIGMA_CKPT_EVERY=100
job=$(submit_template moe-train.sbatch)
state=$(wait_job_ends "$job" 240)
output=$out/moe-train-$job.out
cat "$output"
[ "$state" = COMPLETED ] || fail "job $job ended $state"
grep -q "moe-train: job $job, run 1, nodes .*; run directory $out/sigma-runs/$job" "$output" ||
  fail "no start line naming the run directory"
# No SIGMA_SPARES: the site config's cluster.spare_nodes (1) decides, in the supervisor.
grep -qxF "sigma-launch: 3 node(s): 2 training, 1 spare (cluster.spare_nodes)" "$output" ||
  fail "the supervisor did not take its spare count from the site config"
grep -q "sigma-launch: starting the step on n[0-9],n[0-9] (attempt 1)" "$output" || fail "the supervisor did not start 2 nodes"
[ "$(events "$job" job_prolog | wc -l)" -ge 3 ] || fail "fewer than 3 job_prolog events: preflight did not run on every node"
"$SIGMA_CKPT" verify "$out/sigma-runs/$job/ckpt" || fail "the job's checkpoints do not verify"
last=$(tail -1 "$out/sigma-runs/$job/train.jsonl" | json_field step)
[ "$last" = 300 ] || fail "train.jsonl ends at step $last, not 300"
pass "moe-train.sbatch: preflight on 3 nodes, trained to step 300 on 2 with 1 spare, checkpoints verified"

# refused WHAT LINE: the template, submitted with the environment as it is now, ends FAILED with exit 2 (usage) and
# the one line LINE (a grep -x pattern) in its output; sets REFUSED to the job's id.
refused() {
  local state
  REFUSED=$(submit_template moe-train.sbatch)
  state=$(wait_job_ends "$REFUSED" 120)
  [ "$state" = FAILED ] || fail "job with $1 ended $state"
  grep -qx -- "$2" "$out/moe-train-$REFUSED.out" || fail "no message for $1: $(cat "$out/moe-train-$REFUSED.out")"
  [ "$(job_field "$REFUSED" ExitCode)" = "2:0" ] || fail "$1: exit code $(job_field "$REFUSED" ExitCode), expected usage (2)"
}

unset SIGMA_TRAIN_CONFIG
refused "no trainer config" "moe-train: SIGMA_TRAIN_CONFIG: not set; expected the path of a sigma-train config"
export SIGMA_TRAIN_CONFIG=$out/run.yaml SIGMA_SPARES=3
refused "3 spares out of 3 nodes" 'moe-train: SIGMA_SPARES: expected a whole number below the job.s 3 nodes, got "3"'
export SIGMA_SPARES=1 SIGMA_MIN_NODES=two
refused "SIGMA_MIN_NODES=two" 'moe-train: SIGMA_MIN_NODES: expected a whole number, got "two"'
unset SIGMA_MIN_NODES
export SIGMA_TRAIN_ARGS='--ep-size 2 --data "my corpus.tok"'
refused "quotes in SIGMA_TRAIN_ARGS" "moe-train: SIGMA_TRAIN_ARGS: quotes and backslashes are not parsed; expected options split at spaces, or one argument a line for a value with spaces"
[ ! -e "$out/sigma-runs/$REFUSED" ] || fail "the refused job left a run directory"
pass "moe-train.sbatch refuses a missing trainer config, too many spares, a SIGMA_MIN_NODES that is no number and quoted SIGMA_TRAIN_ARGS with one line and exit 2"
