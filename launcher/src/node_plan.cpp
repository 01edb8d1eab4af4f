#include "sigma/launcher/node_plan.hpp"

#include <fmt/format.h>

#include "sigma/core/error.hpp"

namespace sigma::launch {

std::string NodePlan::describe(int allocation) const {
  return fmt::format("{} node(s): {} training, {} spare ({})", allocation, width, allocation - width, source);
}

NodePlan plan_nodes(int allocation, int nodes, const std::optional<int>& spares, int site_spares) {
  NodePlan plan;
  plan.spares = spares.value_or(site_spares);
  plan.source = nodes > 0 ? "--nodes" : spares ? "--spares" : "cluster.spare_nodes";
  plan.width = nodes > 0 ? nodes : allocation - plan.spares;
  if (nodes > 0 && plan.width > allocation) {
    throw Error(ExitCode::usage, fmt::format("supervise: --nodes {} with {} spare(s) does not fit the {} node(s) "
                                             "of this allocation", plan.width, plan.spares, allocation));
  }
  if (plan.width < 1) {
    throw Error(ExitCode::usage, fmt::format("supervise: {} spare(s) ({}) leave no node of the {} of this "
                                             "allocation to train on; expected fewer spares (--spares)",
                                             plan.spares, plan.source, allocation));
  }
  return plan;
}

}  // namespace sigma::launch
