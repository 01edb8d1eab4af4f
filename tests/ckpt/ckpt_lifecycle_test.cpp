// CheckpointLifecycle on real HDF5 steps (one rank): resume picks the newest step that verifies, retention counts
// only verifying steps, a save in flight is committed or cleanly abandoned when the program stops, and a stop
// request saves and commits at once.
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <stdexcept>

#include "ckpt_test_dir.hpp"
#include "sigma/ckpt/catalog.hpp"
#include "sigma/ckpt/checkpoint_lifecycle.hpp"
#include "sigma/core/error.hpp"
#include "sigma/contracts/ledger.hpp"
#include "sigma/platform/stop_signal.hpp"
#include "synthetic_state.hpp"

namespace sigma::ckpt::testing {
namespace {

class Lifecycle : public CkptTest {
 protected:
  LifecycleOptions options(int keep_last = 0) const { return {dir(), keep_last, 0, dir() + "/ledger.jsonl"}; }

  // Commits `step` with the state's values for that step.
  void commit(CheckpointLifecycle& life, int64_t step) {
    state_.fill(step);
    life.save_and_commit(step, state_.view());
  }
  void truncate_shard(int64_t step) {
    const std::string shard = dir() + "/" + step_dir_name(step) + "/shard_r00000.h5";
    std::filesystem::resize_file(shard, std::filesystem::file_size(shard) / 2);
  }
  std::vector<int64_t> committed() const {
    std::vector<int64_t> steps;
    for (const StepEntry& e : list_steps(dir())) steps.push_back(e.step);
    return steps;
  }
  bool has_temporary_step() const {
    for (const auto& e : std::filesystem::directory_iterator(dir()))
      if (e.path().filename().string().rfind(".tmp_", 0) == 0) return true;
    return false;
  }
  std::optional<LoadResult> resume_fresh(const AcceptScalars& accept = {}) {
    state_.clear();
    CheckpointLifecycle life(MPI_COMM_WORLD, options());
    return life.resume(state_.view(), accept);
  }

  SyntheticState state_{Layout{}};
};

TEST_F(Lifecycle, ResumeFromAnEmptyDirectoryStartsFresh) { EXPECT_FALSE(resume_fresh()); }

TEST_F(Lifecycle, ResumePicksTheNewestStepThatVerifiesAndSkipsACorruptOne) {
  {
    CheckpointLifecycle life(MPI_COMM_WORLD, options());
    for (int64_t step : {1, 2, 3}) commit(life, step);
  }
  truncate_shard(3);
  const auto loaded = resume_fresh();
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded->step, 2);
  EXPECT_EQ(state_.mismatches(2), 0);
  const auto ledger = read_ledger(dir() + "/ledger.jsonl");
  ASSERT_EQ(ledger.events.size(), 1u);
  EXPECT_EQ(ledger.events[0]["event"], "ckpt_rejected");
  EXPECT_EQ(ledger.events[0]["details"]["step_dir"], dir() + "/step_00000003");
}

TEST_F(Lifecycle, ResumeSkipsAStepTheProgramRejects) {
  {
    CheckpointLifecycle life(MPI_COMM_WORLD, options());
    for (int64_t step : {1, 2}) commit(life, step);
  }
  const auto loaded = resume_fresh([](const nlohmann::json& scalars) {
    if (scalars["step"] == 2) throw Error(ExitCode::bad_data, "data_position does not match this run");
  });
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded->step, 1);
  EXPECT_EQ(state_.mismatches(1), 0);
}

TEST_F(Lifecycle, NothingThatVerifiesIsBadData) {
  {
    CheckpointLifecycle life(MPI_COMM_WORLD, options());
    commit(life, 1);
  }
  truncate_shard(1);
  try {
    resume_fresh();
    FAIL() << "resumed from a corrupt step";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::bad_data);
  }
}

// Steps 1, 2 verify and 4 is corrupt when 3 is saved (a run resumed from 2): keep_last 2 keeps the two newest
// steps that verify (3 and 2) and the newer broken 4; counting 4 would have removed 2.
TEST_F(Lifecycle, RetentionCountsOnlyVerifyingStepsAndKeepsTheNewestThatVerifies) {
  {
    CheckpointLifecycle life(MPI_COMM_WORLD, options());
    for (int64_t step : {1, 2, 4}) commit(life, step);
  }
  truncate_shard(4);
  {
    CheckpointLifecycle life(MPI_COMM_WORLD, options(2));
    commit(life, 3);
  }
  EXPECT_EQ(committed(), (std::vector<int64_t>{2, 3, 4}));
  {
    CheckpointLifecycle life(MPI_COMM_WORLD, options(1));
    commit(life, 3);  // saved again: with keep_last 1 only it (the newest that verifies) and the newer 4 stay
  }
  EXPECT_EQ(committed(), (std::vector<int64_t>{3, 4}));
  const auto loaded = resume_fresh();
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded->step, 3);
}

