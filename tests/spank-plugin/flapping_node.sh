#!/usr/bin/env bash
# A node with an intermittent fault fails a burn-in, passes the recycle, fails again...: the drain that reaches
# preflight.recycle.flap_drains within flap_window_s holds it for a human ("sigma: flapping ..."), which nhc never
# resumes; and while it has a recent drain, a job's prolog burns it in afresh instead of trusting the recycle's
# cached pass.
source "$(dirname "$0")/lib.sh"
trap restore_spank_cluster EXIT
out=$(scratch)

healthcheck() { on_cluster env SLURMD_NODENAME=n3 "$SIGMA_HEALTHCHECK" "$@" --config "$SITE" >/dev/null 2>&1 || true; }
reason_of() { on_cluster sinfo -h -n "$1" -o '%E'; }
faulty() { site_config "  fault_injection: {enabled: true, gemm_bitflip_rate: 0.01, nodes: n3}" 0; }
healthy() { site_config "" 0; }

for round in 1 2; do
  faulty
  healthcheck preflight --level quick
  [[ "$(reason_of n3)" == "sigma: gemm sdc "* ]] || fail "round $round: n3's reason is \"$(reason_of n3)\""
  healthy
  healthcheck nhc
  wait_until 60 "n3 to be resumed (round $round)" node_is n3 idle
done
pass "n3 drained and resumed twice"

# The recycle's pass is in the cache, but n3 was drained minutes ago: a job's prolog burns it in again.
job=$(on_cluster sbatch --parsable -N1 -w n3 --sigma-preflight=quick -o "$out/job.out" --wrap 'echo ran')
wait_until 60 "job $job to complete" job_in_state "$job" COMPLETED
verdict=$(events "$job" job_prolog n3 | json_field details.verdict)
[ "$verdict" = pass ] || fail "job $job's prolog verdict on n3 is \"$verdict\", not a fresh pass"
pass "job $job: n3 burned in afresh (verdict $verdict), not vouched for by the recycle's cached pass"

faulty
healthcheck preflight --level quick
[ "$(reason_of n3)" = "sigma: flapping 3 drains in 3600 s" ] || fail "n3's third drain reason is \"$(reason_of n3)\""
[ -n "$(events "" node_flapping n3)" ] || fail "no node_flapping event for n3"
healthy
healthcheck nhc
sleep 2
node_is n3 'drained\*\{0,1\}' || fail "nhc resumed the flapping n3: $(node_state n3)"
pass "third drain: n3 held for a human: $(reason_of n3)"
