#!/bin/bash
# sigma-sim as a user runs it: exit codes from the contract, one-line errors, the report and the SVG.
set -uo pipefail
sim=$1 scenario=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0

expect() {  # expect CODE PATTERN -- command...
  local code=$1 pattern=$2
  shift 3
  local out rc
  out=$("$@" 2>&1)
  rc=$?
  if [[ $rc -ne $code ]] || ! grep -q -- "$pattern" <<<"$out"; then
    echo "FAIL: $* -> exit $rc (wanted $code), output: $out"
    failures=$((failures + 1))
  fi
}

expect 2 "sigma-sim: --scenario FILE is required" -- "$sim"
expect 2 "bogus" -- "$sim" --bogus "$scenario"
expect 2 "sigma-sim: --seed: expected 0 or more" -- "$sim" --scenario "$scenario" --seed -1
expect 5 "sigma-sim: $work/none.yaml: cannot open scenario" -- "$sim" --scenario "$work/none.yaml"
printf 'cluster: {nodes: 4, spare_nodes: 9}\n' >"$work/bad.yaml"
expect 3 "sigma-sim: $work/bad.yaml:1:34: cluster.spare_nodes: expected fewer spares than nodes (4), got 9" -- \
  "$sim" --scenario "$work/bad.yaml"
lines=$("$sim" --scenario "$work/bad.yaml" 2>&1 | wc -l)
[[ $lines -eq 1 ]] || { echo "FAIL: a bad scenario printed $lines lines"; failures=$((failures + 1)); }

# A good run: the report's sections, the goal line, and an SVG with the curve.
expect 0 "Effective accelerator utilization: \*\*9[0-9.]*%\*\* (the SIGMA paper's figure: 94.45%: above)" -- \
  "$sim" --scenario "$scenario" --max-spares 8 --plot "$work/curve.svg"
grep -q "<polyline" "$work/curve.svg" || { echo "FAIL: no curve in the SVG"; failures=$((failures + 1)); }
! compgen -G "$work/*.tmp" >/dev/null && ! compgen -G "$work/.*.tmp" >/dev/null ||
  { echo "FAIL: temporary SVG left behind"; failures=$((failures + 1)); }
expect 0 "90% utilization holds up to" -- "$sim" --scenario "$scenario" --max-spares 8

# A plot that cannot be written fails with not_found and leaves nothing behind.
expect 5 "sigma-sim: --plot $work/no/dir/curve.svg: cannot write" -- \
  "$sim" --scenario "$scenario" --max-spares 8 --plot "$work/no/dir/curve.svg"

[[ $failures -eq 0 ]] && echo "all sigma-sim CLI checks passed"
exit $((failures > 0))
