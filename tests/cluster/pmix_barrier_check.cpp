// sigma::core::wait_for_every_process() is a barrier across nodes: rank 1 calls it 0.5 s after the others, and
// every other rank must wait for it there. Rank 0 prints "barrier=ok" or the shortest wait it saw.
#include <mpi.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <vector>

#include "sigma/platform/mpi_process.hpp"
#include "sigma/platform/mpi_start.hpp"

int main(int argc, char** argv) {
  constexpr double kLateBy = 0.5, kEnough = 0.4;  // seconds
  sigma::core::start_mpi(&argc, &argv);
  int rank = 0, size = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (rank == 1) usleep(static_cast<useconds_t>(kLateBy * 1e6));
  const double start = MPI_Wtime();
  sigma::core::wait_for_every_process();
  const double waited = MPI_Wtime() - start;
  std::vector<double> waits(static_cast<size_t>(size));
  MPI_Gather(&waited, 1, MPI_DOUBLE, waits.data(), 1, MPI_DOUBLE, 0, MPI_COMM_WORLD);
  if (rank == 0) {
    double shortest = 1e9;
    for (int r = 0; r < size; ++r)
      if (r != 1) shortest = std::min(shortest, waits[static_cast<size_t>(r)]);
    if (size >= 3 && shortest >= kEnough) std::printf("barrier=ok\n");
    else std::printf("barrier=broken ranks=%d shortest_wait=%.3fs\n", size, shortest);
  }
  MPI_Finalize();
  return 0;
}
