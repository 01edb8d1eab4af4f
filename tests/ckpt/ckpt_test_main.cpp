// GoogleTest main for the checkpoint unit tests: one process, MPI initialised once (a world of one rank).
#include <gtest/gtest.h>
#include <mpi.h>

#include "sigma/platform/mpi_process.hpp"
#include "sigma/platform/mpi_start.hpp"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  // ctest lists the tests before running them; listing needs no MPI runtime (slow to start under sanitizers).
  if (::testing::GTEST_FLAG(list_tests)) return RUN_ALL_TESTS();
  sigma::core::start_mpi(&argc, &argv);
  int failed = RUN_ALL_TESTS();
  MPI_Finalize();
  return failed;
}
