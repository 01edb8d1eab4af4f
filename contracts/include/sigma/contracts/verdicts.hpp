// What a node's preflight came to, as one process tells the next.
// - PrologVerdict: the job prolog's verdict for one job on one node. The plugin keeps it in
//   paths.state_dir/jobs/<job>.<node>, the job's steps see it in SIGMA_PREFLIGHT_VERDICT, the ledger's
//   job_prolog event records it.
// - TaskVerdict: what `sigma-launch task` found for its node, published to the other tasks over PMIx.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace sigma {

enum class PrologVerdict {
  off,       // no preflight asked for
  pass,      // burned in now and passed
  cached,    // a recent pass at this level or stronger vouched for the node
  fail,      // the node failed its burn-in: drained, the job requeued
  killed,    // the burn-in ran over its budget: a hang, a node fault
  error,     // the healthcheck could not run (the admin's to fix): the node stays in service
  over_cap,  // the job was requeued more often than its cap: it ends
  none,      // a step found no verdict from the prolog (the plugin is not in slurmd's plugstack.conf)
};

std::string verdict_name(PrologVerdict verdict);
std::optional<PrologVerdict> parse_prolog_verdict(std::string_view name);
// The verdicts that let a job's steps start on the node.
bool lets_job_start(PrologVerdict verdict);
// The verdicts that are the node's own fault (the prolog fails, Slurm drains the node and requeues the job).
bool is_node_fault(PrologVerdict verdict);

enum class TaskVerdict {
  off,   // no preflight at this level
  pass,  // this task's node burned in and passed
  skip,  // the plugin's prolog already vouched for the node at this level or stronger
  fail,  // the burn-in failed; the reason travels with it
};

std::string task_verdict_name(TaskVerdict verdict);
// The text one task publishes for its node: "<node>|<verdict>" or "<node>|fail:<reason>".
std::string task_verdict_text(const std::string& node, TaskVerdict verdict, const std::string& reason = "");
// True for a published text that says its node failed.
bool task_verdict_failed(std::string_view text);

}  // namespace sigma
