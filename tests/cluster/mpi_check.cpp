// Every rank contributes its rank to an MPI_Allreduce; rank 0 checks the sum and counts the distinct Slurm
// nodes the ranks ran on (the node name, not the host name: all nodes share one host here).
#include <mpi.h>

#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include "sigma/platform/mpi_process.hpp"
#include "sigma/platform/mpi_start.hpp"

int main(int argc, char** argv) {
  sigma::core::start_mpi(&argc, &argv);
  int rank = 0;
  int size = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);

  long mine = rank;
  long sum = 0;
  MPI_Allreduce(&mine, &sum, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD);

  constexpr int kNameLen = 64;
  std::vector<char> node(kNameLen, '\0');
  const char* name = std::getenv("SLURMD_NODENAME");
  std::snprintf(node.data(), kNameLen, "%s", name != nullptr ? name : "?");
  std::vector<char> all(rank == 0 ? static_cast<std::size_t>(size) * kNameLen : 0);
  MPI_Gather(node.data(), kNameLen, MPI_CHAR, all.data(), kNameLen, MPI_CHAR, 0, MPI_COMM_WORLD);

  if (rank == 0) {
    std::set<std::string> distinct;
    for (int i = 0; i < size; ++i) distinct.insert(std::string(all.data() + static_cast<std::size_t>(i) * kNameLen));
    const bool ok = sum == static_cast<long>(size) * (size - 1) / 2;
    std::printf("ranks=%d nodes=%zu allreduce=%s\n", size, distinct.size(), ok ? "ok" : "WRONG");
  }
  MPI_Finalize();
  return 0;
}
