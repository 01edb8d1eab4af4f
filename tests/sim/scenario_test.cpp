// Scenario files: the committed default reads back; every bad value is one line naming file, place and key,
// with the config exit code; a missing file is not_found.
#include <gtest/gtest.h>

#include <string>

#include "sigma/core/error.hpp"
#include "sigma/sim/scenario.hpp"

using namespace sigma;
using namespace sigma::sim;

namespace {

const std::string kCheckpoint = R"(
checkpoint:
  state_bytes_per_accelerator: 1.0e9
  write_bytes_per_s_per_accelerator: 5.0e8
  read_bytes_per_s_per_accelerator: 1.0e9
  copy_bytes_per_s_per_accelerator: 5.0e9
  filesystem_bytes_per_s: 1.0e11
)";
const std::string kClasses = R"(
failures:
  classes:
    - {name: gpu, share: 3, detect_s: 5, restart_s: 1.5, node: repair, repair_s: 3600}
)";

std::string error_of(const std::string& yaml) {
  try {
    parse_scenario(yaml, "s.yaml");
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::config);
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "accepted:\n" << yaml;
  return "";
}

TEST(Scenario, TheDefaultReadsBack) {
  const Scenario s = load_scenario(std::string(SIGMA_SIM_SCENARIOS) + "/default.yaml");
  EXPECT_EQ(s.cluster.nodes * s.cluster.accelerators_per_node, 2048);
  EXPECT_EQ(s.classes.size(), 6u);
  double share = 0;
  for (const auto& c : s.classes) share += c.share;
  EXPECT_EQ(share, 419);  // Llama 3's unexpected interruptions
  EXPECT_EQ(s.nodes.bad_node_class, "gpu_hardware");
  // The recovery mechanisms are on, with their inputs.
  EXPECT_TRUE(s.policy.liveness);
  EXPECT_EQ(s.classes[0].liveness_detect_s, 1.5);
  EXPECT_EQ(s.classes[2].name, "network");
  EXPECT_LT(s.classes[2].liveness_detect_s, 0);  // a hang: every rank still beats
  EXPECT_TRUE(s.checkpoint.commit_when_durable);
  EXPECT_TRUE(s.memory_copy.enabled);
  EXPECT_EQ(s.memory_copy.step_overhead, 0.02);
  EXPECT_GT(s.memory_copy.step_s, 0);
  EXPECT_TRUE(s.shrink.enabled);
  ASSERT_EQ(s.goals.size(), 2u);
  EXPECT_EQ(s.goals[0].utilization, 0.98);
  EXPECT_EQ(s.goals[1].failures_per_accelerator_day, 4e-3);
}

TEST(Scenario, AMinimalFileTakesTheDefaults) {
  const Scenario s = parse_scenario(kClasses + kCheckpoint, "s.yaml");
  EXPECT_EQ(s.cluster.nodes, 256);
  EXPECT_EQ(s.classes[0].node, NodeEffect::repair);
  EXPECT_TRUE(s.policy.in_allocation_restart);
  EXPECT_TRUE(s.policy.liveness);
  EXPECT_TRUE(s.checkpoint.commit_when_durable);
  EXPECT_LT(s.classes[0].liveness_detect_s, 0);  // absent: liveness beats do not see the class
  EXPECT_FALSE(s.memory_copy.enabled);  // a mechanism with inputs is off unless its section turns it on
  EXPECT_FALSE(s.shrink.enabled);
  EXPECT_TRUE(s.goals.empty());
}

TEST(Scenario, TheRecoveryMechanismsReadBack) {
  const Scenario s = parse_scenario(kClasses + kCheckpoint + R"(
policy: {liveness: false}
memory_copy: {enabled: true, every_steps: 4, step_overhead: 0.01, step_s: 3, restore_bytes_per_s_per_accelerator: 2.0e10,
              partner_loss_fraction: 0.1}
shrink: {enabled: true, grow_s: 2, nodes_per_replica: 4, micro_batches_per_replica: 512}
goals: [{rate_per_accelerator_day: 1.0e-3, utilization: 0.99}]
)", "s.yaml");
  EXPECT_FALSE(s.policy.liveness);
  EXPECT_EQ(s.memory_copy.every_steps, 4);
  EXPECT_EQ(s.memory_copy.step_overhead, 0.01);
  EXPECT_EQ(s.memory_copy.step_s, 3);
  EXPECT_EQ(s.memory_copy.restore_bytes_per_s_per_accelerator, 2e10);
  EXPECT_EQ(s.memory_copy.partner_loss_fraction, 0.1);
  EXPECT_EQ(s.shrink.grow_s, 2);
  EXPECT_EQ(s.shrink.nodes_per_replica, 4);
  EXPECT_EQ(s.shrink.micro_batches_per_replica, 512);
  ASSERT_EQ(s.goals.size(), 1u);
  EXPECT_EQ(s.goals[0].failures_per_accelerator_day, 1e-3);
}

