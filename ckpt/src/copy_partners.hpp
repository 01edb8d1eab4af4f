// Who keeps whose in-memory copy: each rank mirrors its state into the memory of a partner on another node, so a
// node that dies takes only copies that also live elsewhere. Nodes are ordered by their first rank; the partner of
// the i-th rank of a node is the i-th rank (modulo its count) of the next node in that ring. With one node there
// is no other node: no partner. Pure function of every rank's node name, so every rank computes the same plan.
#pragma once

#include <string>
#include <vector>

namespace sigma::ckpt {

struct CopyPlan {
  std::vector<int> node_of;   // node index of each rank (in order of first appearance)
  std::vector<int> partner;   // the rank that keeps each rank's mirror; -1: none (a single node)
};

CopyPlan plan_copies(const std::vector<std::string>& node_of_rank);

// The ranks whose mirror `rank` keeps.
std::vector<int> mirrored_by(const CopyPlan& plan, int rank);

}  // namespace sigma::ckpt
