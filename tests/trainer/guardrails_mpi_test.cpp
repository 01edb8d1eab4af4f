// The trainer's guardrails under mpirun: each injected fault is detected, the right rank and node are blamed,
// and the run either goes on correctly or stops with the contract's exit code. Weights are compared bitwise
// with a fault-free run wherever the fault leaves no trace in the data. Run with 3 ranks (a replica can be
// outvoted) and with 2 (the clean long run, one rank per core).
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "sigma/core/error.hpp"
#include "sigma/contracts/heartbeat.hpp"
#include "sigma/contracts/ledger.hpp"
#include "sigma/trainer/train_loop.hpp"
#include "sigma/trainer/trainer.hpp"
#include "tiny_model.hpp"

namespace sigma::trainer {
namespace {

int world_rank() {
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  return rank;
}

int world_size() {
  int size = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  return size;
}

// Every test gets a fresh ledger and heartbeat directory, named by rank 0 and shared with the others.
class Guardrails : public ::testing::Test {
 protected:
  void SetUp() override {
    char path[256] = {};
    if (world_rank() == 0) {
      char pattern[] = "/tmp/sigma-guard-XXXXXX";
      std::strncpy(path, mkdtemp(pattern), sizeof path - 1);
    }
    MPI_Bcast(path, sizeof path, MPI_CHAR, 0, MPI_COMM_WORLD);
    dir_ = path;
    setenv("SIGMA_LEDGER", (dir_ / "ledger.jsonl").c_str(), 1);
    setenv(env::kHeartbeatDir, dir_.c_str(), 1);
  }
  void TearDown() override {
    MPI_Barrier(MPI_COMM_WORLD);
    if (world_rank() == 0) std::filesystem::remove_all(dir_);
    unsetenv("SIGMA_LEDGER");
    unsetenv(env::kHeartbeatDir);
  }

  // The ledger's events of one kind, as every rank sees them once all have written.
  std::vector<nlohmann::json> events(const std::string& name) {
    MPI_Barrier(MPI_COMM_WORLD);
    std::vector<nlohmann::json> out;
    if (!std::filesystem::exists(dir_ / "ledger.jsonl")) return out;
    for (const auto& e : read_ledger(dir_ / "ledger.jsonl").events)
      if (e.at("event") == name) out.push_back(e.at("details"));
    return out;
  }

