// GoogleTest main for trainer tests: the trainer needs MPI, initialised once per process.
#include <gtest/gtest.h>
#include <mpi.h>

#include "sigma/platform/mpi_process.hpp"
#include "sigma/platform/mpi_start.hpp"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  // ctest lists the tests before running them; listing needs no MPI runtime (slow to start under sanitizers).
  if (::testing::GTEST_FLAG(list_tests)) return RUN_ALL_TESTS();
  sigma::core::start_mpi(&argc, &argv);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (rank != 0) {  // one rank reports; every rank still asserts
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  int failed = RUN_ALL_TESTS();
  int any_failed = 0;
  MPI_Allreduce(&failed, &any_failed, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  MPI_Finalize();
  return any_failed;
}
