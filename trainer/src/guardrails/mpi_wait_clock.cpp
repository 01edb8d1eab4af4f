#include "sigma/trainer/guardrails/mpi_wait_clock.hpp"

#include <time.h>

#include <mpi.h>

namespace sigma::trainer {
namespace {

// Per thread: the checkpoint library's background saver also calls MPI and must not count as a step's wait.
thread_local double t_waited = 0;

double monotonic() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

template <typename Call>
int timed(Call call) {
  const double start = monotonic();
  const int rc = call();
  t_waited += monotonic() - start;
  return rc;
}

}  // namespace

double mpi_wait_seconds() { return t_waited; }

}  // namespace sigma::trainer

using sigma::trainer::timed;

extern "C" {

int MPI_Allreduce(const void* send, void* recv, int count, MPI_Datatype type, MPI_Op op, MPI_Comm comm) {
  return timed([&] { return PMPI_Allreduce(send, recv, count, type, op, comm); });
}

int MPI_Alltoall(const void* send, int send_count, MPI_Datatype send_type, void* recv, int recv_count,
                 MPI_Datatype recv_type, MPI_Comm comm) {
  return timed([&] { return PMPI_Alltoall(send, send_count, send_type, recv, recv_count, recv_type, comm); });
}

int MPI_Alltoallv(const void* send, const int send_counts[], const int send_displs[], MPI_Datatype send_type,
                  void* recv, const int recv_counts[], const int recv_displs[], MPI_Datatype recv_type,
                  MPI_Comm comm) {
  return timed([&] {
    return PMPI_Alltoallv(send, send_counts, send_displs, send_type, recv, recv_counts, recv_displs, recv_type, comm);
  });
}

int MPI_Allgather(const void* send, int send_count, MPI_Datatype send_type, void* recv, int recv_count,
                  MPI_Datatype recv_type, MPI_Comm comm) {
  return timed([&] { return PMPI_Allgather(send, send_count, send_type, recv, recv_count, recv_type, comm); });
}

int MPI_Wait(MPI_Request* request, MPI_Status* status) {
  return timed([&] { return PMPI_Wait(request, status); });
}

int MPI_Waitall(int count, MPI_Request requests[], MPI_Status statuses[]) {
  return timed([&] { return PMPI_Waitall(count, requests, statuses); });
}

int MPI_Barrier(MPI_Comm comm) {
  return timed([&] { return PMPI_Barrier(comm); });
}

}  // extern "C"
