// This node as Slurm sees it, through libslurm (the way LBNL NHC uses scontrol, without running a command):
// its name, its state and drain reason, drain and resume. libslurm exit()s on a missing or unreachable
// configuration, so every call that talks to slurmctld runs in a child process with a time limit.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace sigma {

// The job this process runs in ($SLURM_JOB_ID); nullopt outside a job.
std::optional<unsigned> this_job_id();

struct NodeStatus {
  bool drain = false;        // DRAIN flag set (drained, or draining while jobs finish)
  bool busy = false;         // jobs still run on it (allocated or mixed)
  std::string reason;        // the drain reason ("" when none)
  double reason_time = 0;    // when the reason was set, seconds since the epoch
  bool down = false;         // down, or not answering slurmctld's pings
};

// Each throws sigma::Error(transient) with Slurm's error text, or why the child failed.
NodeStatus query_node(const std::string& node);
void drain_node(const std::string& node, const std::string& reason);
void resume_node(const std::string& node);
// True when job `job_id` holds every CPU of `node`, so that no other job runs there while it does (an exclusive
// allocation, or one that took the whole node). Throws like the calls above; sigma::Error(usage) for a job id
// that is not a number.
bool job_has_whole_node(const std::string& job_id, const std::string& node);

// The steps of a job that slurmctld still holds (running or ending), batch and extern steps left out: "7.0 on
// n[1-2]" each. Throws sigma::Error(transient) like the calls above.
std::vector<std::string> job_steps(unsigned job_id);

// The nodes job `job_id` holds now: a --no-kill job loses a node Slurm declared down. Throws like the calls above.
std::vector<std::string> job_nodes(unsigned job_id);

// Sends `sig` to every task of step `step_id` of job `job_id` at once (slurm_signal_job_step), not through a
// cancel's SIGCONT, SIGTERM, KillWait, SIGKILL sequence: a task that handles SIGTERM (a trainer saving its state)
// and waits for a dead peer would live on for KillWait (30 s by default). Gives up after `timeout_s`. Throws
// sigma::Error(transient) like the calls above.
void signal_job_step(unsigned job_id, unsigned step_id, int sig, int timeout_s);

// The node names of a Slurm hostlist expression ("n[1-3,7]" -> n1 n2 n3 n7); throws sigma::Error(usage).
std::vector<std::string> expand_hostlist(const std::string& hostlist);

// True when `node` is in the Slurm hostlist expression `hostlist` ("n[1-3,7]").
bool hostlist_contains(const std::string& hostlist, const std::string& node);

// sigma marks the nodes it drains with this reason prefix, and recycles only those.
inline constexpr const char* kSigmaReasonPrefix = "sigma:";

}  // namespace sigma
