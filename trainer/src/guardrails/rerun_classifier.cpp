#include "sigma/trainer/guardrails/rerun_classifier.hpp"

#include <algorithm>
#include <map>

namespace sigma::trainer {
namespace {

bool same_result(const StepSymptom& a, const StepSymptom& b) {
  return a.finite == b.finite && a.replicas_agree == b.replicas_agree && a.loss_bits == b.loss_bits &&
         a.norm_bits == b.norm_bits;
}

// The rank whose gradient norm changed between the attempts: the one that computed differently.
int changed_rank(const StepSymptom& first, const StepSymptom& rerun) {
  if (first.norm_bits.size() != rerun.norm_bits.size()) return -1;
  int changed = -1;
  for (size_t r = 0; r < first.norm_bits.size(); ++r) {
    if (first.norm_bits[r] == rerun.norm_bits[r]) continue;
    if (changed >= 0) return -1;  // more than one rank changed: nobody in particular
    changed = static_cast<int>(r);
  }
  return changed;
}

}  // namespace

const char* to_string(FaultKind kind) {
  switch (kind) {
    case FaultKind::transient: return "transient";
    case FaultKind::persistent: return "persistent";
    case FaultKind::deterministic: return "deterministic";
  }
  return "unknown";
}

Classification classify(const StepSymptom& first, const StepSymptom& rerun) {
  if (!same_result(first, rerun)) {
    const int blamed = first.suspect_rank >= 0 ? first.suspect_rank : changed_rank(first, rerun);
    return {FaultKind::transient, blamed};
  }
  if (!first.replicas_agree) return {FaultKind::persistent, first.suspect_rank};
  return {FaultKind::deterministic, first.suspect_rank};
}

int outvoted_index(const std::vector<uint64_t>& values) {
  std::map<uint64_t, int> votes;
  for (auto v : values) ++votes[v];
  if (votes.size() <= 1) return kAllEqual;
  const auto majority = std::max_element(votes.begin(), votes.end(),
                                         [](const auto& a, const auto& b) { return a.second < b.second; });
  if (2 * majority->second <= static_cast<int>(values.size())) return kNoMajority;
  for (size_t i = 0; i < values.size(); ++i)
    if (values[i] != majority->first) return static_cast<int>(i);
  return kAllEqual;
}

}  // namespace sigma::trainer
