#!/usr/bin/env bash
# The healthcheck on the local Slurm cluster: the interconnect check across four nodes under srun --mpi=pmix,
# and nhc draining a failing node through the Slurm API with its reason (and leaving a healthy one alone).
# Usage: on_cluster.sh SIGMA_HEALTHCHECK_BINARY
source "$(dirname "$0")/../cluster/lib.sh"
readonly BIN=$1
trap restore_cluster EXIT

dir=$(scratch)
# Four logical nodes share two cores here, so link timings say nothing: slow-link judgement is off
# (interconnect.min_ratio 0); results are still verified element by element.
cat >"$dir/site.yaml" <<YAML
cluster: {name: sigma-test}
preflight:
  gemm: {sizes: [64]}
  membw: {size_mib: 8}
  memtest: {share: 0.001, max_mib: 8}
  interconnect: {size_kib: 256, min_ratio: 0}
paths: {state_dir: $dir, ledger: $dir/events.jsonl}
YAML
sed 's/^  interconnect: .*/  fault_injection: {enabled: true, crash_check: membw}/' "$dir/site.yaml" >"$dir/crash.yaml"

# 1. interconnect across n1..n4, one rank per node.
on_cluster srun -N4 --ntasks-per-node=1 --mpi=pmix "$BIN" --config "$dir/site.yaml" --check interconnect --json \
  >"$dir/interconnect.json" 2>"$dir/interconnect.err" || { cat "$dir/interconnect.err" >&2; fail "interconnect check failed"; }
passed=$(grep -c '"passed": true' "$dir/interconnect.json" || true)
ranks=$(grep -c '"ranks": 4' "$dir/interconnect.json" || true)
[ "$passed" = 4 ] && [ "$ranks" = 4 ] || { cat "$dir/interconnect.json" >&2; fail "expected 4 passing reports over 4 ranks"; }
pass "interconnect: 4 ranks on 4 nodes, allreduce and alltoall verified"

# 2. nhc on a healthy node: exit 0, node stays idle.
on_cluster env SLURMD_NODENAME=n1 "$BIN" nhc --config "$dir/site.yaml" >/dev/null 2>&1 || fail "nhc failed on a healthy node"
node_is n1 idle || fail "healthy n1 is $(node_state n1)"
pass "nhc: healthy n1 left idle"

# 3. nhc on a failing node: exit 10, node drained with the one-line reason.
set +e
on_cluster env SLURMD_NODENAME=n3 "$BIN" nhc --config "$dir/crash.yaml" >/dev/null 2>"$dir/nhc.err"
rc=$?
set -e
[ "$rc" = 10 ] || { cat "$dir/nhc.err" >&2; fail "nhc exit $rc, expected 10"; }
wait_until 60 "n3 drained" node_is n3 drained
reason=$(on_cluster sinfo -h -n n3 -o '%E' | head -1)
[ "$reason" = "sigma: membw crash SIGSEGV" ] || fail "n3 reason is '$reason'"
grep -q '"event":"preflight_fail"' "$dir/events.jsonl" || fail "no preflight_fail event in the ledger"
pass "nhc: failing n3 drained with reason '$reason', event in the ledger"