  std::filesystem::path dir_;
};

TrainConfig guarded_config() {
  auto c = testing::tiny_config();
  c.global_batch = 2 * world_size();
  c.steps = 8;
  c.guard.spike_window = 4;
  return c;
}

std::shared_ptr<TokenData> tokens() { return testing::synthetic_tokens(32, 4000); }

bool same_weights(const Trainer& a, const Trainer& b) {
  const auto& x = a.weights();
  const auto& y = b.weights();
  return std::memcmp(x.dense.data(), y.dense.data(), x.dense.size() * sizeof(float)) == 0 &&
         std::memcmp(x.expert.data(), y.expert.data(), x.expert.size() * sizeof(float)) == 0;
}

void train_to(Trainer& t, int steps) {
  while (t.completed_steps() < steps) t.step();
}

// The error a step throws, or ok when it does not.
Error step_error(Trainer& t) {
  try {
    t.step();
  } catch (const Error& e) {
    return e;
  }
  return Error(ExitCode::ok, "");
}

// Trains a faulty and a fault-free trainer through `steps` steps; returns the faulty one's error in the next.
Error error_after(Trainer& faulty, Trainer& clean, int steps) {
  train_to(faulty, steps);
  train_to(clean, steps);
  return step_error(faulty);
}

void expect_contains(const std::string& text, const std::string& part) {
  EXPECT_NE(text.find(part), std::string::npos) << "'" << part << "' not in: " << text;
}

#define NEED_RANKS(n) \
  if (world_size() != (n)) GTEST_SKIP() << "needs " << (n) << " ranks"

TEST_F(Guardrails, TransientGradientFlipBlamesItsRankBeforeTheUpdate) {
  NEED_RANKS(3);
  auto c = guarded_config();
  c.fault = {.bitflip = FaultTarget::grad, .bitflip_rank = 1, .bitflip_step = 4, .repeat = false};
  Trainer faulty(c, MPI_COMM_WORLD, tokens());
  Trainer clean(guarded_config(), MPI_COMM_WORLD, tokens());
  const Error e = error_after(faulty, clean, 3);
  EXPECT_EQ(e.code(), ExitCode::node_hardware);
  expect_contains(e.what(), "transient fault at step 4: replicas disagree on the gradient norm");
  expect_contains(e.what(), "blaming rank 1 (node ");
  const auto classified = events("fault_classified");
  ASSERT_EQ(classified.size(), 1u);
  EXPECT_EQ(classified[0]["class"], "transient");
  EXPECT_EQ(classified[0]["rank"], 1);
  EXPECT_FALSE(classified[0]["node"].get<std::string>().empty());
  // Caught before the update: nothing of the fault is in the weights, and the run (here: the same trainer,
  // as a restart from a checkpoint would) ends bitwise where a fault-free one does.
  EXPECT_EQ(faulty.completed_steps(), 3);
  EXPECT_TRUE(same_weights(faulty, clean));
  train_to(faulty, 8);
  train_to(clean, 8);
  EXPECT_TRUE(same_weights(faulty, clean));
}

TEST_F(Guardrails, PersistentGradientFlipIsStillTheNodesFault) {
  NEED_RANKS(3);
  auto c = guarded_config();
  c.fault = {.bitflip = FaultTarget::grad, .bitflip_rank = 2, .bitflip_step = 2, .repeat = true};
  Trainer t(c, MPI_COMM_WORLD, tokens());
  train_to(t, 1);
  const Error e = step_error(t);
  EXPECT_EQ(e.code(), ExitCode::node_hardware);
  expect_contains(e.what(), "persistent fault at step 2");
  expect_contains(e.what(), "blaming rank 2");
  EXPECT_EQ(events("step_rerun").size(), 1u);
  EXPECT_EQ(events("fault_injected").size(), 2u);  // the first attempt and the re-run
}

TEST_F(Guardrails, TransientParameterFlipMakesALossNonFiniteAndBlamesItsRank) {
  NEED_RANKS(3);
  auto c = guarded_config();
  Trainer probe(c, MPI_COMM_SELF, tokens());
  const auto& final_norm = probe.layout().params[probe.layout().final_norm];
  // Bit 30 of a gain of 1.0 makes it infinite: rank 0 reads an infinite weight in this step only.
  c.fault = {.bitflip = FaultTarget::param, .bitflip_rank = 0, .bitflip_step = 3,
             .bitflip_index = static_cast<int64_t>(final_norm.offset), .repeat = false};
  Trainer faulty(c, MPI_COMM_WORLD, tokens());
  Trainer clean(guarded_config(), MPI_COMM_WORLD, tokens());
  const Error e = error_after(faulty, clean, 2);
  EXPECT_EQ(e.code(), ExitCode::node_hardware);
  expect_contains(e.what(), "transient fault at step 3: non-finite loss or gradient");
  expect_contains(e.what(), "blaming rank 0");
  EXPECT_TRUE(same_weights(faulty, clean));  // the flipped weight was only read, and restored
}

TEST_F(Guardrails, DeterministicNanStopsWithNumerical) {
  NEED_RANKS(3);
  auto c = guarded_config();
  c.fault.nan_at_step = 2;
  Trainer t(c, MPI_COMM_WORLD, tokens());
  train_to(t, 1);
  const Error e = step_error(t);
  EXPECT_EQ(e.code(), ExitCode::numerical);
  expect_contains(e.what(), "numerical fault at step 2: non-finite loss on rank 2");
  const auto classified = events("fault_classified");
  ASSERT_EQ(classified.size(), 1u);
  EXPECT_EQ(classified[0]["class"], "deterministic");
  EXPECT_EQ(classified[0]["action"], "exit_numerical");
  const auto injected = events("fault_injected");  // recorded, so a supervisor can time its detection
  ASSERT_EQ(injected.size(), 2u);                  // the first attempt and the re-run
  EXPECT_EQ(injected[0]["fault"], "nan");
  EXPECT_EQ(injected[0]["rank"], 2);
}

TEST_F(Guardrails, TransientNanBlamesTheLastRank) {
  NEED_RANKS(3);
  auto c = guarded_config();
  c.fault.nan_at_step = 2;
  c.fault.repeat = false;
  Trainer t(c, MPI_COMM_WORLD, tokens());
  train_to(t, 1);
  const Error e = step_error(t);
  EXPECT_EQ(e.code(), ExitCode::node_hardware);
  expect_contains(e.what(), "blaming rank 2");
}

// Skipping a batch leaves a trace by design (the run trains on other data): the run completes, the skipped
// batch is recorded, the data position moved one batch further, and the weights differ from a fault-free run.
TEST_F(Guardrails, DeterministicNanSkipsTheBatchWhenConfigured) {
  NEED_RANKS(3);
  auto c = guarded_config();
  c.fault.nan_at_step = 3;
  c.guard.skip_numerical_faults = true;
  Trainer faulty(c, MPI_COMM_WORLD, tokens());
  Trainer clean(guarded_config(), MPI_COMM_WORLD, tokens());
  train_to(faulty, 8);
  train_to(clean, 8);
  EXPECT_EQ(faulty.data_position(), clean.data_position() + static_cast<uint64_t>(c.global_batch));
  EXPECT_FALSE(same_weights(faulty, clean));
  for (float w : faulty.weights().dense) ASSERT_TRUE(std::isfinite(w));
  const auto skipped = events("batch_skipped");
  ASSERT_EQ(skipped.size(), 1u);
  EXPECT_EQ(skipped[0]["step"], 3);
}

TEST_F(Guardrails, SkippedBatchesAreBounded) {
  NEED_RANKS(3);
  auto c = guarded_config();
  c.fault.nan_at_step = 2;
  c.guard.skip_numerical_faults = true;
  c.guard.max_skipped_batches = 0;
  Trainer t(c, MPI_COMM_WORLD, tokens());
  train_to(t, 1);
  EXPECT_EQ(step_error(t).code(), ExitCode::numerical);
}

// Without a checkpoint hook a rollback drops the spike step's update. Replaying the same batch (the injected
// spike does not recur) ends bitwise where a fault-free run does.
TEST_F(Guardrails, LossSpikeRollsBackAndReplaysToTheSameWeights) {
  NEED_RANKS(3);
  auto c = guarded_config();
  c.fault.spike_at_step = 6;
  c.guard.spike_skip_data = false;
  Trainer faulty(c, MPI_COMM_WORLD, tokens());
  Trainer clean(guarded_config(), MPI_COMM_WORLD, tokens());
  EXPECT_EQ(run_training(faulty, {}), ExitCode::ok);
  EXPECT_EQ(run_training(clean, {}), ExitCode::ok);
  EXPECT_TRUE(same_weights(faulty, clean));
  const auto spikes = events("loss_spike");
  ASSERT_EQ(spikes.size(), 1u);
  EXPECT_EQ(spikes[0]["step"], 6);
  const auto rollbacks = events("rolled_back");
  ASSERT_EQ(rollbacks.size(), 1u);
  EXPECT_EQ(rollbacks[0]["to_step"], 5);
  EXPECT_TRUE(events("data_skipped").empty());
}

// Skipping the spike's data leaves a trace: the data window is recorded and the position is one batch on.
TEST_F(Guardrails, LossSpikeSkipsItsDataWindow) {
  NEED_RANKS(3);
  auto c = guarded_config();
  c.fault.spike_at_step = 6;
  Trainer faulty(c, MPI_COMM_WORLD, tokens());
  EXPECT_EQ(run_training(faulty, {}), ExitCode::ok);
  const auto skipped = events("data_skipped");
  ASSERT_EQ(skipped.size(), 1u);
  EXPECT_EQ(skipped[0]["first_sequence"], 5 * c.global_batch);
  EXPECT_EQ(skipped[0]["end_sequence"], 6 * c.global_batch);
  EXPECT_EQ(faulty.data_position(), static_cast<uint64_t>(9 * c.global_batch));
  const auto injected = events("fault_injected");
  ASSERT_EQ(injected.size(), 1u);
  EXPECT_EQ(injected[0]["fault"], "spike");
  EXPECT_EQ(injected[0]["step"], 6);
}

TEST_F(Guardrails, LossSpikesAreBounded) {
  NEED_RANKS(3);
  auto c = guarded_config();
  c.fault.spike_at_step = 6;
  c.guard.max_rollbacks = 0;
  Trainer t(c, MPI_COMM_WORLD, tokens());
  try {
    run_training(t, {});
    FAIL() << "expected a numerical error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::numerical);
    expect_contains(e.what(), "loss spike at step 6");
  }
}

TEST_F(Guardrails, SlowRankIsReportedWithItsNodeAndFlagged) {
  NEED_RANKS(3);
  auto c = guarded_config();
  c.steps = 12;
  c.guard.straggler_margin = 1.0;
  c.guard.straggler_steps = 3;
  c.guard.straggler_min_seconds = 0.002;
  c.guard.metrics_textfile = (dir_ / "trainer.prom").string();
  c.fault.slow_rank = 1;
  c.fault.slow_factor = 200;
  Trainer t(c, MPI_COMM_WORLD, tokens());
  train_to(t, 12);
  const auto detected = events("straggler_detected");
  ASSERT_GE(detected.size(), 1u);
  EXPECT_EQ(detected[0]["rank"], 1);
  EXPECT_FALSE(detected[0]["node"].get<std::string>().empty());
  EXPECT_TRUE(std::filesystem::exists(dir_ / "straggler-1"));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "straggler-0"));
  std::ifstream metrics(dir_ / "trainer.prom");
  const std::string text((std::istreambuf_iterator<char>(metrics)), std::istreambuf_iterator<char>());
  expect_contains(text, "sigma_train_straggler{rank=\"1\",node=");
  expect_contains(text, "} 1\n");
}

