// Cross-replica weight check: data-parallel replicas must hold bit-identical weights after every step, so a
// differing hash means a rank computed or stored something wrong (silent data corruption on that node).
#include <algorithm>
#include <cstdint>
#include <vector>

#include <fmt/format.h>
#include <xxhash.h>

#include "sigma/core/error.hpp"
#include "sigma/trainer/trainer.hpp"

namespace sigma::trainer {
namespace {

constexpr int kAllAgree = INT32_MAX;

// The world rank of the replica outvoted by the others, kAllAgree, or kNoMajority (rerun_classifier.hpp).
int odd_replica(const std::vector<uint64_t>& hashes, const std::vector<int>& world_ranks) {
  const int index = outvoted_index(hashes);
  if (index == kAllEqual) return kAllAgree;
  return index == kNoMajority ? kNoMajority : world_ranks[static_cast<size_t>(index)];
}

int first_mismatch(MPI_Comm replicas, int world_rank, const Floats& values) {
  int size = 1;
  MPI_Comm_size(replicas, &size);
  uint64_t mine = XXH64(values.data(), values.size() * sizeof(float), 0);
  std::vector<uint64_t> hashes(static_cast<size_t>(size));
  std::vector<int> ranks(static_cast<size_t>(size));
  MPI_Allgather(&mine, 1, MPI_UINT64_T, hashes.data(), 1, MPI_UINT64_T, replicas);
  MPI_Allgather(&world_rank, 1, MPI_INT, ranks.data(), 1, MPI_INT, replicas);
  return odd_replica(hashes, ranks);
}

}  // namespace

void Trainer::check_replicas() const {
  int dense = first_mismatch(comm_.world(), comm_.rank(), weights_.dense);
  int expert = first_mismatch(comm_.expert_dp(), comm_.rank(), weights_.expert);
  // Expert groups decide separately; agree on one answer everywhere (no majority first, then lowest rank).
  int candidate = std::min(dense, expert), bad = kAllAgree;
  MPI_Allreduce(&candidate, &bad, 1, MPI_INT, MPI_MIN, comm_.world());
  if (bad == kAllAgree) return;
  guard_.log().decision(LedgerEvent::replica_mismatch, {{"step", step_}, {"rank", bad < 0 ? -1 : bad},
                                             {"node", bad < 0 ? "" : guard_.log().node_of(bad)},
                                             {"action", "exit_node_hardware"}});
  guard_.log().blame(bad);
  std::string who = bad == kNoMajority ? "replicas hold different weights and no copy has a majority"
                                       : fmt::format("the weights on rank {} (node {}) differ from the other replicas",
                                                     bad, guard_.log().node_of(bad));
  throw Error(ExitCode::node_hardware,
              fmt::format("silent data corruption suspected after step {}: {} (xxh64 mismatch)", step_, who));
}

}  // namespace sigma::trainer
