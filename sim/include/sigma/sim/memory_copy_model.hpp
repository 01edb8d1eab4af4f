// In-memory peer checkpoints: what a copy costs, how often to make one, and what a restore from memory redoes and
// costs, from the scenario's memory_copy inputs.
#pragma once

#include "sigma/sim/scenario.hpp"

namespace sigma::sim {

// Whether a failure can restore from memory at all: copies are made and the job restarts in its allocation
// (a requeue runs on other nodes, whose memory holds nothing).
bool memory_restores(const Scenario& s);

// The share of training time that copies made every `every_steps` steps take: each costs step_overhead of a step.
double memory_copy_overhead(const Scenario& s, int every_steps);

// Mean share of training time lost to copies every `every_steps` steps plus the work they redo, with memory
// restores every `m` seconds on average (memory_redone_s's mean, step (1 + K/2), per restore).
double memory_copy_waste(const Scenario& s, int every_steps, double m);

// K: the scenario's every_steps, or when it is 0 the integer that minimises memory_copy_waste (K* ~ sqrt(2 o M /
// step) for copy cost o and M the mean time between memory restores); kMaxEverySteps when no restore can happen.
constexpr int kMaxEverySteps = 1000000;
int memory_copy_every_steps(const Scenario& s);

// Training time (wall) a restore from memory redoes after `training_s` of training since the last restart, with
// steps of `step_s` and copies every `every_steps`: a copy made at a step boundary is mirrored to its partner
// during the next step, so the newest usable one is the last K-step boundary at least one step old (the restart's
// own state at worst). Between one and K + 1 steps once a step has passed; step (1 + K/2) on average.
double memory_redone_s(double training_s, double step_s, int every_steps);

// Seconds to restore or reshard from memory: each accelerator's state over the interconnect.
double memory_restore_s(const Scenario& s);

}  // namespace sigma::sim
