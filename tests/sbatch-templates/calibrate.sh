#!/usr/bin/env bash
# calibrate.sbatch, unchanged, on two nodes: both calibrated one after the other into one baseline file (one
# node type on this machine: one entry), with the medians of the requested runs; a preflight against that
# baseline then reports each metric's ratio to it.
source "$(dirname "$0")/lib.sh"
trap restore_spank_cluster EXIT

export SIGMA_BASELINE=$out/baseline.json SIGMA_RUNS=2
job=$(submit_template calibrate.sbatch -N2)
state=$(wait_job_ends "$job" 180)
output=$out/sigma-calibrate-$job.out
cat "$output"
[ "$state" = COMPLETED ] || fail "job $job ended $state"
[ "$(grep -c "^calibrate: n[0-9]$" "$output")" = 2 ] || fail "not two nodes calibrated"
[ "$(grep -c "$SIGMA_BASELINE: baseline for .* metrics, median of 2 runs" "$output")" = 2 ] || fail "no baseline lines"
/usr/bin/python3 - "$SIGMA_BASELINE" <<'PY' || fail "baseline file is not what calibrate promises"
import json, sys
types = json.load(open(sys.argv[1]))["node_types"]
assert len(types) == 1, types.keys()
entry = next(iter(types.values()))
assert entry["runs"] == 2, entry
assert any(k.startswith("gemm.") for k in entry["metrics"]), entry["metrics"]
assert any(k.startswith("membw.") for k in entry["metrics"]), entry["metrics"]
print("baseline:", next(iter(types)), len(entry["metrics"]), "metrics")
PY
pass "calibrate.sbatch: 2 nodes calibrated into one baseline entry (median of 2 runs)"
