#!/usr/bin/env bash
# A node made bad through the one site config (fault injection selected by hostlist) fails the job prolog's
# burn-in: it is drained with the check's reason, the ledger and Prometheus record it, and the batch job is
# requeued and completes on the other nodes. Prints the time from the drain to the job running elsewhere.
source "$(dirname "$0")/lib.sh"
trap restore_spank_cluster EXIT
out=$(scratch)

site_config "  fault_injection: {enabled: true, gemm_bitflip_rate: 0.01, nodes: 'n[1,7-9]'}"
# An idle cluster gives a 2-node job n1 and n2 first.
job=$(on_cluster sbatch --parsable -N2 --requeue --sigma-preflight=quick -o "$out/job.out" --open-mode=append \
  --wrap 'echo "started $(date +%s.%N) on $SLURM_JOB_NODELIST"')
wait_until 90 "job $job to complete" job_in_state "$job" COMPLETED
cat "$out/job.out"
reason=$(on_cluster sinfo -h -n n1 -o '%E')
node_is n1 'drained\|draining' || fail "n1 is $(node_state n1), not drained"
[[ "$reason" == "sigma: gemm sdc "* ]] || fail "n1's drain reason is \"$reason\""
nodes=$(job_field "$job" NodeList)
[[ "$nodes" != *n1* && "$nodes" != "n[1-"* ]] || fail "job ran on $nodes, which includes n1"
[ "$(job_field "$job" Restarts)" -ge 1 ] || fail "job $job was not requeued"
drained=$(events "$job" node_drained n1)
[ -n "$drained" ] || fail "no node_drained event for n1"
for other in n2 n3 n4; do ! node_is "$other" 'drained\|draining' || fail "$other was drained too"; done
pass "n1 drained (\"$reason\"), job $job requeued (Restarts=$(job_field "$job" Restarts)) and completed on $nodes"

drain_time=$(epoch_of "$(json_field time <<<"$drained" | head -1)")
started=$(awk '/^started/ { print $2 }' "$out/job.out" | tail -1)
pass "prolog failure to the job running on other nodes: $(seconds_between "$drain_time" "$started")s"
