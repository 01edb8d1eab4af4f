// Time spent inside blocking MPI calls by the calling thread, through the MPI profiling interface: this
// library defines the blocking calls the trainer makes (all-reduce, all-to-all, waits, gathers, barrier),
// times them and forwards to the PMPI_ entry points. A step's wall time minus this is its compute time,
// which tells a slow rank from the ranks waiting for it (stragglers). Costs two clock reads per call.
#pragma once

namespace sigma::trainer {

// Seconds this thread has spent in blocking MPI calls since it started (monotonic; take differences).
double mpi_wait_seconds();

}  // namespace sigma::trainer
