// sigma's recovery mechanisms in the simulator, each against its closed form and switched off: liveness
// detection, async checkpoints committed when durable, in-memory peer copies, and shrink and grow.
#include <gtest/gtest.h>

#include <cmath>

#include "sigma/sim/checkpoint_model.hpp"
#include "sigma/sim/memory_copy_model.hpp"
#include "sigma/sim/shrink_model.hpp"
#include "sigma/sim/simulator.hpp"
#include "sigma/sim/study.hpp"
#include "test_scenario.hpp"

using namespace sigma::sim;
using sigma::sim::test::base_scenario;
using sigma::sim::test::horizon_s;

namespace {

// The base scenario with in-memory copies every `every_steps` 4 s steps, each costing 2% of a step.
Scenario with_memory_copies(int every_steps) {
  Scenario s = base_scenario();
  s.checkpoint.async = true;
  s.memory_copy = {true, every_steps, 0.02, 4.0, 1e11, 0.0};
  return s;
}

// Broken nodes out for 6 h, and back after re-validation.
Scenario with_repairs() {
  Scenario s = base_scenario();
  s.checkpoint.async = true;
  s.classes = {{"gpu", 1, 5.0, 1.5, NodeEffect::repair, 21600}};
  return s;
}

double per_restart(const RunResult& r, double total) { return total / r.interruptions; }

TEST(Liveness, ShortensDetectionOnlyForTheClassesItSees) {
  Scenario s = base_scenario();
  s.classes = {{"crash", 1, 5.0, 1.5, NodeEffect::stays, 0, 1.5}, {"hang", 1, 300.5, 1.6, NodeEffect::stays, 0}};
  EXPECT_EQ(detect_s(s, s.classes[0]), 1.5);
  EXPECT_EQ(detect_s(s, s.classes[1]), 300.5);  // every rank still beats: the progress timeout decides
  s.policy.liveness = false;
  EXPECT_EQ(detect_s(s, s.classes[0]), 5.0);

  // Each restart costs detection + restart + checkpoint load, exactly (the last one may be cut by the horizon).
  s.classes.pop_back();
  for (bool liveness : {true, false}) {
    s.policy.liveness = liveness;
    const RunResult r = simulate_once(s, 600, 3);
    const double each = detect_s(s, s.classes[0]) + 1.5 + load_s(s);
    ASSERT_GT(r.interruptions, 5);
    EXPECT_NEAR(r.recovery_s, r.interruptions * each, each) << liveness;
  }
}

TEST(Commit, AsyncIntervalFollowsTheCommitRule) {
  Scenario s = base_scenario();
  s.checkpoint.async = true;
  const double c = save_stall_s(s), m = job_mtbf_s(s);
  EXPECT_NEAR(young_daly_interval_s(s), std::sqrt(2 * c * m), 1e-9);  // a fallback redoes t/2 + w
  s.checkpoint.commit_when_durable = false;
  EXPECT_NEAR(young_daly_interval_s(s), std::sqrt(2 * c * m / 3), 1e-9);  // 1.5 t
  s.failures_per_accelerator_day = 100;  // never shorter than one save, which must end first
  EXPECT_EQ(young_daly_interval_s(s), save_s(s));
}

TEST(Commit, AFailureRedoesHalfAnIntervalPlusTheWriteNotOneAndAHalf) {
  Scenario s = base_scenario();
  s.checkpoint.async = true;
  s.failures_per_accelerator_day = 1e-2;  // job MTBF 9.4 h: ~77 failures a run
  s.replications = 16;
  const double t = 2000, w = save_s(s);
  const RunResult durable = simulate(s, t);
  EXPECT_NEAR(per_restart(durable, durable.redone_s), t / 2 + w, 0.08 * (t / 2 + w));
  s.checkpoint.commit_when_durable = false;
  const RunResult late = simulate(s, t);
  // 1.5 t, a little less because a failure in the first interval after a restart goes back to the restart only.
  EXPECT_NEAR(per_restart(late, late.redone_s), 1.5 * t, 0.08 * 1.5 * t);
}

TEST(MemoryCopy, RedoesAtMostKStepsAndThePartialOne) {
  EXPECT_EQ(memory_redone_s(2, 4, 1), 2);     // within the first step: back to the restart's own state
  EXPECT_EQ(memory_redone_s(4, 4, 1), 4);     // the copy at 4 s is still being mirrored during the next step
  EXPECT_EQ(memory_redone_s(7.5, 4, 1), 7.5);
  EXPECT_EQ(memory_redone_s(8, 4, 1), 4);     // the copy at 4 s is usable from 8 s
  EXPECT_EQ(memory_redone_s(10, 1, 3), 1);    // copies at 0, 3, 6, 9 s: the one at 9 s is usable from 10 s
  EXPECT_EQ(memory_redone_s(9.5, 1, 3), 3.5);
  for (double t = 1; t < 100; t += 0.37) EXPECT_LE(memory_redone_s(t, 1, 3), 4.0) << t;  // K + 1 steps at most
  Scenario s = with_memory_copies(4);
  EXPECT_NEAR(memory_copy_overhead(s, 4), 0.02 / 4.02, 1e-15);
  EXPECT_NEAR(memory_restore_s(s), 0.01, 1e-12);  // 1 GB at 100 GB/s
  s.memory_copy.enabled = false;
  EXPECT_EQ(memory_copy_overhead(s, 4), 0);
}

TEST(MemoryCopy, CutsRedoneWorkAndTheCheckpointLoad) {
  Scenario s = with_memory_copies(3);
  s.failures_per_accelerator_day = 1e-2;
  const double interval = young_daly_interval_s(base_scenario());
  const RunResult on = simulate(s, interval);
  s.memory_copy.enabled = false;
  const RunResult off = simulate(s, interval);
  ASSERT_GT(on.interruptions, 20);
  EXPECT_EQ(on.file_restores, 0);  // no failure takes a partner's node here
  EXPECT_NEAR(on.memory_restores, on.interruptions, 1.0);
  // step (1 + K/2) = 10 s redone per restore, in progress at (1 - copy share).
  EXPECT_NEAR(per_restart(on, on.redone_s), 10 * (1 - memory_copy_overhead(s, 3)), 1.0);
  EXPECT_LT(on.redone_s, off.redone_s / 5);
  EXPECT_LT(on.recovery_s, off.recovery_s);  // 0.01 s from memory instead of a 10 s load
  // The copies' cost is their share of the training time, exactly.
  EXPECT_NEAR(on.memory_s / (on.useful_s + on.redone_s + on.memory_s), 0.02 / 3.02, 1e-9);
  EXPECT_EQ(off.memory_s, 0);
}

TEST(MemoryCopy, NoFailuresCostOnlyTheCopiesAndTheSaves) {
  Scenario s = with_memory_copies(2);
  s.failures_per_accelerator_day = 0;
  const double interval = 290;
  const RunResult r = simulate_once(s, interval, 1);
  EXPECT_NEAR(r.utilization, interval / (interval + save_stall_s(s)) * (1 - 0.02 / 2.02), 1e-4);
}

TEST(MemoryCopy, ClosedFormKIsWithinNoiseOfTheBestOfASweep) {
  Scenario s = with_memory_copies(0);
  s.failures_per_accelerator_day = 2e-2;  // job MTBF 4.7 h
  s.replications = 8;
  const int k = memory_copy_every_steps(s);
  // sqrt(2 o M / step) for o = 0.02 of a 4 s step.
  EXPECT_NEAR(k, std::sqrt(2 * 0.02 * job_mtbf_s(s) / 4), 1.0);
  const double interval = young_daly_interval_s(s);
  auto utilization = [&](int every) {
    Scenario v = s;
    v.memory_copy.every_steps = every;
    return simulate(v, interval).utilization;
  };
  const double at_k = utilization(k);
  for (int other : {k / 4, k / 2, 2 * k, 4 * k}) EXPECT_GE(at_k, utilization(other) - 1e-4) << other;
  EXPECT_GT(at_k, utilization(1) + 0.005);  // a copy every step costs 2% of the time
}

TEST(MemoryCopy, PartnerLossTakesTwoNodesAndFallsBackToTheFile) {
  Scenario s = with_memory_copies(1);
  s.classes = {{"gpu", 1, 5.0, 1.5, NodeEffect::repair, 1e12}};  // nothing comes back within the horizon
  s.memory_copy.partner_loss_fraction = 1;
  s.cluster.spare_nodes = 4;
  const RunResult r = simulate_once(s, 600, 3);
  EXPECT_EQ(r.interruptions, 3);  // two nodes each: the spares last two failures
  EXPECT_EQ(r.spare_exhaustions, 1);
  EXPECT_EQ(r.memory_restores, 0);
  EXPECT_EQ(r.file_restores, 2);  // the third waits until the horizon
  // The interval follows the fallbacks: every failure here, as without copies.
  EXPECT_NEAR(young_daly_interval_s(s), std::sqrt(2 * save_stall_s(s) * job_mtbf_s(s)), 1e-9);
  s.memory_copy.partner_loss_fraction = 0.1;
  EXPECT_NEAR(young_daly_interval_s(s), std::sqrt(2 * save_stall_s(s) * job_mtbf_s(s) / 0.1), 1e-6);
}

TEST(MemoryCopy, ARequeueFallsBackToTheFile) {
  Scenario s = with_memory_copies(1);
  s.policy.in_allocation_restart = false;
  EXPECT_FALSE(memory_restores(s));
  EXPECT_EQ(file_fallback_share(s), 1.0);
  const RunResult r = simulate(s, 600);
  EXPECT_EQ(r.memory_restores, 0);
  EXPECT_EQ(r.file_restores, r.requeues);
}

TEST(Shrink, ThroughputFollowsTheReplicas) {
  Scenario s = base_scenario();
  EXPECT_NEAR(relative_speed(s, 255, 256), 255.0 / 256, 1e-15);
  EXPECT_EQ(relative_speed(s, 256, 256), 1.0);
  s.shrink.micro_batches_per_replica = 4;  // 1,024 in all; on 255 replicas the busiest runs 5
  EXPECT_NEAR(relative_speed(s, 255, 256), 0.8, 1e-15);
  EXPECT_EQ(relative_speed(s, 256, 256), 1.0);
  EXPECT_NEAR(relative_speed(s, 128, 256), 0.5, 1e-15);  // 8 each on half the replicas: no rounding
  s.shrink = {true, 1.7, 8, 0};  // 8 nodes per replica: 255 nodes hold 31 of 32
  EXPECT_NEAR(relative_speed(s, 255, 256), 31.0 / 32, 1e-15);
  EXPECT_NEAR(relative_speed(s, 255, 255), 248.0 / 255, 1e-15);  // 7 nodes form no replica, even at full width
  EXPECT_EQ(relative_speed(s, 7, 256), 0);
}

TEST(Shrink, ZeroSparesLoseLessThanIdleSparesWould) {
  Scenario s = with_repairs();
  const Evaluation spares = best_spares(s, 8).best;
  ASSERT_GT(spares.spares, 0);
  s.shrink = {true, 1.7, 1, 0};
  const Evaluation shrink = evaluate(s, 0);
  EXPECT_GT(shrink.result.utilization, spares.result.utilization + 0.005);
  EXPECT_EQ(best_spares(s, 8).best.spares, 0);  // the search includes 0 and keeps it
  EXPECT_EQ(shrink.result.waiting_s, 0);
  EXPECT_EQ(shrink.result.spare_exhaustions, 0);
  EXPECT_EQ(shrink.result.requeues, 0);
  EXPECT_NEAR(shrink.result.shrinks, shrink.result.interruptions, 1e-9);
  EXPECT_GT(shrink.result.grows, 0.9 * shrink.result.shrinks);  // all come back but those still out at the end
}

TEST(Shrink, RunningNarrowCostsTheMissingNodesShareWhileTheyAreOut) {
  Scenario s = with_repairs();
  s.shrink = {true, 1.7, 1, 0};
  s.replications = 16;
  const RunResult r = simulate(s, young_daly_interval_s(s));
  // Each failure takes a node for repair + re-validation; the job runs on 31 of 32 meanwhile (recoveries apart).
  const double out_s = 21600 + s.policy.recycle_s;
  EXPECT_NEAR(r.narrow_s, r.shrinks * out_s / 32, 0.05 * r.shrinks * out_s / 32);
  // Rounding micro-batches loses more: 4 per replica on 32, 5 for the busiest of 31 (or 30), so 20% instead of
  // 1/32 (or 2/32). The same seeds give the same failures and returns: only the accounting differs.
  s.shrink.micro_batches_per_replica = 4;
  const RunResult rounded = simulate(s, young_daly_interval_s(s));
  EXPECT_LE(rounded.narrow_s / r.narrow_s, 0.2 * 32 + 1e-9);
  EXPECT_GT(rounded.narrow_s / r.narrow_s, 5);
}

TEST(Shrink, GrowingBackGoesThroughTheFilesystem) {
  Scenario s = with_repairs();
  s.shrink = {true, 1.7, 1, 0};
  s.classes[0].repair_s = 3600;
  const RunResult r = simulate_once(s, 600, 9);
  ASSERT_GT(r.grows, 5);
  const double failure = 5.0 + 1.5 + load_s(s), grow = 1.7 + save_s(s) + load_s(s);
  EXPECT_NEAR(r.recovery_s, r.interruptions * failure + r.grows * grow, grow);
  // With copies a failure restores from memory, but a grow is still the job's stop-signal save and a load of it
  // (sigma-launch's grow): copies do not shorten it.
  s.memory_copy = {true, 1, 0.02, 4.0, 1e11, 0.0};
  const RunResult m = simulate_once(s, 600, 9);
  const double from_memory = 5.0 + 1.5 + memory_restore_s(s);
  EXPECT_NEAR(m.recovery_s, m.interruptions * from_memory + m.grows * grow, grow);
}

TEST(Shrink, TheTimeStillPartitionsTheHorizon) {
  Scenario s = with_repairs();
  s.shrink = {true, 1.7, 1, 0};
  s.memory_copy = {true, 2, 0.02, 4.0, 1e11, 0.3};
  s.cluster.spare_nodes = 1;
  const RunResult r = simulate_once(s, 300, 4);
  ASSERT_GT(r.file_restores, 0);
  ASSERT_GT(r.memory_restores, 0);
  EXPECT_NEAR(r.useful_s + r.stall_s + r.memory_s + r.narrow_s + r.redone_s + r.recovery_s + r.waiting_s,
              horizon_s(s), 1e-6);
  EXPECT_NEAR(r.utilization, r.useful_s * 31 / (horizon_s(s) * 32), 1e-12);
}

TEST(Ablation, EachRecoveryMechanismHasItsRow) {
  Scenario s = with_repairs();
  s.classes = {{"gpu", 3, 5.0, 1.7, NodeEffect::repair, 21600, 1.5}, {"hang", 1, 300.5, 1.6, NodeEffect::recycle, 0}};
  s.checkpoint.filesystem_bytes_per_s /= 6;  // 60 s saves and loads: what memory copies save matters
  s.memory_copy = {true, 0, 0.005, 4.0, 1e11, 0.05};  // a cheap copy: what copies save shows above their cost
  s.shrink = {true, 1.7, 1, 0};
  const std::vector<Variant> rows = ablation(s, 6);
  ASSERT_EQ(rows.size(), 12u);
  const double all_on = rows[0].evaluation.result.utilization;
  for (const Variant& row : rows) EXPECT_LE(row.evaluation.result.utilization, all_on + 1e-4) << row.name;
  auto loss = [&](size_t i) { return all_on - rows[i].evaluation.result.utilization; };
  EXPECT_EQ(rows[1].name, "no liveness detection (Slurm's node timeout, rank exits)");
  EXPECT_GT(loss(1), 0);  // 3.5 s more per GPU failure, the same failures otherwise
  EXPECT_EQ(rows[3].name, "no in-memory peer copies");
  EXPECT_GT(loss(3), 0.0003);  // a 60 s load and the steps since the last save at every failure, against copies
  EXPECT_EQ(rows[5].name, "no shrink and grow (spares only)");
  EXPECT_GT(loss(5), 0.01);  // a 32-node cluster's spare is 3% of it
  EXPECT_GT(rows[5].evaluation.spares, 0);
  EXPECT_EQ(rows[4].name, "in-memory copies every step (K = 1)");
  EXPECT_EQ(rows[4].evaluation.every_steps, 1);
  s.memory_copy.enabled = false;  // no K = 1 row without copies
  EXPECT_EQ(ablation(s, 2).size(), 11u);
}

}  // namespace