TEST(Scenario, BadValuesGetOneLineWithPlaceAndKey) {
  struct Case {
    std::string yaml;
    std::string expected;
  };
  const Case cases[] = {
      {kClasses + kCheckpoint + "cluster: {nodes: 8, spare_nodes: 8}\n",
       "s.yaml:12:34: cluster.spare_nodes: expected fewer spares than nodes (8), got 8"},
      {kClasses + kCheckpoint + "clustr: {nodes: 8}\n", "s.yaml:12:1: clustr: unknown key (did you mean \"cluster\"?)"},
      {kCheckpoint + "failures: {rate_per_accelerator_day: -1, classes: []}\n",
       "failures.rate_per_accelerator_day: expected a number in [0, 1000], got -1"},
      {kCheckpoint + "failures: {classes: []}\n", "failures.classes: expected a non-empty list of failure classes"},
      {kCheckpoint + "failures:\n  classes:\n    - {name: a, share: 1, node: broken}\n",
       "failures.classes[0].node: expected one of stays, recycle, repair, got \"broken\""},
      {kCheckpoint + "failures:\n  classes:\n    - {name: a, share: 1, node: repair}\n",
       "failures.classes[0].repair_s: a repair class needs repair_s > 0"},
      {kCheckpoint + "failures:\n  classes:\n    - {name: a, share: 1}\n    - {name: a, share: 2}\n",
       "failures.classes[1].name: duplicate class \"a\""},
      {kCheckpoint + "failures:\n  classes:\n    - {name: a}\n", "failures.classes[0].share: required field is missing"},
      {kClasses + "checkpoint: {state_bytes_per_accelerator: 1.0e9}\n",
       "checkpoint.write_bytes_per_s_per_accelerator: required field is missing"},
      {kClasses + kCheckpoint + "nodes: {return_bad_fraction: 0.2, bad_node_mttf_s: 60, bad_node_class: cpu}\n",
       "nodes.bad_node_class: expected the name of a repair class (gpu), got \"cpu\""},
      {kClasses + kCheckpoint + "policy: {preflight_detection: 1.5}\n",
       "policy.preflight_detection: expected a number in [0, 1], got 1.5"},
      {kClasses + kCheckpoint + "run: {replications: zero}\n", "run.replications: expected an integer, got \"zero\""},
      // The recovery mechanisms' keys.
      {kCheckpoint + "failures:\n  classes:\n    - {name: a, share: 1, liveness_detect_s: -1}\n",
       "s.yaml:10:46: failures.classes[0].liveness_detect_s: expected a number in [0, "},
      {kClasses + kCheckpoint + "memory_copy: {enabled: true, step_overhead: 2}\n",
       "s.yaml:12:45: memory_copy.step_overhead: expected a number in [0, 1], got 2"},
      {kClasses + kCheckpoint + "memory_copy: {enabled: true, restore_bytes_per_s_per_accelerator: 1.0e10}\n",
       "s.yaml:12:14: memory_copy.step_s: required field is missing (expected a positive number)"},
      {kClasses + kCheckpoint + "memory_copy: {enabled: true, step_s: 4}\n",
       "memory_copy.restore_bytes_per_s_per_accelerator: required field is missing"},
      {kClasses + kCheckpoint + "memory_copy: {every_steps: -1}\n",
       "s.yaml:12:28: memory_copy.every_steps: expected an integer in [0, 1000000], got -1"},
      {kClasses + kCheckpoint + "memory_copy: {partner_loss_fraction: 1.5}\n",
       "memory_copy.partner_loss_fraction: expected a number in [0, 1], got 1.5"},
      {kClasses + kCheckpoint + "memory_copy: {enabled: yes please}\n", "memory_copy.enabled: expected true or false, got \"yes please\""},
      {kClasses + kCheckpoint + "shrink: {enable: true}\n",
       "s.yaml:12:10: shrink.enable: unknown key (did you mean \"enabled\"?)"},
      {kClasses + kCheckpoint + "shrink: {nodes_per_replica: 0}\n",
       "shrink.nodes_per_replica: expected an integer in [1, 1000000], got 0"},
      {kClasses + kCheckpoint + "cluster: {nodes: 8, spare_nodes: 0}\nshrink: {nodes_per_replica: 16}\n",
       "s.yaml:13:29: shrink.nodes_per_replica: expected at most the cluster's nodes (8), got 16"},
      {kClasses + kCheckpoint + "shrink: {micro_batches_per_replica: -4}\n", "shrink.micro_batches_per_replica: expected an integer"},
      {kClasses + kCheckpoint + "shrink: {grow_s: soon}\n", "shrink.grow_s: expected a number, got \"soon\""},
      {kClasses + kCheckpoint + "policy: {liveness: 3}\n", "policy.liveness: expected true or false, got \"3\""},
      {kClasses + kCheckpoint + "checkpoint2: {}\n", "checkpoint2: unknown key"},
      {kClasses + kCheckpoint + "goals: {rate_per_accelerator_day: 2.0e-3}\n",
       "s.yaml:12:8: goals: expected a list of {rate_per_accelerator_day, utilization}, got a mapping"},
      {kClasses + kCheckpoint + "goals:\n  - {rate_per_accelerator_day: 2.0e-3, utilization: 98}\n",
       "s.yaml:13:53: goals[0].utilization: expected a number in [0, 1], got 98"},
      {kClasses + kCheckpoint + "goals:\n  - {utilization: 0.98}\n",
       "goals[0].rate_per_accelerator_day: required field is missing"},
      {kClasses + kCheckpoint + "goals:\n  - {rate_per_accelerator_day: 2.0e-3, utilisation: 0.98}\n",
       "goals[0].utilisation: unknown key (did you mean \"utilization\"?)"},
      {"failures: [\n", "s.yaml:2:1: YAML syntax error"},
      {"", "the file is empty"},
  };
  for (const auto& c : cases) {
    const std::string message = error_of(c.yaml);
    EXPECT_NE(message.find(c.expected), std::string::npos) << "got: " << message << "\nwanted: " << c.expected;
    EXPECT_EQ(message.rfind("s.yaml:", 0), 0u) << message;
  }
}

TEST(Scenario, AMissingFileIsNotFound) {
  try {
    load_scenario("/nonexistent/scenario.yaml");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::not_found);
    EXPECT_NE(std::string(e.what()).find("/nonexistent/scenario.yaml: cannot open scenario"), std::string::npos);
  }
}

}  // namespace
