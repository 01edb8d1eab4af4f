// Straggler detection from per-rank compute times (a step's wall time minus its time inside MPI calls, so a
// rank waiting for a slow peer does not look slow itself). A rank is slow in a step when its compute time
// exceeds the median of the OTHER ranks' by more than `margin` (a fraction) and by at least `min_seconds`;
// slow for `steps` consecutive steps it becomes a straggler, and `steps` consecutive normal steps clear it.
// Comparing against the others' median keeps the rule meaningful at two ranks.
#pragma once

#include <cstddef>
#include <vector>

namespace sigma::trainer {

struct StragglerChange {
  int rank = 0;
  bool straggler = false;  // true: became one; false: recovered
  double seconds = 0;      // its compute time in this step
  double others_median = 0;
};

class StragglerTracker {
 public:
  StragglerTracker(double margin, int steps, double min_seconds, int ranks);
  // One step's compute seconds, indexed by rank; returns the ranks whose state changed.
  std::vector<StragglerChange> update(const std::vector<double>& compute_seconds);
  bool flagged(int rank) const { return flagged_[static_cast<size_t>(rank)]; }

 private:
  double margin_, min_seconds_;
  int steps_;
  std::vector<int> run_;  // consecutive steps disagreeing with the current flag
  std::vector<bool> flagged_;
};

}  // namespace sigma::trainer
