#include "sigma/platform/mpi_start.hpp"

#include <mpi.h>
#include <pmix.h>

#include <cstdlib>

namespace sigma::core {

void wait_for_every_process() {
  if (std::getenv("PMIX_NAMESPACE") == nullptr) return;  // not started by a PMIx launcher: nobody to wait for
  pmix_proc_t self{};
  if (PMIx_Init(&self, nullptr, 0) != PMIX_SUCCESS) return;  // counted: an MPI program's own client stays up
  // Collecting (no data) is what makes it wait: under Slurm 22.05's PMIx plugin a fence without
  // PMIX_COLLECT_DATA returned at once while another rank had yet to reach it; with it, every rank waited
  // (bench/results/mpi-start.md). The test pmix_barrier_across_nodes holds this.
  pmix_info_t collect;
  bool yes = true;
  PMIX_INFO_LOAD(&collect, PMIX_COLLECT_DATA, &yes, PMIX_BOOL);
  PMIx_Fence(nullptr, 0, &collect, 1);  // every process of this job; a failure shows in the first MPI call
  PMIX_INFO_DESTRUCT(&collect);
  PMIx_Finalize(nullptr, 0);
}

// Open MPI 4.1 registers a process's receive handlers after the last PMIx fence inside MPI_Init, and under
// Slurm that fence (one without data) does not hold the other ranks back. A rank out of MPI_Init early can
// send its first message to a peer still inside it, whose transport then calls a handler that is not
// registered yet: a segfault at address 0 (on the local Slurm cluster, the core dump shows the TCP transport
// calling the empty handler of message tag 65 inside MPI_Init). Waiting for every process after MPI_Init
// means no rank sends before every rank can receive.
void start_mpi(int* argc, char*** argv) {
  setenv("OMPI_MCA_mca_base_component_disable_dlclose", "1", 0);
  MPI_Init(argc, argv);
  wait_for_every_process();
}

}  // namespace sigma::core
