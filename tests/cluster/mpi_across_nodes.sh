#!/usr/bin/env bash
# An Open MPI program runs across the 4 nodes with srun --mpi=pmix and gets the right answer.
# Usage: mpi_across_nodes.sh MPI_PROGRAM
source "$(dirname "$0")/lib.sh"
trap restore_cluster EXIT
program=$1

expect_line "ranks=8 nodes=4 allreduce=ok" "unexpected MPI result" srun -N4 -n8 --mpi=pmix "$program"
pass "MPI_Allreduce over 8 ranks on 4 nodes with srun --mpi=pmix"
