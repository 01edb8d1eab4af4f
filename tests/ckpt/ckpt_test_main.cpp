// GoogleTest main for the checkpoint unit tests: one process, MPI initialised once (a world of one rank).
#include <gtest/gtest.h>
#include <mpi.h>

#include "sigma/core/mpi_process.hpp"

int main(int argc, char** argv) {
  sigma::core::prepare_mpi_process();
  MPI_Init(&argc, &argv);
  ::testing::InitGoogleTest(&argc, argv);
  int failed = RUN_ALL_TESTS();
  MPI_Finalize();
  return failed;
}
