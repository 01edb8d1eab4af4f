// interconnect: one rank per node (srun --mpi=pmix). Allreduce and alltoall with verified results and bus
// bandwidth computed as nccl-tests does, then pairwise ping-pong that names the slowest link.
// MPI is initialised here, in the check's child, so the parent never holds MPI state across fork.
#include <mpi.h>

#include <cstdio>
#include <cstdlib>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "sigma/contracts/node_name.hpp"
#include "sigma/platform/mpi_start.hpp"
#include "sigma/healthcheck/check.hpp"
#include "sigma/healthcheck/fault_injector.hpp"

namespace sigma::hc {
namespace {

constexpr int kRepeats = 5;
constexpr int kPingPongRounds = 20;
constexpr int kAllPairsUpTo = 16;  // beyond this many nodes only ring neighbours are timed

struct Mpi {
  int rank = 0, size = 1;
  Mpi() {
    core::start_mpi(nullptr, nullptr);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
  }
  ~Mpi() { MPI_Finalize(); }
};

// Best time of a collective, agreed across ranks (the slowest rank's time is the collective's time).
template <typename F>
double timed(F&& op) {
  double best = 1e300;
  for (int rep = 0; rep < kRepeats; ++rep) {
    MPI_Barrier(MPI_COMM_WORLD);
    const double t0 = MPI_Wtime();
    op();
    double local = MPI_Wtime() - t0, slowest = 0;
    MPI_Allreduce(&local, &slowest, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    best = std::min(best, slowest);
  }
  return best;
}

long sum_over_ranks(long local) {
  long total = 0;
  MPI_Allreduce(&local, &total, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD);
  return total;
}

// Each element is a small integer, so the float sum is exact and checkable element by element.
long allreduce(const Mpi& mpi, std::size_t bytes, const FaultInjector& faults, CheckResult& result) {
  const std::size_t n = bytes / sizeof(float);
  std::vector<float> send(n), recv(n);
  for (std::size_t i = 0; i < n; ++i) send[i] = static_cast<float>(mpi.rank + 1 + static_cast<int>(i % 7));
  const double seconds = faults.slow_down(
      timed([&] { MPI_Allreduce(send.data(), recv.data(), static_cast<int>(n), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD); }));
  long bad = 0;
  const long ranks = mpi.size;
  for (std::size_t i = 0; i < n; ++i) {
    bad += recv[i] != static_cast<float>(ranks * (ranks + 1) / 2 + ranks * static_cast<long>(i % 7));
  }
  const double algbw = static_cast<double>(bytes) / seconds / 1e9;
  result.metrics["allreduce_busbw_gbs"] = algbw * 2.0 * (mpi.size - 1) / mpi.size;
  return sum_over_ranks(bad);
}

long alltoall(const Mpi& mpi, std::size_t bytes, CheckResult& result) {
  const std::size_t per_peer = std::max<std::size_t>(1, bytes / sizeof(int) / mpi.size);
  std::vector<int> send(per_peer * mpi.size), recv(per_peer * mpi.size);
  for (int dest = 0; dest < mpi.size; ++dest) {
    for (std::size_t i = 0; i < per_peer; ++i) send[dest * per_peer + i] = mpi.rank * 65536 + dest;
  }
  const int count = static_cast<int>(per_peer);
  const double seconds = timed(
      [&] { MPI_Alltoall(send.data(), count, MPI_INT, recv.data(), count, MPI_INT, MPI_COMM_WORLD); });
  long bad = 0;
  for (int src = 0; src < mpi.size; ++src) {
    for (std::size_t i = 0; i < per_peer; ++i) bad += recv[src * per_peer + i] != src * 65536 + mpi.rank;
  }
  const double algbw = static_cast<double>(send.size() * sizeof(int)) / seconds / 1e9;
  result.metrics["alltoall_busbw_gbs"] = algbw * (mpi.size - 1) / mpi.size;
  return sum_over_ranks(bad);
}

// Half the best round trip between ranks a and b for a message of `bytes`; only a and b take part.
double ping_pong(const Mpi& mpi, int a, int b, std::vector<char>& buffer) {
  const int count = static_cast<int>(buffer.size());
  double best = 1e300;
  for (int round = 0; round < kPingPongRounds; ++round) {
    const double t0 = MPI_Wtime();
    if (mpi.rank == a) {
      MPI_Send(buffer.data(), count, MPI_CHAR, b, 0, MPI_COMM_WORLD);
      MPI_Recv(buffer.data(), count, MPI_CHAR, b, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    } else {
      MPI_Recv(buffer.data(), count, MPI_CHAR, a, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      MPI_Send(buffer.data(), count, MPI_CHAR, a, 0, MPI_COMM_WORLD);
    }
    best = std::min(best, (MPI_Wtime() - t0) / 2);
  }
  return best;
}

std::vector<std::pair<int, int>> pairs(int size) {
  std::vector<std::pair<int, int>> out;
  if (size <= kAllPairsUpTo) {
    for (int a = 0; a < size; ++a) {
      for (int b = a + 1; b < size; ++b) out.emplace_back(a, b);
    }
  } else {
    for (int a = 0; a < size; ++a) out.emplace_back(std::min(a, (a + 1) % size), std::max(a, (a + 1) % size));
  }
  return out;
}

std::vector<std::string> host_names(const Mpi& mpi) {
  // Links are named by node names (node_name.hpp): what an admin drains, distinct even when nodes share a host.
  char name[MPI_MAX_PROCESSOR_NAME] = {};
  std::snprintf(name, sizeof name, "%s", this_node_name().c_str());
  std::vector<char> all(static_cast<std::size_t>(MPI_MAX_PROCESSOR_NAME) * mpi.size);
  MPI_Allgather(name, MPI_MAX_PROCESSOR_NAME, MPI_CHAR, all.data(), MPI_MAX_PROCESSOR_NAME, MPI_CHAR,
                MPI_COMM_WORLD);
  std::vector<std::string> out;
  for (int r = 0; r < mpi.size; ++r) out.emplace_back(all.data() + static_cast<std::size_t>(r) * MPI_MAX_PROCESSOR_NAME);
  return out;
}

// Times every pair; every rank learns the figures and the slowest link (the same verdict everywhere).
std::string links(const Mpi& mpi, std::size_t bytes, double min_ratio, CheckResult& result) {
  std::vector<char> small(8), large(bytes);
  std::vector<double> bandwidth, latency;
  const auto all = pairs(mpi.size);
  for (const auto& [a, b] : all) {
    double figures[2] = {0, 0};
    if (mpi.rank == a || mpi.rank == b) {
      figures[0] = ping_pong(mpi, a, b, small) * 1e6;
      figures[1] = static_cast<double>(bytes) / ping_pong(mpi, a, b, large) / 1e9;
    }
    MPI_Bcast(figures, 2, MPI_DOUBLE, a, MPI_COMM_WORLD);
    latency.push_back(figures[0]);
    bandwidth.push_back(figures[1]);
  }
  auto sorted = bandwidth;
  std::sort(sorted.begin(), sorted.end());
  const double median = sorted[sorted.size() / 2];
  const auto slowest = std::min_element(bandwidth.begin(), bandwidth.end()) - bandwidth.begin();
  result.metrics["pingpong_median_gbs"] = median;
  result.metrics["pingpong_max_latency_us"] = *std::max_element(latency.begin(), latency.end());
  if (bandwidth[slowest] >= min_ratio * median) return "";
  const auto names = host_names(mpi);
  const auto [a, b] = all[slowest];
  // Ranks share a name only when several run on one host (tests); then the rank tells them apart.
  const bool same = names[a] == names[b];
  return fmt::format("interconnect slow link {}{}-{}{} {:.0f}%", names[a], same ? fmt::format(":{}", a) : "",
                     names[b], same ? fmt::format(":{}", b) : "", 100 * bandwidth[slowest] / median);
}

}  // namespace

CheckResult run_interconnect_check(const CheckContext& ctx) {
  CheckResult result;
  result.name = "interconnect";
  Mpi mpi;
  if (mpi.size < 2) {
    result.status = CheckStatus::skip;
    result.reason = "interconnect: skipped (one rank; run under srun with one rank per node)";
    return result;
  }
  const auto& cfg = ctx.config->interconnect;
  const std::size_t bytes = static_cast<std::size_t>(cfg.size_kib) * 1024;
  const long bad_allreduce = allreduce(mpi, bytes, FaultInjector(ctx.config->fault_injection), result);
  const long bad_alltoall = alltoall(mpi, bytes, result);
  const std::string slow_link = links(mpi, bytes, cfg.min_ratio, result);
  result.metrics["ranks"] = mpi.size;
  if (bad_allreduce + bad_alltoall > 0) {
    result.status = CheckStatus::fail;
    result.reason = fmt::format("interconnect wrong allreduce {} alltoall {}", bad_allreduce, bad_alltoall);
  } else if (!slow_link.empty()) {
    result.status = CheckStatus::fail;
    result.reason = slow_link;
  } else {
    for (const char* metric : {"allreduce_busbw_gbs", "alltoall_busbw_gbs"}) {
      const std::string slow = throughput_verdict(ctx, "interconnect", metric, result.metrics[metric], cfg.min_ratio);
      if (!slow.empty() && result.status == CheckStatus::pass) {
        result.status = CheckStatus::fail;
        result.reason = slow;
      }
    }
  }
  return result;
}

}  // namespace sigma::hc