// The SIGMA paper's point: a long clean run must not cry wolf. 1,000 steps of the smallest model with every
// guardrail on (replica hash every 50 steps) raise no spike, no straggler, no re-run and no mismatch.
TEST_F(Guardrails, CleanLongRunRaisesNoAlarm) {
  NEED_RANKS(2);
  auto c = guarded_config();
  c.steps = 1000;
  c.guard.spike_window = 50;
  c.guard.straggler_margin = 0.5;
  c.replica_check_every = 50;
  Trainer t(c, MPI_COMM_WORLD, tokens());
  EXPECT_EQ(run_training(t, {}), ExitCode::ok);
  EXPECT_EQ(t.completed_steps(), 1000);
  for (const char* alarm : {"loss_spike", "straggler_detected", "step_rerun", "replica_mismatch", "batch_skipped"})
    EXPECT_TRUE(events(alarm).empty()) << alarm;
}

TEST_F(Guardrails, FaultOnARankOutsideTheRunIsAConfigError) {
  auto c = guarded_config();
  c.fault.slow_rank = world_size();
  c.fault.slow_factor = 2;
  try {
    Trainer t(c, MPI_COMM_WORLD, tokens());
    FAIL() << "expected a config error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::config);
    expect_contains(e.what(), "inject_slow_rank=");
  }
}

}  // namespace
}  // namespace sigma::trainer
