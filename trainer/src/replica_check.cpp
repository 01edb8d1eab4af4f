// Cross-replica weight check: data-parallel replicas must hold bit-identical weights after every step, so a
// differing hash means a rank computed or stored something wrong (silent data corruption on that node).
#include <algorithm>
#include <cstdint>
#include <map>
#include <vector>

#include <fmt/format.h>
#include <xxhash.h>

#include "sigma/core/error.hpp"
#include "sigma/trainer/trainer.hpp"

namespace sigma::trainer {
namespace {

constexpr int kAllAgree = INT32_MAX;
constexpr int kNoMajority = -1;

// The world rank of a replica whose hash disagrees with the majority, kAllAgree, or kNoMajority when the
// copies disagree and no hash has a strict majority (e.g. two replicas).
int odd_replica(const std::vector<uint64_t>& hashes, const std::vector<int>& world_ranks) {
  std::map<uint64_t, int> votes;
  for (auto h : hashes) ++votes[h];
  if (votes.size() <= 1) return kAllAgree;
  auto majority = std::max_element(votes.begin(), votes.end(),
                                   [](const auto& a, const auto& b) { return a.second < b.second; })->first;
  if (2 * votes[majority] <= static_cast<int>(hashes.size())) return kNoMajority;
  for (size_t i = 0; i < hashes.size(); ++i)
    if (hashes[i] != majority) return world_ranks[i];
  return kAllAgree;
}

int first_mismatch(MPI_Comm replicas, int world_rank, const std::vector<float>& values) {
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
  std::string who = bad == kNoMajority ? "replicas hold different weights and no copy has a majority"
                                       : fmt::format("the weights on rank {} differ from the other replicas", bad);
  throw Error(ExitCode::node_hardware,
              fmt::format("silent data corruption suspected after step {}: {} (xxh64 mismatch)", step_, who));
}

}  // namespace sigma::trainer
