// sigma-launch supervise: runs inside a batch job (the batch script execs it), starts the training step with
// `srun --mpi=pmix` on N healthy nodes of the allocation and keeps S aside as spares, watches the step (exit,
// signals, stderr, per-rank heartbeats), and acts on every failure by recovery_policy.hpp: restart inside the
// allocation without the blamed node, let Slurm requeue, or stop once. SIGTERM and SIGUSR1 are forwarded to the
// step (the trainer saves and exits 42): after a SIGUSR1 the 42 is passed on (a requeue); after SIGTERM alone the
// process ends by SIGTERM once the state is saved (stop_ending.hpp). Every decision is a ledger event ("launcher").
// Needs `sbatch --no-kill`: without it Slurm ends the whole job when one of its nodes fails.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "sigma/core/exit_codes.hpp"
#include "sigma/core/site_config.hpp"

namespace sigma::launch {

struct SuperviseOptions {
  int nodes = 0;                 // 0: every node of the allocation but the spares
  std::optional<int> spares;     // default: cluster.spare_nodes
  int tasks_per_node = 1;
  std::string heartbeat_dir;     // "" = no hang detection
  std::vector<std::string> command;
};

ExitCode supervise(const SuperviseOptions& options, const SiteConfig& config);

}  // namespace sigma::launch
