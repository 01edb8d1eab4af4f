#!/usr/bin/env bash
# Node recycling by `sigma-healthcheck nhc` (HealthCheckProgram): a node sigma drained is left alone during its
# hold-off, then burned in at the recycle level and resumed when it passes, or drained again with the new reason
# when it fails; a node drained by an admin is never touched. Every transition is in the ledger.
source "$(dirname "$0")/lib.sh"
trap restore_spank_cluster EXIT

nhc() { on_cluster env SLURMD_NODENAME="$1" "$SIGMA_HEALTHCHECK" nhc --config "$SITE" >/dev/null 2>&1 || true; }
reason_of() { on_cluster sinfo -h -n "$1" -o '%E'; }

on_cluster scontrol update nodename=n2 state=drain reason="sigma: gemm sdc 3/4096"
on_cluster scontrol update nodename=n3 state=drain reason="admin: replacing DIMM"
on_cluster scontrol update nodename=n4 state=drain reason="sigma: membw slow 60%"

site_config "" 3600   # hold-off of an hour: too early
nhc n2
node_is n2 'drained\*\{0,1\}' || fail "n2 was touched during its hold-off"
site_config "  fault_injection: {enabled: true, gemm_bitflip_rate: 0.01, nodes: n4}" 0
for node in n2 n3 n4; do nhc "$node"; done

# Resumed: idle again (Slurm may show "idle*" for a moment, until the node's next ping).
wait_until 30 "n2 to be idle after passing its re-validation" node_is n2 idle
node_is n3 'drained\*\{0,1\}' || fail "the admin-drained n3 is $(node_state n3)"
[ "$(reason_of n3)" = "admin: replacing DIMM" ] || fail "n3's reason changed to \"$(reason_of n3)\""
node_is n4 'drained\*\{0,1\}' || fail "n4 failed re-validation but is $(node_state n4)"
[[ "$(reason_of n4)" == "sigma: gemm sdc "* ]] || fail "n4's reason is \"$(reason_of n4)\""
[ -n "$(events "" node_validating n2)" ] && [ -n "$(events "" node_resumed n2)" ] || fail "n2's ledger story"
[ -n "$(events "" node_recycle_failed n4)" ] || fail "no node_recycle_failed for n4"
[ -z "$(events "" node_validating n3)" ] || fail "n3 was validated"
pass "n2 resumed after passing extended; n3 (admin) left drained; n4 drained again: $(reason_of n4)"
"$(dirname "$SIGMA_HEALTHCHECK")/../contracts/sigma-ledger" show "$LEDGER" --host n2 | tail -3
