// Save then load in one process: bitwise equality, scalars, async save, newest step wins, retention.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "ckpt_test_dir.hpp"
#include "sigma/ckpt/async_saver.hpp"
#include "sigma/ckpt/catalog.hpp"
#include "sigma/ckpt/checkpoint.hpp"
#include "sigma/core/error.hpp"
#include "synthetic_state.hpp"

namespace sigma::ckpt::testing {
namespace {

using RoundTrip = CkptTest;

TEST_F(RoundTrip, LoadsBitwiseWhatWasSaved) {
  SyntheticState state(Layout{});
  state.fill(7);
  save_checkpoint(MPI_COMM_WORLD, dir(), 7, state.view());
  state.clear();
  auto loaded = load_newest_checkpoint(MPI_COMM_WORLD, dir(), state.view());
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded->step, 7);
  EXPECT_EQ(state.mismatches(7), 0);
  EXPECT_EQ(loaded->scalars.at("rng"), nlohmann::json({1, 2, 7}));
  EXPECT_EQ(latest_step(dir()), 7);
  EXPECT_EQ(verify_step(dir() + "/step_00000007").verdict, ExitCode::ok);
}

TEST_F(RoundTrip, EmptyDirectoryHasNothingToLoad) {
  SyntheticState state(Layout{});
  EXPECT_FALSE(load_newest_checkpoint(MPI_COMM_WORLD, dir(), state.view()));
}

TEST_F(RoundTrip, NewestStepWins) {
  SyntheticState state(Layout{});
  for (int64_t step : {10, 30, 20}) {
    state.fill(step);
    save_checkpoint(MPI_COMM_WORLD, dir(), step, state.view());
  }
  auto loaded = load_newest_checkpoint(MPI_COMM_WORLD, dir(), state.view());
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded->step, 30);
  EXPECT_EQ(state.mismatches(30), 0);
}

TEST_F(RoundTrip, AsyncSaveWritesTheStateAsOfStart) {
  SyntheticState state(Layout{});
  state.fill(3);
  {
    AsyncSaver saver(MPI_COMM_WORLD, dir());
    saver.start(3, state.view());
    EXPECT_TRUE(saver.in_flight());
    state.fill(4);  // training continues and changes the live state
    saver.start(4, state.view());  // finishes step 3 first: at most one save in flight
  }  // the destructor commits step 4
  EXPECT_EQ(verify_step(dir() + "/step_00000003").verdict, ExitCode::ok);
  state.clear();
  ASSERT_EQ(load_checkpoint_step(MPI_COMM_WORLD, dir() + "/step_00000003", state.view()).step, 3);
  EXPECT_EQ(state.mismatches(3), 0);
  ASSERT_EQ(load_newest_checkpoint(MPI_COMM_WORLD, dir(), state.view())->step, 4);
  EXPECT_EQ(state.mismatches(4), 0);
}

TEST_F(RoundTrip, PruneKeepsLastEveryAndLatest) {
  SyntheticState state(Layout{});
  for (int64_t step = 1; step <= 9; ++step) {
    state.fill(step);
    save_checkpoint(MPI_COMM_WORLD, dir(), step, state.view());
  }
  std::filesystem::create_directory(dir() + "/.tmp_step_00000010");  // left by a crashed save
  auto removed = prune_steps(dir(), 2, 4);
  std::vector<int64_t> kept;
  for (const auto& s : list_steps(dir())) kept.push_back(s.step);
  EXPECT_EQ(kept, (std::vector<int64_t>{4, 8, 9}));
  EXPECT_EQ(removed.size(), 6u);
  EXPECT_FALSE(std::filesystem::exists(dir() + "/.tmp_step_00000010"));
}

TEST_F(RoundTrip, PruneNeverDeletesLatest) {
  SyntheticState state(Layout{});
  for (int64_t step : {1, 2, 3}) {
    state.fill(step);
    save_checkpoint(MPI_COMM_WORLD, dir(), step, state.view());
  }
  std::ofstream(dir() + "/latest") << "step_00000001\n";  // e.g. 2 and 3 were found broken and rolled back
  prune_steps(dir(), 1, 0);
  std::vector<int64_t> kept;
  for (const auto& s : list_steps(dir())) kept.push_back(s.step);
  EXPECT_EQ(kept, (std::vector<int64_t>{1, 3}));
}

TEST_F(RoundTrip, ShapeMismatchIsBadData) {
  SyntheticState state(Layout{});
  state.fill(1);
  save_checkpoint(MPI_COMM_WORLD, dir(), 1, state.view());
  SyntheticState wider(Layout{0, 1, 1, 2});
  try {
    load_checkpoint_step(MPI_COMM_WORLD, dir() + "/step_00000001", wider.view());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::bad_data);
    EXPECT_NE(std::string(e.what()).find("shape"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace sigma::ckpt::testing
