#!/usr/bin/env bash
# srun -N4 and sbatch jobs reach every node.
source "$(dirname "$0")/lib.sh"
trap restore_cluster EXIT

nodes=$(on_cluster srun -N4 bash -c 'echo $SLURMD_NODENAME' | sort | xargs)
[ "$nodes" = "n1 n2 n3 n4" ] || fail "srun -N4 ran on \"$nodes\""
pass "srun -N4 ran on $nodes"

out=$(scratch)
job=$(on_cluster sbatch --parsable -N4 -o "$out/slurm-%j.out" --wrap 'srun bash -c "echo \$SLURMD_NODENAME"')
wait_until 60 "batch job $job to complete" job_in_state "$job" COMPLETED
nodes=$(sort "$out/slurm-$job.out" | xargs)
[ "$nodes" = "n1 n2 n3 n4" ] || fail "sbatch -N4 ran on \"$nodes\""
pass "sbatch -N4 job $job ran on $nodes"
