// Starting MPI in every sigma program that uses it (library sigma::mpi_start).
#pragma once

namespace sigma::core {

// MPI_Init with Open MPI's components kept loaded (sigma/platform/mpi_process.hpp), then wait_for_every_process():
// a rank may send as soon as this returns (platform/src/mpi_start.cpp says why that wait is needed). argc and argv
// may be null, as for MPI_Init.
void start_mpi(int* argc, char*** argv);

// Returns once every process of this job (the launcher's PMIx namespace) has called it; sends no MPI message.
// Returns at once outside a PMIx launcher.
void wait_for_every_process();

}  // namespace sigma::core
