#include "sigma/sim/scenario.hpp"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <limits>
#include <set>

#include "sigma/core/yaml_section.hpp"

namespace sigma::sim {
namespace {

constexpr double kHuge = std::numeric_limits<double>::max();

void read_cluster(yaml::Section s, Cluster& out) {
  s.read("nodes", out.nodes, 1, 1000000);
  s.read("accelerators_per_node", out.accelerators_per_node, 1, 1024);
  s.read("spare_nodes", out.spare_nodes, 0, 1000000);
  if (out.spare_nodes >= out.nodes) {
    s.fail_at("spare_nodes", fmt::format("expected fewer spares than nodes ({}), got {}", out.nodes, out.spare_nodes));
  }
  s.finish();
}

NodeEffect read_node_effect(yaml::Section& s) {
  std::string text = "stays";
  s.read("node", text);
  if (text == "stays") return NodeEffect::stays;
  if (text == "recycle") return NodeEffect::recycle;
  if (text == "repair") return NodeEffect::repair;
  s.fail_at("node", fmt::format("expected one of stays, recycle, repair, got \"{}\"", text));
}

FailureClass read_class(yaml::Section s) {
  FailureClass c;
  s.read_required("name", c.name);
  if (!s.has("share")) s.fail_at("share", "required field is missing (expected a positive number)");
  s.read("share", c.share, 1e-12, kHuge);
  s.read("detect_s", c.detect_s, 0, kHuge);
  s.read("restart_s", c.restart_s, 0, kHuge);
  s.read("liveness_detect_s", c.liveness_detect_s, 0, kHuge);
  c.node = read_node_effect(s);
  s.read("repair_s", c.repair_s, 0, kHuge);
  if (c.node == NodeEffect::repair && c.repair_s <= 0) {
    s.fail_at("repair_s", "a repair class needs repair_s > 0 (seconds out of service)");
  }
  s.finish();
  return c;
}

std::vector<FailureClass> read_classes(yaml::Section& s) {
  YAML::Node list = s.raw("classes");
  if (!list.IsDefined() || !list.IsSequence() || list.size() == 0) {
    s.fail_at("classes", "expected a non-empty list of failure classes, got " + yaml::describe(list));
  }
  std::vector<FailureClass> classes;
  std::set<std::string> names;
  for (size_t i = 0; i < list.size(); ++i) {
    std::string path = s.path_of(fmt::format("classes[{}]", i));
    FailureClass c = read_class(yaml::Section(list[i], path, s.file(), list[i].Mark()));
    if (!names.insert(c.name).second) {
      yaml::fail(s.file(), list[i].Mark(), path + ".name", fmt::format("duplicate class \"{}\"", c.name));
    }
    classes.push_back(c);
  }
  return classes;
}

void read_failures(yaml::Section s, Scenario& out) {
  s.read("rate_per_accelerator_day", out.failures_per_accelerator_day, 0, 1000);
  out.classes = read_classes(s);
  s.finish();
}

void read_positive(yaml::Section& s, const std::string& key, double& out) {
  if (!s.has(key)) s.fail_at(key, "required field is missing (expected a positive number)");
  s.read(key, out, 1e-300, kHuge);
}

void read_checkpoint(yaml::Section s, Checkpoint& out) {
  s.read("interval_s", out.interval_s, 0, kHuge);
  s.read("async", out.async);
  read_positive(s, "state_bytes_per_accelerator", out.state_bytes_per_accelerator);
  read_positive(s, "write_bytes_per_s_per_accelerator", out.write_bytes_per_s_per_accelerator);
  read_positive(s, "read_bytes_per_s_per_accelerator", out.read_bytes_per_s_per_accelerator);
  read_positive(s, "copy_bytes_per_s_per_accelerator", out.copy_bytes_per_s_per_accelerator);
  read_positive(s, "filesystem_bytes_per_s", out.filesystem_bytes_per_s);
  s.read("commit_when_durable", out.commit_when_durable);
  s.finish();
}

void read_policy(yaml::Section s, Policy& out) {
  s.read("preflight", out.preflight);
  s.read("preflight_detection", out.preflight_detection, 0, 1);
  s.read("preflight_s", out.preflight_s, 0, kHuge);
  s.read("in_allocation_restart", out.in_allocation_restart);
  s.read("requeue_s", out.requeue_s, 0, kHuge);
  s.read("queue_wait_s", out.queue_wait_s, 0, kHuge);
  s.read("recycling", out.recycling);
  s.read("recycle_s", out.recycle_s, 0, kHuge);
  s.read("manual_triage_s", out.manual_triage_s, 0, kHuge);
  s.read("liveness", out.liveness);
  s.finish();
}

// The mechanism's inputs are required when it is on; an absent section leaves it off.
void read_memory_copy(yaml::Section s, MemoryCopy& out) {
  s.read("enabled", out.enabled);
  s.read("every_steps", out.every_steps, 0, 1000000);
  s.read("step_overhead", out.step_overhead, 0, 1);
  s.read("partner_loss_fraction", out.partner_loss_fraction, 0, 1);
  if (out.enabled) {
    read_positive(s, "step_s", out.step_s);
    read_positive(s, "restore_bytes_per_s_per_accelerator", out.restore_bytes_per_s_per_accelerator);
  } else {
    s.read("step_s", out.step_s, 0, kHuge);
    s.read("restore_bytes_per_s_per_accelerator", out.restore_bytes_per_s_per_accelerator, 0, kHuge);
  }
  s.finish();
}

void read_shrink(yaml::Section s, const Cluster& cluster, Shrink& out) {
  s.read("enabled", out.enabled);
  s.read("grow_s", out.grow_s, 0, kHuge);
  s.read("nodes_per_replica", out.nodes_per_replica, 1, 1000000);
  if (out.nodes_per_replica > cluster.nodes) {
    s.fail_at("nodes_per_replica", fmt::format("expected at most the cluster's nodes ({}), got {}", cluster.nodes,
                                               out.nodes_per_replica));
  }
  s.read("micro_batches_per_replica", out.micro_batches_per_replica, 0, 100000000);
  s.finish();
}

std::vector<Goal> read_goals(yaml::Section& s) {
  YAML::Node list = s.raw("goals");
  if (!list.IsDefined() || list.IsNull()) return {};
  if (!list.IsSequence()) s.fail_at("goals", "expected a list of {rate_per_accelerator_day, utilization}, got " +
                                                 yaml::describe(list));
  std::vector<Goal> goals;
  for (size_t i = 0; i < list.size(); ++i) {
    yaml::Section g(list[i], s.path_of(fmt::format("goals[{}]", i)), s.file(), list[i].Mark());
    Goal goal;
    g.read("rate_per_accelerator_day", goal.failures_per_accelerator_day, 0, 1000);
    g.read("utilization", goal.utilization, 0, 1);
    g.finish();  // a misspelt key first: it explains a missing one
    for (const char* key : {"rate_per_accelerator_day", "utilization"}) {
      if (!g.has(key)) g.fail_at(key, "required field is missing (expected a number)");
    }
    goals.push_back(goal);
  }
  return goals;
}

void read_nodes(yaml::Section s, const std::vector<FailureClass>& classes, Nodes& out) {
  s.read("return_bad_fraction", out.return_bad_fraction, 0, 1);
  s.read("bad_node_mttf_s", out.bad_node_mttf_s, 0, kHuge);
  s.read("bad_node_class", out.bad_node_class);
  if (out.return_bad_fraction > 0) {
    if (out.bad_node_mttf_s <= 0) s.fail_at("bad_node_mttf_s", "expected a positive number when return_bad_fraction > 0");
    bool known = false;
    std::vector<std::string> names;
    for (const auto& c : classes) {
      names.push_back(c.name);
      known = known || (c.name == out.bad_node_class && c.node == NodeEffect::repair);
    }
    if (!known) {
      s.fail_at("bad_node_class", fmt::format("expected the name of a repair class ({}), got \"{}\"",
                                              fmt::join(names, ", "), out.bad_node_class));
    }
  }
  s.finish();
}

void read_run(yaml::Section s, Scenario& out) {
  s.read("horizon_days", out.horizon_days, 1e-6, 100000);
  s.read("replications", out.replications, 1, 10000);
  int seed = 1;
  s.read("seed", seed, 0, std::numeric_limits<int>::max());
  out.seed = static_cast<uint64_t>(seed);
  s.finish();
}

}  // namespace

Scenario parse_scenario(const std::string& yaml_text, const std::string& name) {
  YAML::Node root = yaml::parse(yaml_text, name);
  if (!root.IsDefined() || root.IsNull()) {
    yaml::fail(name, YAML::Mark(), "", "the file is empty (expected a scenario mapping with failures.classes)");
  }
  try {
    Scenario scenario;
    scenario.source = name;
    yaml::Section top(root, "", name, root.Mark());
    read_run(top.section("run"), scenario);
    read_cluster(top.section("cluster"), scenario.cluster);
    read_failures(top.section("failures"), scenario);
    read_checkpoint(top.section("checkpoint"), scenario.checkpoint);
    read_policy(top.section("policy"), scenario.policy);
    read_nodes(top.section("nodes"), scenario.classes, scenario.nodes);
    read_memory_copy(top.section("memory_copy"), scenario.memory_copy);
    read_shrink(top.section("shrink"), scenario.cluster, scenario.shrink);
    scenario.goals = read_goals(top);
    top.finish();
    return scenario;
  } catch (const YAML::Exception& e) {
    yaml::fail(name, e.mark, "", "YAML error: " + e.msg);
  }
}

Scenario load_scenario(const std::string& path) { return parse_scenario(yaml::read_file(path, "scenario"), path); }

int job_nodes(const Scenario& s) { return s.cluster.nodes - s.cluster.spare_nodes; }

int job_accelerators(const Scenario& s) { return job_nodes(s) * s.cluster.accelerators_per_node; }

double detect_s(const Scenario& s, const FailureClass& c) {
  return s.policy.liveness && c.liveness_detect_s >= 0 ? c.liveness_detect_s : c.detect_s;
}

int class_index(const Scenario& s, const std::string& name) {
  for (size_t i = 0; i < s.classes.size(); ++i) {
    if (s.classes[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

}  // namespace sigma::sim
