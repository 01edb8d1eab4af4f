// sigma-launch supervise: runs inside a batch job (the batch script execs it), starts the training step with
// `srun --mpi=pmix` on N healthy nodes of the allocation and keeps S aside as spares, watches the step (exit,
// signals, stderr, per-rank heartbeats), and acts on every failure by recovery_policy.hpp: restart inside the
// allocation without the blamed node (on a spare, or on fewer nodes when none is left and --min-nodes allows),
// let Slurm requeue, or stop once. SIGTERM and SIGUSR1 are forwarded to the
// step (the trainer saves and exits 42): after a SIGUSR1 the 42 is passed on (a requeue); after SIGTERM alone the
// process ends by SIGTERM once the state is saved (stop_ending.hpp). A program that does not save on the signal
// (no stop handler: the signal kills it) is never restarted after it: the job stops the same way. Every decision is a ledger event ("launcher").
// Needs `sbatch --no-kill`: without it Slurm ends the whole job when one of its nodes fails.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "sigma/core/exit_codes.hpp"
#include "sigma/launcher/hang_clock.hpp"
#include "sigma/policy/site_config.hpp"

namespace sigma::launch {

struct SuperviseOptions {
  int nodes = 0;                 // 0: every node of the allocation but the spares
  std::optional<int> spares;     // default: cluster.spare_nodes
  // Shrink and grow: with no spare left, a node fault restarts the step on the nodes left, down to min_nodes
  // (0 or >= the step's width: never; the job goes back to the queue), keeping the node count a multiple of
  // node_multiple; a node drained on the way that comes back (resumed, still in the job) widens it again at the
  // program's next save (SIGUSR1, exit 42). The program sees its new world size; sigma-train keeps its global
  // batch (split unevenly when it must) and reshards its state (trainer/README.md, "Shrink and grow").
  int min_nodes = 0;
  int node_multiple = 1;
  int tasks_per_node = 1;
  std::string heartbeat_dir;     // "" = no hang detection
  // What the program beats there (launcher/README.md, "The supervision protocol"): progress (the client's beat()
  // every step: hangs, stragglers, recovery figures) or liveness only (start() alone: lost ranks and start-up).
  Beats beats = Beats::progress;
  std::vector<std::string> command;
};

ExitCode supervise(const SuperviseOptions& options, const SiteConfig& config);

}  // namespace sigma::launch