TEST_F(Lifecycle, BackgroundSaveIsCommittedByTheNextCallAndKeepsTheStateAsOfItsStart) {
  CheckpointLifecycle life(MPI_COMM_WORLD, options(2));
  state_.fill(1);
  life.save_in_background(1, state_.view());
  EXPECT_TRUE(life.save_in_flight());
  state_.fill(2);  // training goes on while the step is written
  EXPECT_EQ(latest_step(dir()), std::nullopt);
  life.save_in_background(2, state_.view());
  EXPECT_EQ(latest_step(dir()), 1);
  life.finish();
  EXPECT_FALSE(life.save_in_flight());
  EXPECT_EQ(latest_step(dir()), 2);
  state_.clear();
  EXPECT_EQ(load_checkpoint_step(MPI_COMM_WORLD, dir() + "/step_00000001", state_.view()).step, 1);
  EXPECT_EQ(state_.mismatches(1), 0);
}

TEST_F(Lifecycle, StopRequestCommitsTheSaveInFlightThenSavesAndCommitsTheCurrentStep) {
  install_stop_signal_handlers();
  clear_stop_request();
  CheckpointLifecycle life(MPI_COMM_WORLD, options());
  state_.fill(4);
  life.save_in_background(4, state_.view());
  state_.fill(5);
  EXPECT_FALSE(life.save_if_stop_requested(5, state_.view()));
  EXPECT_TRUE(life.save_in_flight());  // no stop request: nothing changed
  std::raise(SIGUSR1);
  EXPECT_TRUE(life.save_if_stop_requested(5, state_.view()));
  clear_stop_request();
  EXPECT_FALSE(life.save_in_flight());
  EXPECT_EQ(committed(), (std::vector<int64_t>{4, 5}));
  EXPECT_EQ(latest_step(dir()), 5);
  for (int64_t step : {4, 5}) EXPECT_EQ(verify_step(dir() + "/" + step_dir_name(step)).verdict, ExitCode::ok);
}

TEST_F(Lifecycle, DestructionCommitsTheSaveInFlight) {
  {
    CheckpointLifecycle life(MPI_COMM_WORLD, options());
    state_.fill(7);
    life.save_in_background(7, state_.view());
  }
  EXPECT_EQ(latest_step(dir()), 7);
  EXPECT_EQ(verify_step(dir() + "/step_00000007").verdict, ExitCode::ok);
}

// An exception on one rank must not make it wait for a collective commit the other ranks never join: the step
// in flight is dropped, latest keeps naming the one before, and the next commit's retention clears the rest.
TEST_F(Lifecycle, AnExceptionAbandonsTheSaveInFlight) {
  {
    CheckpointLifecycle life(MPI_COMM_WORLD, options());
    commit(life, 1);
  }
  try {
    CheckpointLifecycle life(MPI_COMM_WORLD, options());
    state_.fill(2);
    life.save_in_background(2, state_.view());
    throw std::runtime_error("a failure on this rank only");
  } catch (const std::runtime_error&) {
  }
  EXPECT_EQ(latest_step(dir()), 1);
  EXPECT_EQ(committed(), (std::vector<int64_t>{1}));
  EXPECT_TRUE(has_temporary_step());
  {
    CheckpointLifecycle life(MPI_COMM_WORLD, options(5));
    commit(life, 3);
  }
  EXPECT_FALSE(has_temporary_step());
  EXPECT_EQ(committed(), (std::vector<int64_t>{1, 3}));
}

TEST_F(Lifecycle, AbandonDropsTheStepAndLatestStays) {
  CheckpointLifecycle life(MPI_COMM_WORLD, options());
  commit(life, 1);
  state_.fill(2);
  life.save_in_background(2, state_.view());
  life.abandon();
  EXPECT_FALSE(life.save_in_flight());
  EXPECT_EQ(latest_step(dir()), 1);
  const auto loaded = resume_fresh();
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded->step, 1);
}

TEST_F(Lifecycle, RollBackCommitsTheSaveInFlightAndLoadsIt) {
  CheckpointLifecycle life(MPI_COMM_WORLD, options());
  commit(life, 1);
  state_.fill(2);
  life.save_in_background(2, state_.view());
  state_.fill(3);  // the step that went wrong
  const auto loaded = life.roll_back(state_.view());
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded->step, 2);
  EXPECT_EQ(state_.mismatches(2), 0);
}

}  // namespace
}  // namespace sigma::ckpt::testing
