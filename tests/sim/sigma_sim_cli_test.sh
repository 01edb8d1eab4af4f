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

# A good run (once: it is the slow part): the report's sections, the goals, the loss table's rows, an ablation row
# per mechanism, the 90% line, and an SVG with its three curves.
report=$("$sim" --scenario "$scenario" --max-spares 8 --plot "$work/curve.svg" 2>&1)
rc=$?
[[ $rc -eq 0 ]] || { echo "FAIL: the default scenario exited $rc: $report"; failures=$((failures + 1)); }
for line in "Effective accelerator utilization: \*\*9[0-9.]*%\*\* (the SIGMA paper's figure: 94.45%: above)" \
  "| 0.002 | 98.00% | 9[89].[0-9]*% | [0-8] | [0-9]* | [0-9]* | yes |" \
  "| 0.004 | 97.00% | 9[789].[0-9]*% | [0-8] | [0-9]* | [0-9]* | yes |" \
  "| running narrower than full width | [0-9.]*% |" "| in-memory copies | [0-9.]*% |" \
  "| checkpoint stalls | [0-9.]*% |" "| training redone after failures | [0-9.]*% |" \
  "| detection, restart, checkpoint load | [0-9.]*% |" "| waiting for a spare | [0-9.]*% |" \
  "| no liveness detection " "| checkpoints committed at the next save" "| no in-memory peer copies |" \
  "| in-memory copies every step (K = 1) |" "| no shrink and grow (spares only) |" \
  "| none of the four recovery mechanisms above |" "90% utilization holds up to"; do
  grep -q -- "^$line" <<<"$report" || { echo "FAIL: no line \"$line\" in the report"; failures=$((failures + 1)); }
done
[[ $(grep -c "<polyline" "$work/curve.svg" 2>/dev/null) -eq 3 ]] ||
  { echo "FAIL: the SVG lacks some of its 3 curves"; failures=$((failures + 1)); }
! compgen -G "$work/*.tmp" >/dev/null && ! compgen -G "$work/.*.tmp" >/dev/null ||
  { echo "FAIL: temporary SVG left behind"; failures=$((failures + 1)); }

# A goal out of reach is reported as missed, and the run still succeeds.
sed 's/utilization: 0.97}/utilization: 1.0}/' "$scenario" >"$work/hard.yaml"
expect 0 "| 0.004 | 100.00% | 9[0-9.]*% | .* | \*\*NO\*\* |" -- "$sim" --scenario "$work/hard.yaml" --max-spares 0

# A plot that cannot be written fails with not_found and leaves nothing behind.
expect 5 "sigma-sim: --plot $work/no/dir/curve.svg: cannot write" -- \
  "$sim" --scenario "$scenario" --max-spares 0 --plot "$work/no/dir/curve.svg"

[[ $failures -eq 0 ]] && echo "all sigma-sim CLI checks passed"
exit $((failures > 0))
