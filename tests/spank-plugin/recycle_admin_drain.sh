#!/usr/bin/env bash
# An admin who drains a node while sigma's recycle is burning it in keeps the node drained with their reason:
# whether the burn-in then passes (no resume) or fails (no sigma reason over theirs, which the next nhc would
# resume). The burn-in is made slow (fault injection's slowdown on n2, which sleeps out 1000 times each timed
# memory copy, over larger arrays: a few seconds) so that the admin's drain lands mid-way.
source "$(dirname "$0")/lib.sh"
trap restore_spank_cluster EXIT
out=$(scratch)

reason_of() { on_cluster sinfo -h -n "$1" -o '%E'; }
validations() { events "" node_validating n2 | wc -l; }
more_validations_than() { [ "$(validations)" -gt "$1" ]; }

# recycle_with_admin_drain FAULT: drains n2 for sigma, starts nhc on it, drains it as an admin once the burn-in
# has begun, and waits for nhc to finish.
recycle_with_admin_drain() {
  local before pid
  site_config "  fault_injection: {enabled: true, slowdown: 1000, nodes: n2$1}" 0
  sed -i 's/membw: {size_mib: 8}/membw: {size_mib: 16}/; s/extended: {budget_s: 30,/extended: {budget_s: 90,/' "$SITE"
  on_cluster scontrol update nodename=n2 state=drain reason="sigma: gemm sdc 3/4096"
  before=$(validations)
  on_cluster env SLURMD_NODENAME=n2 "$SIGMA_HEALTHCHECK" nhc --config "$SITE" >"$out/nhc.out" 2>&1 &
  pid=$!
  wait_until 60 "the recycle of n2 to start" more_validations_than "$before"
  kill -0 "$pid" 2>/dev/null || fail "the burn-in ended before the admin's drain: $(cat "$out/nhc.out")"
  on_cluster scontrol update nodename=n2 state=drain reason="admin: replacing DIMM, do not resume"
  wait "$pid" || true
  cat "$out/nhc.out"
  node_is n2 'drained\*\{0,1\}' || fail "n2 is $(node_state n2) after the admin drained it during the burn-in"
  [ "$(reason_of n2)" = "admin: replacing DIMM, do not resume" ] || fail "n2's reason became \"$(reason_of n2)\""
  [ -n "$(events "" node_recycle_abandoned n2)" ] || fail "no node_recycle_abandoned event for n2"
}

recycle_with_admin_drain ""
pass "a passing burn-in did not resume n2: $(reason_of n2)"
on_cluster scontrol update nodename=n2 state=resume
wait_until 60 "n2 to be idle" node_is n2 idle

recycle_with_admin_drain ", gemm_bitflip_rate: 0.01"
grep -q "sigma: gemm sdc" "$out/nhc.out" || fail "the second burn-in did not fail"
# The next nhc leaves an admin's drain alone.
on_cluster env SLURMD_NODENAME=n2 "$SIGMA_HEALTHCHECK" nhc --config "$SITE" >/dev/null 2>&1 || true
[ "$(reason_of n2)" = "admin: replacing DIMM, do not resume" ] || fail "the next nhc changed n2's reason"
pass "a failing burn-in kept the admin's reason on n2: $(reason_of n2)"
