#!/usr/bin/env bash
# sigma-launch task under srun --mpi=pmix: each node is burned in once, the verdicts are exchanged over PMIx,
# and sigma-train (Open MPI) then starts and trains in the same step. A node failing its preflight makes every
# task exit 10: the node is drained with its reason, RequeueExit requeues the batch job, which completes on the
# other nodes.
source "$(dirname "$0")/lib.sh"
trap restore_cluster EXIT

train=("$SIGMA_TRAIN" train --data "$out/licences.tok" --d-model 32 --n-heads 2 --seq-len 32 --d-ff 32 --n-experts 4
       --top-k 2 --global-batch 8 --ep-size 2 --threads 1 --peak-gflops 1 --steps 50 --log-every 50)

on_cluster srun -N2 --mpi=pmix "$SIGMA_LAUNCH" task --preflight quick --config "$out/site.yaml" -- "${train[@]}" \
  >"$out/healthy.out" 2>&1 || { cat "$out/healthy.out"; fail "the healthy step failed"; }
cat "$out/healthy.out"
grep -q "sigma-launch task: 2 tasks on nodes .*; preflight quick: every node passed" "$out/healthy.out" || fail "no verdict line"
grep -q "^step 50/50" "$out/healthy.out" || fail "sigma-train did not train after the PMIx exchange"
pass "2 tasks: PMIx rank/size/host, verdicts fenced, then sigma-train (MPI_Init) trained 50 steps in the same step"

site_config "  fault_injection: {enabled: true, gemm_bitflip_rate: 0.01, nodes: n1}"
cat >"$out/task.sbatch" <<JOB
#!/bin/bash
#SBATCH -N 2
srun --mpi=pmix "$SIGMA_LAUNCH" task --preflight quick --config "$out/site.yaml" -- ${train[*]}
JOB
job=$(on_cluster sbatch --parsable --requeue --open-mode=append -o "$out/task.out" "$out/task.sbatch")
wait_until 120 "job $job to complete" job_in_state "$job" COMPLETED
cat "$out/task.out"
grep -q "preflight quick: failed n1|fail" "$out/task.out" || fail "the failed node was not reported"
node_is n1 'drained\|draining' || fail "n1 is $(node_state n1)"
reason=$(on_cluster sinfo -h -n n1 -o '%E')
[[ "$reason" == "sigma: gemm sdc "* ]] || fail "n1's reason is \"$reason\""
[ "$(job_field "$job" Restarts)" = 1 ] || fail "Restarts=$(job_field "$job" Restarts), expected 1"
nodes=$(job_field "$job" NodeList)
[[ "$nodes" != *n1* && "$nodes" != "n[1-"* ]] || fail "the requeued job ran on $nodes"
pass "n1 failed its preflight: every task exited 10, n1 drained (\"$reason\"), job $job requeued and completed on $nodes"
