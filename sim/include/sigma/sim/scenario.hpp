// A goodput scenario: the cluster, the failure classes and their rates, sigma's measured detection and recovery
// costs, the checkpoint model and the policies (preflight, in-allocation restart, async checkpoints committed when
// durable, recycling, liveness detection, in-memory peer checkpoints, shrink and grow), and the goals to check.
// Read from YAML with the same strict rules as the site config: every key checked, one-line errors.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sigma::sim {

// What a failure does to the node it blames.
enum class NodeEffect {
  stays,    // nothing: the job restarts on the same nodes (a software crash)
  recycle,  // drained, found healthy when re-validated (a hang, a flapping link)
  repair,   // drained, broken: out until repaired (a GPU, HBM, PSU)
};

struct FailureClass {
  std::string name;
  double share = 0;      // relative weight among the classes (counts from a report work as is)
  double detect_s = 0;   // failure to the supervisor's decision without liveness beats (Slurm, progress timeout)
  double restart_s = 0;  // decision to the first new step, in-allocation restart (checkpoint load apart)
  NodeEffect node = NodeEffect::stays;
  double repair_s = 0;   // repair classes: out of service this long before re-validation
  double liveness_detect_s = -1;  // with liveness beats; < 0: beats do not see this class (every rank still beats)
};

struct Cluster {
  int nodes = 256;
  int accelerators_per_node = 8;
  int spare_nodes = 8;  // healthy nodes held back; the job runs on nodes - spare_nodes
};

struct Checkpoint {
  double interval_s = 0;  // training time between saves; 0 = Young/Daly's optimum for the scenario
  bool async = true;
  double state_bytes_per_accelerator = 0;
  double write_bytes_per_s_per_accelerator = 0;  // one rank's write rate (bench/ckpt)
  double read_bytes_per_s_per_accelerator = 0;   // one rank's verified load rate (bench/ckpt)
  double copy_bytes_per_s_per_accelerator = 0;   // async save's stall: the copy into host buffers (bench/ckpt)
  double filesystem_bytes_per_s = 0;             // aggregate limit of the shared checkpoint filesystem
  bool commit_when_durable = true;  // async: committed once every shard is durable, not at the next save
};

// In-memory peer checkpoints: every `every_steps` steps each rank copies its state into node-local memory and
// mirrors it into a partner rank's memory on another node.
struct MemoryCopy {
  bool enabled = false;
  int every_steps = 1;                 // K; 0 = the closed-form optimum for the scenario
  double step_overhead = 0;            // one copy's cost as a share of a step's time
  double step_s = 0;                   // one training step at full width
  double restore_bytes_per_s_per_accelerator = 0;  // memory-to-memory transfer at a restore or reshard
  double partner_loss_fraction = 0;    // interruptions that also take the partner's node: file fallback
};

// Shrink and grow: with no spare left, the job goes on with fewer data-parallel replicas (same global batch) and
// grows back at the next step boundary when a node returns. Throughput: shrink_model.hpp.
struct Shrink {
  bool enabled = false;
  double grow_s = 0;               // restart at the step boundary when the job grows back (restore apart)
  int nodes_per_replica = 1;       // nodes of one data-parallel replica: the job loses whole replicas
  int micro_batches_per_replica = 0;  // at full width; 0: throughput in proportion to the replicas
};

// A utilization the best spare count must reach at a failure rate.
struct Goal {
  double failures_per_accelerator_day = 0;
  double utilization = 0;
};

struct Policy {
  bool preflight = true;             // nodes re-validated before they return to service
  double preflight_detection = 0.9;  // share of bad returned nodes the burn-in catches
  double preflight_s = 0;            // burn-in of a new node at a requeue's allocation (prolog)
  bool in_allocation_restart = true; // false: every failure ends the job and Slurm requeues it
  double requeue_s = 0;              // job exit to running again elsewhere (measured, idle cluster)
  double queue_wait_s = 0;           // scheduler wait added to every requeue on a production cluster
  bool recycling = true;             // drained nodes re-validated and resumed automatically
  double recycle_s = 0;              // drain to back in service when recycling
  double manual_triage_s = 0;        // drain (or repair) to back in service when a human must look
  bool liveness = true;              // detection from stopped liveness beats (classes with liveness_detect_s)
};

struct Nodes {
  double return_bad_fraction = 0;  // share of repaired nodes that come back still faulty
  double bad_node_mttf_s = 0;      // a faulty node in the job fails after this long on average
  std::string bad_node_class;      // the failure class a faulty node's failure belongs to
};

struct Scenario {
  std::string source;
  Cluster cluster;
  double horizon_days = 150;
  int replications = 8;
  uint64_t seed = 1;
  double failures_per_accelerator_day = 2e-3;
  std::vector<FailureClass> classes;
  Checkpoint checkpoint;
  Policy policy;
  Nodes nodes;
  MemoryCopy memory_copy;
  Shrink shrink;
  std::vector<Goal> goals;
};

// Throws sigma::Error: not_found when the file cannot be read, config for any bad value ("file:line:col: key: ...").
Scenario load_scenario(const std::string& path);
Scenario parse_scenario(const std::string& yaml_text, const std::string& name);

int job_nodes(const Scenario& s);
int job_accelerators(const Scenario& s);
int class_index(const Scenario& s, const std::string& name);  // -1 when absent
// Failure to the supervisor's decision for class `c`: its liveness detection when the policy has it and the
// class is one liveness beats see, otherwise its detect_s.
double detect_s(const Scenario& s, const FailureClass& c);

}  // namespace sigma::sim
