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
}

TEST(Scenario, AMinimalFileTakesTheDefaults) {
  const Scenario s = parse_scenario(kClasses + kCheckpoint, "s.yaml");
  EXPECT_EQ(s.cluster.nodes, 256);
  EXPECT_EQ(s.classes[0].node, NodeEffect::repair);
  EXPECT_TRUE(s.policy.in_allocation_restart);
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
