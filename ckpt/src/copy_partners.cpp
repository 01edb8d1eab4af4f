#include "copy_partners.hpp"

#include <map>

namespace sigma::ckpt {

CopyPlan plan_copies(const std::vector<std::string>& node_of_rank) {
  CopyPlan plan;
  std::map<std::string, int> index;
  std::vector<std::vector<int>> ranks_of_node;
  std::vector<int> position(node_of_rank.size());
  for (size_t r = 0; r < node_of_rank.size(); ++r) {
    auto [it, added] = index.emplace(node_of_rank[r], static_cast<int>(ranks_of_node.size()));
    if (added) ranks_of_node.emplace_back();
    position[r] = static_cast<int>(ranks_of_node[static_cast<size_t>(it->second)].size());
    ranks_of_node[static_cast<size_t>(it->second)].push_back(static_cast<int>(r));
    plan.node_of.push_back(it->second);
  }
  const size_t nodes = ranks_of_node.size();
  for (size_t r = 0; r < node_of_rank.size(); ++r) {
    if (nodes < 2) {
      plan.partner.push_back(-1);
      continue;
    }
    const auto& next = ranks_of_node[(static_cast<size_t>(plan.node_of[r]) + 1) % nodes];
    plan.partner.push_back(next[static_cast<size_t>(position[r]) % next.size()]);
  }
  return plan;
}

std::vector<int> mirrored_by(const CopyPlan& plan, int rank) {
  std::vector<int> sources;
  for (size_t r = 0; r < plan.partner.size(); ++r) {
    if (plan.partner[r] == rank) sources.push_back(static_cast<int>(r));
  }
  return sources;
}

}  // namespace sigma::ckpt
