// How sigma-launch supervise splits the allocation: the nodes the step runs on and the spares kept aside. The
// spare count is the site's (cluster.spare_nodes) unless --spares names one; --nodes, when given, fixes the step's
// width instead and every other node waits as a spare. A step must keep at least one node: a split that leaves
// none, or asks for more nodes than the allocation holds, is a usage error. No processes: unit-tested.
#pragma once

#include <optional>
#include <string>

namespace sigma::launch {

struct NodePlan {
  int width = 0;       // nodes the step runs on
  int spares = 0;      // the spare count asked for (--spares, else cluster.spare_nodes), as the ledger records it
  std::string source;  // what decided the width: "--nodes", "--spares" or "cluster.spare_nodes"

  // One line for the job's output: "3 node(s): 2 training, 1 spare (cluster.spare_nodes)".
  std::string describe(int allocation) const;
};

// `allocation`: the job's node count; `nodes`: --nodes (0: not given); `spares`: --spares (nullopt: not given);
// `site_spares`: cluster.spare_nodes. Throws sigma::Error (usage) when the step would get no node or too many.
NodePlan plan_nodes(int allocation, int nodes, const std::optional<int>& spares, int site_spares);

}  // namespace sigma::launch
