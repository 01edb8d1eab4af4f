#!/usr/bin/env bash
# validate-nodes.sbatch, unchanged, on all four nodes with n2 made bad through the site config: the table has one
# verdict per node, n2 fails with the check's reason and is drained, the others pass and stay in service, and
# the job fails (exit 1) because a node did.
source "$(dirname "$0")/lib.sh"
trap restore_spank_cluster EXIT

site_config "  fault_injection: {enabled: true, gemm_bitflip_rate: 0.01, nodes: n2}"
job=$(submit_template validate-nodes.sbatch -N4)
state=$(wait_job_ends "$job" 180)
output=$out/sigma-validate-$job.out
cat "$output"
[ "$state" = FAILED ] || fail "job $job ended $state although n2 is bad"
grep -qE "^node +verdict +seconds +state +reason$" "$output" || fail "no verdict table"
for node in n1 n3 n4; do
  grep -qE "^$node +pass +[0-9.]+ +(idle|allocated|mixed|completing)" "$output" || fail "$node has no pass row"
  ! node_is "$node" 'drained\|draining' || fail "$node was drained"
done
grep -qE "^n2 +FAIL +[0-9.]+ +drain[a-z]* +sigma: gemm sdc [0-9]+/[0-9]+" "$output" || fail "n2 has no FAIL row with its reason"
[[ "$(on_cluster sinfo -h -n n2 -o '%E')" == "sigma: gemm sdc "* ]] || fail "n2 is not drained with the check's reason"
grep -q "^validate-nodes: 1 node(s) did not pass" "$output" || fail "no closing line"
[ -s "$out/sigma-validate/$job/n2.txt" ] || fail "no report kept for n2"
grep -q "^verdict: pass" "$out/sigma-validate/$job/n1.txt" || fail "n1's report does not say pass"
pass "validate-nodes.sbatch: n1,n3,n4 pass, n2 fails (gemm sdc) and is drained; the job exits 1"

export SIGMA_DRAIN=maybe
job=$(submit_template validate-nodes.sbatch -w n1)
state=$(wait_job_ends "$job" 120)
[ "$state" = FAILED ] || fail "job with SIGMA_DRAIN=maybe ended $state"
grep -qx 'validate-nodes: SIGMA_DRAIN: expected yes or no, got "maybe"' "$out/sigma-validate-$job.out" ||
  fail "no message for SIGMA_DRAIN=maybe: $(cat "$out/sigma-validate-$job.out")"
pass "validate-nodes.sbatch refuses SIGMA_DRAIN=maybe with one line"
