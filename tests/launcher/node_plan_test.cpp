// How the supervisor splits an allocation: the site's cluster.spare_nodes applies when --spares is not given,
// --spares overrides it, --nodes fixes the width; a step left with no node, or given more than the allocation
// holds, is a usage error.
#include <gtest/gtest.h>

#include "sigma/core/error.hpp"
#include "sigma/launcher/node_plan.hpp"

namespace sigma::launch {
namespace {

constexpr int kNoNodes = 0;  // --nodes not given

ExitCode refusal(int allocation, int nodes, const std::optional<int>& spares, int site_spares) {
  try {
    plan_nodes(allocation, nodes, spares, site_spares);
  } catch (const Error& e) {
    return e.code();
  }
  return ExitCode::ok;
}

TEST(NodePlan, TheSiteSpareCountApplies) {
  const NodePlan plan = plan_nodes(4, kNoNodes, std::nullopt, 1);
  EXPECT_EQ(plan.width, 3);
  EXPECT_EQ(plan.spares, 1);
  EXPECT_EQ(plan.describe(4), "4 node(s): 3 training, 1 spare (cluster.spare_nodes)");
}

TEST(NodePlan, SparesOverrideTheSite) {
  const NodePlan plan = plan_nodes(4, kNoNodes, 2, 1);
  EXPECT_EQ(plan.width, 2);
  EXPECT_EQ(plan.spares, 2);
  EXPECT_EQ(plan.describe(4), "4 node(s): 2 training, 2 spare (--spares)");
  // No spare at all, whatever the site says.
  EXPECT_EQ(plan_nodes(3, kNoNodes, 0, 1).width, 3);
}

TEST(NodePlan, NodesFixTheWidth) {
  const NodePlan plan = plan_nodes(5, 2, 1, 1);
  EXPECT_EQ(plan.width, 2);
  EXPECT_EQ(plan.spares, 1);  // as asked; every node but the step's waits as a spare
  EXPECT_EQ(plan.describe(5), "5 node(s): 2 training, 3 spare (--nodes)");
}

TEST(NodePlan, AStepKeepsAtLeastOneNode) {
  EXPECT_EQ(refusal(3, kNoNodes, std::nullopt, 3), ExitCode::usage);  // the site's spares take every node
  EXPECT_EQ(refusal(3, kNoNodes, 5, 0), ExitCode::usage);             // so do --spares
  EXPECT_EQ(refusal(3, 4, std::nullopt, 0), ExitCode::usage);         // --nodes beyond the allocation
  EXPECT_EQ(refusal(1, kNoNodes, std::nullopt, 0), ExitCode::ok);
  try {
    plan_nodes(3, kNoNodes, std::nullopt, 3);
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "supervise: 3 spare(s) (cluster.spare_nodes) leave no node of the 3 of this allocation "
                           "to train on; expected fewer spares (--spares)");
  }
}

}  // namespace
}  // namespace sigma::launch
