// How the global batch is split over the ranks: rank r takes sequences [G r / W, G (r + 1) / W) of each step's
// G, so the shares differ by at most one sequence when W does not divide G (a job shrunk onto fewer nodes keeps
// its global batch). The data order depends only on the global position, never on the split.
#pragma once

namespace sigma::trainer {

struct BatchShare {
  int first = 0;  // the rank's first sequence within the step's global batch
  int count = 0;  // how many it takes
};

inline BatchShare batch_share(int global_batch, int rank, int world) {
  const auto at = [&](int r) { return static_cast<int>(static_cast<long long>(global_batch) * r / world); };
  return {at(rank), at(rank + 1) - at(rank)};
}

// The largest share, what one rank's buffers must hold.
inline int largest_share(int global_batch, int world) { return (global_batch + world - 1) / world; }

}  // namespace sigma::trainer
