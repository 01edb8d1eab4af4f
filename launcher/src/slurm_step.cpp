#include "sigma/launcher/slurm_step.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <thread>

#include "sigma/core/error.hpp"
#include "sigma/platform/slurm_node.hpp"

namespace sigma::launch {
namespace {

constexpr int kSlurmCallSeconds = 5;  // the abort goes on without it

void warn(const std::string& what) { fmt::print(stderr, "sigma-launch: warning: {}\n", what); }

}  // namespace

std::vector<std::pair<unsigned, unsigned>> new_steps_on(const std::vector<std::string>& held,
                                                        const std::vector<std::string>& held_before,
                                                        const std::vector<std::string>& nodes) {
  const std::set<std::string> ours(nodes.begin(), nodes.end());
  std::vector<std::pair<unsigned, unsigned>> ids;
  for (const auto& step : held) {
    if (std::find(held_before.begin(), held_before.end(), step) != held_before.end()) continue;
    unsigned job = 0, id = 0;
    const auto on = step.find(" on ");
    if (on == std::string::npos || std::sscanf(step.c_str(), "%u.%u", &job, &id) != 2) continue;
    std::vector<std::string> names;
    try {
      names = expand_hostlist(step.substr(on + 4));
    } catch (const Error&) {
      continue;
    }
    if (std::set<std::string>(names.begin(), names.end()) == ours) ids.emplace_back(job, id);
  }
  return ids;
}

SlurmStep::SlurmStep(std::vector<std::string> held_before, std::vector<std::string> nodes)
    : held_before_(std::move(held_before)), nodes_(std::move(nodes)) {}

const std::vector<std::pair<unsigned, unsigned>>& SlurmStep::ids() {
  if (ids_) return *ids_;
  ids_.emplace();
  const auto job = this_job_id();
  if (!job) return *ids_;
  try {
    *ids_ = new_steps_on(job_steps(*job), held_before_, nodes_);
  } catch (const Error& e) {
    warn(e.what());
  }
  return *ids_;
}

void SlurmStep::kill() {
  // In a thread of its own, not waited for: slurmctld hands the signal to every node of the allocation, and a
  // frozen node's answer never comes (the call gives up after kSlurmCallSeconds); srun's abort must not wait.
  std::thread([ids = ids()] {
    for (const auto& [job, step] : ids) {
      try {
        signal_job_step(job, step, SIGKILL, kSlurmCallSeconds);
        fmt::print(stderr, "sigma-launch: SIGKILL sent to the tasks of step {}.{}\n", job, step);
      } catch (const Error& e) {
        warn(std::string(e.what()) + " (srun's abort goes on)");
      }
    }
  }).detach();
}

}  // namespace sigma::launch
