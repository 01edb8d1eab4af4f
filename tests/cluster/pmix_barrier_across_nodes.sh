#!/usr/bin/env bash
# sigma's wait for every process (platform/src/mpi_start.cpp) holds ranks on other nodes back under srun --mpi=pmix:
# rank 1 arrives 0.5 s late and the ranks on n1 and n3 wait for it. (A PMIx fence without data did not wait.)
# Usage: pmix_barrier_across_nodes.sh PROGRAM
source "$(dirname "$0")/lib.sh"
trap restore_cluster EXIT
program=$1

expect_line "barrier=ok" "a rank went on before rank 1 reached the barrier" srun -N3 -n3 --mpi=pmix "$program"
pass "3 ranks on 3 nodes: every rank waited for the late one"
