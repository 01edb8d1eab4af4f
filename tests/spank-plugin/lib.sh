# Helpers for the SPANK plugin's tests on a local Slurm cluster whose plugstack.conf loads spank_sigma.so.
# Source it; besides tests/cluster/lib.sh's variables it expects
#   SIGMA_SPANK_PLUGIN   path of spank_sigma.so
#   SIGMA_HEALTHCHECK    path of sigma-healthcheck (the site config's paths.healthcheck_bin)
source "$(dirname "${BASH_SOURCE[0]}")/../cluster/lib.sh"
: "${SIGMA_SPANK_PLUGIN:?}" "${SIGMA_HEALTHCHECK:?}"

readonly SITE=$SIGMA_CLUSTER_DIR/etc/site.yaml
readonly STATE=$SIGMA_CLUSTER_DIR/state
readonly LEDGER=$STATE/events.jsonl

# site_config [YAML lines under preflight:] [recycle hold-off] [YAML keys inside policy's flow map]: the cluster's
# one site config, replaced atomically (the plugin reads it afresh in every prolog; the supervisor once per run).
# Small checks and budgets keep each burn-in around a second on this machine.
# One spare node, as site-configs/local.yaml has it: moe-train.sbatch's supervisor keeps that many.
site_config() {
  local extra=${1:-} hold_off=${2:-600} policy=${3:+, $3}
  mkdir -p "$STATE"
  chmod 755 "$STATE"
  cat >"$SITE.new" <<YAML
cluster: {name: sigma-spank-test, spare_nodes: 1}
preflight:
  default_level: quick
  levels:
    quick: {budget_s: 20, checks: [gemm, membw]}
    standard: {budget_s: 30, checks: [gemm, membw, memtest, interconnect]}
    extended: {budget_s: 30, checks: [gemm, membw, memtest]}
  gemm: {sizes: [64]}
  membw: {size_mib: 8}
  memtest: {share: 0.001, max_mib: 8}
  result_ttl_s: 600
  recycle: {hold_off_s: $hold_off, level: extended}
$extra
policy: {max_requeues: 3$policy}
paths:
  state_dir: $STATE
  ledger: $LEDGER
  healthcheck_bin: $SIGMA_HEALTHCHECK
YAML
  chmod 644 "$SITE.new"
  mv "$SITE.new" "$SITE"
}

# Fresh state for a test: default config, no cached passes, no job verdicts (the ledger is kept; tests read the
# events of their own jobs).
reset_site() {
  site_config
  rm -rf "$STATE/validated" "$STATE/jobs" "$STATE/drains"
}

restore_spank_cluster() {
  reset_site
  restore_cluster
}

# events JOB_OR_EMPTY EVENT [HOST]: the ledger's matching events, one JSON object a line.
events() {
  local args=(show "$LEDGER" --json --event "$2")
  [ -z "$1" ] || args+=(--job "$1")
  [ -z "${3:-}" ] || args+=(--host "$3")
  "$(dirname "$SIGMA_HEALTHCHECK")/../contracts/sigma-ledger" "${args[@]}" 2>/dev/null || true
}


# epoch SECONDS of an RFC 3339 ledger time.
epoch_of() { date -d "$1" +%s.%N; }

job_out() { cat "$1" 2>/dev/null || true; }
