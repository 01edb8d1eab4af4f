#!/usr/bin/env bash
# A drained node gets no new jobs and keeps its reason; resuming it brings it back.
source "$(dirname "$0")/lib.sh"
trap restore_cluster EXIT

on_cluster scontrol update nodename=n2 state=drain reason="sigma: gemm sdc 3/4096"
reason=$(on_cluster sinfo -h -n n2 -o '%E')
[ "$reason" = "sigma: gemm sdc 3/4096" ] || fail "drain reason is \"$reason\""
nodes=$(on_cluster srun -N3 bash -c 'echo $SLURMD_NODENAME' | sort | xargs)
[ "$nodes" = "n1 n3 n4" ] || fail "jobs ran on \"$nodes\" with n2 drained"
pass "with n2 drained (reason \"$reason\") srun -N3 ran on $nodes"

on_cluster scontrol update nodename=n2 state=resume
wait_until 60 "n2 idle after resume" node_is n2 idle
nodes=$(on_cluster srun -N4 bash -c 'echo $SLURMD_NODENAME' | sort | xargs)
[ "$nodes" = "n1 n2 n3 n4" ] || fail "after resume jobs ran on \"$nodes\""
pass "after resume srun -N4 ran on $nodes"
