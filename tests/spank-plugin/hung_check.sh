#!/usr/bin/env bash
# A check that hangs never leaves a job stuck in its prolog: it is killed at its budget and the node is drained
# within the budget + 5 s (the bound is asserted with a few seconds' allowance for submission and scheduling).
source "$(dirname "$0")/lib.sh"
trap restore_spank_cluster EXIT
out=$(scratch)
readonly BUDGET=6

site_config "  fault_injection: {enabled: true, hang_check: gemm, nodes: n1}"
sed -i "s/quick: {budget_s: 20/quick: {budget_s: $BUDGET/" "$SITE"
submitted=$(now)
job=$(on_cluster sbatch --parsable -N1 -w n1 --sigma-preflight=quick -o "$out/job.out" --wrap true)
wait_until 60 "n1 to drain" node_is n1 'drained\|draining'
drained=$(now)
reason=$(on_cluster sinfo -h -n n1 -o '%E')
elapsed=$(seconds_between "$submitted" "$drained")
echo "n1: \"$reason\" ${elapsed}s after submission (budget ${BUDGET}s)"
[[ "$reason" == sigma:* ]] || fail "n1's drain reason is \"$reason\""
awk -v e="$elapsed" -v b="$BUDGET" 'BEGIN { exit !(e < b + 5 + 3) }' || fail "drained after ${elapsed}s"
on_cluster scancel "$job" || true
pass "a hung gemm check drained n1 ${elapsed}s after submission (budget ${BUDGET}s + 5 s)"
