// What sigma-launch supervise does after a training step ended, decided from the failure's class (core's
// taxonomy) and the site's policy.* — no Slurm, no processes, so every branch is unit-tested:
//   success                      -> done
//   state saved (exit 42)        -> stop with 42: Slurm's RequeueExit requeues the job and it resumes
//   hardware / hang / lost rank  -> drain the blamed node, restart on the survivors plus a spare, with backoff;
//                                   with no spare, on the survivors alone when the job allows fewer nodes
//   heartbeat directory fault    -> stop with config (3), drain nothing: a hang whose heartbeats could not be
//                                   written (the directory is full or unwritable, or every rank's beats stopped
//                                   at once) is the filesystem's fault, not a node's
//   restart / requeue actions    -> restart, with backoff: off a node the failure named while a spare is free
//                                   (excluded, not drained), else on the same nodes
//   no healthy capacity left     -> stop with node_hardware (10): Slurm requeues the job; the drained nodes are
//                                   avoided by the scheduler
//   user error, numerical fault  -> stop once with the step's exit code and message; never restart or requeue
//   unknown                      -> stop for a human (internal, 1): never loop
//   restart cap reached          -> stop with the failure's own exit code
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sigma/core/exit_codes.hpp"
#include "sigma/contracts/heartbeat.hpp"
#include "sigma/policy/site_config.hpp"
#include "sigma/policy/taxonomy.hpp"

namespace sigma::launch {

struct StepFailure {
  StepOutcome outcome;        // exit code, signal, stderr tail
  bool hang = false;          // no heartbeat progress for policy.heartbeat_timeout_s, or a rank's liveness lost
  std::string blamed_node;    // "" when nothing points at one node
  // A hang the heartbeat directory explains: "heartbeat directory DIR not writable: why" (hang_clock.hpp,
  // heartbeat_dir_fault). Then no node is blamed.
  std::string heartbeat_dir_fault = {};
  // The hang is a rank's liveness beat lost (liveness_watch.hpp), not the progress timeout: rule "liveness",
  // fault code liveness_lost, with this evidence ("rank 1 on n2: no liveness beat for 3.2s").
  std::string liveness_lost = {};
};

enum class Next { done, restart, stop };

struct Decision {
  Next next = Next::stop;
  Verdict verdict;                 // the taxonomy's answer (rule "hang" for a heartbeat timeout, "liveness" for a
                                   // rank whose liveness beat stopped)
  std::string drain_node;          // exclude this node from the job (and drain it, unless exclude_only)
  bool exclude_only = false;       // not a node fault: move off the node without draining it
  ExitCode exit_code = ExitCode::ok;  // for Next::stop
  int shrink_to = 0;               // the restart runs on this many nodes, fewer than before (0: as many)
  double backoff_s = 0;            // wait before a restart
  std::string reason;              // one line for the log and the ledger
};

struct RecoveryState {
  int restarts_done = 0;           // restarts of the step so far in this allocation
  int spare_capacity = 0;          // healthy nodes not in the step, usable to replace one
  int shrink_to = 0;               // with no spare: the nodes the step may go on with without the blamed one
                                   // (0: it may not shrink)
};

Decision decide(const Taxonomy& taxonomy, const PolicyConfig& policy, const StepFailure& failure,
                const RecoveryState& state);

// The ledger's account of a failed step and the decision (the step_failed event's details): class, rule, fault
// code, evidence, the node the failure points at and what was done to it ("drained", "excluded", "kept": a
// restart on the same nodes), or "node": null with "node_unknown" saying why no node is known.
nlohmann::json failure_event(const StepFailure& failure, const Decision& decision);

// initial_s * factor^k, capped at max_s, for the k-th restart (k from 0).
double backoff_seconds(const BackoffConfig& backoff, int restart_index);

// What the first task to fail did, from srun's exit status and error lines: srun exits with the highest status
// of its tasks, so when --kill-on-bad-exit has terminated the others (exit 143) the first line
// "srun: error: n1: task 0: Exited with exit code 2" is the failure's own; 128+N otherwise means signal N.
// A broken pipe is passed over when another task's line follows it: it is what a rank gets when its partner
// died, and srun may report it before the partner's "Killed".
StepOutcome first_task_outcome(const StepOutcome& srun);

// srun's report that a task of the step ended ("srun: error: n2: task 1: Killed"), read from one line of the step's
// stderr (at most 4 KiB of it; the program writes there too): the node, the words after the task list, and the
// signal they name (strsignal's words; 0 for an exit code or anything else).
struct TaskEnd {
  std::string node, what;
  int signal = 0;
};
std::optional<TaskEnd> srun_task_end(std::string_view line);

// Whether a task's end loses the step at once: killed (SIGKILL) or crashed (SIGSEGV, SIGBUS, SIGFPE, SIGILL,
// SIGABRT, SIGSYS). srun reports it when it happens but returns only when the other tasks have ended too, which
// they do when Open MPI notices their peer gone, seconds later; the supervisor aborts the step on the line.
// Exit codes (ranks that agree to stop exit together: 42, 10, a user error), a broken pipe (what a rank gets when
// its partner died) and the stop signals (SIGTERM, SIGINT, SIGUSR1: the ranks save and exit) are left to srun's
// own end, as before.
bool ends_the_step_at_once(const TaskEnd& end);

// The node srun says failed under the step ("srun: error: Node failure on n3"), or "". Its tasks there are gone
// even when srun exits 0 (the other tasks completed).
std::string node_failure_named(const std::string& log);

// The node a step's srun error lines name ("Node failure on n3", else the node of the task line that
// first_task_outcome decides by: "srun: error: n3: task 2: Killed"), or "".
std::string node_named_by_srun(const std::string& log);

// The node to blame for a failed step: the trainer's own blame (DIR/blame-<r>, contracts/heartbeat.hpp) when the
// first task exited 10 and the node is one of the step's, since every rank exits 10 together and srun names
// whichever task it saw end first; else the node srun's error lines name, when it is one of the step's (the
// program writes to the same stderr: a line it prints is not evidence about another node).
std::string node_to_blame(const StepOutcome& first, const std::string& srun_log,
                          const std::optional<RankOnNode>& trainer_blame, const std::vector<std::string>& step_nodes);

}  // namespace sigma::launch
