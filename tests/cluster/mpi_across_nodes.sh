#!/usr/bin/env bash
# An Open MPI program runs across the 4 nodes with srun --mpi=pmix and gets the right answer.
# Usage: mpi_across_nodes.sh MPI_PROGRAM
source "$(dirname "$0")/lib.sh"
trap restore_cluster EXIT
program=$1

out=$(on_cluster srun -N4 -n8 --mpi=pmix "$program")
echo "$out"
echo "$out" | grep -qx "ranks=8 nodes=4 allreduce=ok" || fail "unexpected MPI result"
pass "MPI_Allreduce over 8 ranks on 4 nodes with srun --mpi=pmix"
