# Helpers for the sbatch templates' tests: the templates are submitted unchanged (knobs through the environment
# and sbatch's command line) to the local cluster whose plugstack.conf loads the SPANK plugin.
# Expects, besides tests/spank-plugin/lib.sh's variables: SIGMA_TEMPLATES (sbatch-templates/), SIGMA_LAUNCH, SIGMA_TRAIN,
# SIGMA_CKPT.
source "$(dirname "${BASH_SOURCE[0]}")/../spank-plugin/lib.sh"
: "${SIGMA_TEMPLATES:?}" "${SIGMA_LAUNCH:?}" "${SIGMA_TRAIN:?}" "${SIGMA_CKPT:?}"

# The templates call sigma's binaries by name, as an installed system has them on PATH.
PATH=$(dirname "$SIGMA_LAUNCH"):$(dirname "$SIGMA_TRAIN"):$(dirname "$SIGMA_CKPT"):$(dirname "$SIGMA_HEALTHCHECK"):$PATH
PATH=$(cd "$(dirname "$SIGMA_HEALTHCHECK")/../policy" && pwd):$PATH  # sigma-config
PATH=$(cd "$(dirname "$SIGMA_HEALTHCHECK")/../contracts" && pwd):$PATH  # sigma-ledger
export PATH SIGMA_SITE_CONFIG=$SITE

out=$(scratch)

# submit_template TEMPLATE [sbatch options...] -> job id; submitted from $out, so the template's default output
# file and run directories land there.
submit_template() {
  local template=$1
  shift
  (cd "$out" && on_cluster sbatch --parsable "$@" "$SIGMA_TEMPLATES/$template")
}

# tiny_run_config DATA STEPS GLOBAL_BATCH: a sigma-train run config for the smallest useful MoE model (prints it).
tiny_run_config() {
  printf '%s\n' "data: $1" "d_model: 32" "n_layers: 1" "n_heads: 2" "seq_len: 32" "n_experts: 4" "d_ff: 32" \
    "top_k: 2" "global_batch: $3" "steps: $2"
}

# wait_job_ends JOB SECONDS: until the job is COMPLETED, FAILED or CANCELLED; prints that state.
job_ended() { job_field "$1" JobState | grep -qxE 'COMPLETED|FAILED|CANCELLED|TIMEOUT'; }
wait_job_ends() {
  wait_until "$2" "job $1 to end" job_ended "$1"
  job_field "$1" JobState
}

# supervisor_pid JOB: the pid of the job's sigma-launch supervise (in its batch step; submitted from $out, which
# tells it from a job with the same id on another test cluster of this host).
supervisor_pid() {
  local pid env
  for pid in $(pgrep -f "sigma-launch supervise"); do
    env=$(tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null) || continue
    if grep -qx "SLURM_JOB_ID=$1" <<<"$env" && grep -qx "SLURM_SUBMIT_DIR=$out" <<<"$env"; then
      echo "$pid"
      return 0
    fi
  done
  return 1
}
