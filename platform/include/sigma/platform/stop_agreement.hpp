// Collective form of platform/stop_signal.hpp for MPI programs: Slurm and mpirun signal the ranks at different
// moments, so every rank asks at the same point whether any rank was asked to stop, and all stop together.
// Header-only so that libsigma_core needs no MPI; include it only where MPI is linked.
#pragma once

#include <mpi.h>

#include "sigma/platform/stop_signal.hpp"

namespace sigma {

// Collective over comm: true on every rank when any rank has a stop request.
inline bool stop_requested_anywhere(MPI_Comm comm) {
  int mine = stop_requested() ? 1 : 0, any = 0;
  MPI_Allreduce(&mine, &any, 1, MPI_INT, MPI_MAX, comm);
  return any != 0;
}

}  // namespace sigma
