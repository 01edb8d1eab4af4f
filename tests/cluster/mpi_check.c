/* Every rank contributes its rank; the sum and the number of distinct nodes are checked on rank 0. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, size = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  long sum = 0, mine = rank;
  MPI_Allreduce(&mine, &sum, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD);
  /* The Slurm node name, not the host name: all nodes share one host here. */
  char node[64] = {0};
  const char* name = getenv("SLURMD_NODENAME");
  strncpy(node, name ? name : "?", sizeof node - 1);
  char* all = rank == 0 ? malloc((size_t)size * sizeof node) : NULL;
  MPI_Gather(node, sizeof node, MPI_CHAR, all, sizeof node, MPI_CHAR, 0, MPI_COMM_WORLD);
  if (rank == 0) {
    int distinct = 0;
    for (int i = 0; i < size; ++i) {
      int seen = 0;
      for (int j = 0; j < i; ++j) seen |= strcmp(all + i * sizeof node, all + j * sizeof node) == 0;
      distinct += !seen;
    }
    printf("ranks=%d nodes=%d allreduce=%s\n", size, distinct, sum == (long)size * (size - 1) / 2 ? "ok" : "WRONG");
    free(all);
  }
  MPI_Finalize();
  return 0;
}
