// A checkpoint filesystem that fills up during a save (a real tmpfs of a fixed size, mounted by the test, which
// therefore needs root): the save fails with ENOSPC and exit code config, names the shard, leaves no temporary
// step behind, records a ckpt_save_failed ledger event, and the step before stays committed and loads bitwise.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "ckpt_test_dir.hpp"
#include "sigma/ckpt/catalog.hpp"
#include "sigma/ckpt/checkpoint.hpp"
#include "sigma/ckpt/checkpoint_lifecycle.hpp"
#include "sigma/core/error.hpp"
#include "sigma/contracts/ledger.hpp"
#include "synthetic_state.hpp"

namespace fs = std::filesystem;

namespace sigma::ckpt::testing {
namespace {

class FullFilesystem : public CkptTest {
 protected:
  // Mounts a tmpfs that holds one step and half of the next one's shard.
  void SetUp() override {
    CkptTest::SetUp();
    if (geteuid() != 0) GTEST_SKIP() << "mounting a small tmpfs needs root: not run";
    state_.fill(1);
    save_checkpoint(MPI_COMM_WORLD, dir() + "/sizing", 1, state_.view());
    const auto shard = fs::file_size(dir() + "/sizing/step_00000001/shard_r00000.h5");
    const auto manifest = fs::file_size(dir() + "/sizing/step_00000001/manifest.json");
    const auto bytes = ((shard * 3 / 2 + manifest + 8192) / 4096 + 1) * 4096;
    ckpt_ = dir() + "/full";
    fs::create_directory(ckpt_);
    const std::string options = "mode=755,size=" + std::to_string(bytes);
    ASSERT_EQ(mount("tmpfs", ckpt_.c_str(), "tmpfs", 0, options.c_str()), 0) << std::strerror(errno);
    mounted_ = true;
  }
  void TearDown() override {
    if (mounted_) umount2(ckpt_.c_str(), MNT_DETACH);
    CkptTest::TearDown();
  }
  bool has_temporary_step() const {
    for (const auto& e : fs::directory_iterator(ckpt_))
      if (e.path().filename().string().rfind(".tmp_", 0) == 0) return true;
    return false;
  }
  void expect_step_1_loads() {
    state_.clear();
    LoadOptions strict;
    strict.strict = true;
    const auto loaded = load_newest_checkpoint(MPI_COMM_WORLD, ckpt_, state_.view(), strict);
    ASSERT_TRUE(loaded);
    EXPECT_EQ(loaded->step, 1);
    EXPECT_EQ(state_.mismatches(1), 0);
    EXPECT_EQ(latest_step(ckpt_), 1);
  }

  SyntheticState state_{Layout{.scale = 40}};
  std::string ckpt_;
  bool mounted_ = false;
};

TEST_F(FullFilesystem, ShardWriteFailsWithEnospcAndTheStepBeforeStays) {
  state_.fill(1);
  save_checkpoint(MPI_COMM_WORLD, ckpt_, 1, state_.view());
  state_.fill(2);
  try {
    save_checkpoint(MPI_COMM_WORLD, ckpt_, 2, state_.view());
    FAIL() << "the save into a full filesystem succeeded";
  } catch (const Error& e) {
    EXPECT_EQ(e.sys_errno(), ENOSPC) << e.what();
    EXPECT_EQ(e.code(), ExitCode::config) << e.what();
    const std::string message = e.what();
    EXPECT_EQ(message.rfind("checkpoint filesystem full: the save of step 2 failed", 0), 0u) << message;
    EXPECT_NE(message.find(".tmp_step_00000002/shard_r00000.h5: write failed: No space left on device"),
              std::string::npos) << message;
  }
  EXPECT_FALSE(has_temporary_step());
  EXPECT_FALSE(fs::exists(ckpt_ + "/step_00000002"));
  expect_step_1_loads();
}

TEST_F(FullFilesystem, LifecycleRecordsTheFailedSaveInTheLedger) {
  const std::string ledger = dir() + "/ledger.jsonl";  // on the test's own filesystem, not the full one
  CheckpointLifecycle life(MPI_COMM_WORLD, {ckpt_, 0, 0, ledger});
  state_.fill(1);
  life.save_and_commit(1, state_.view());
  state_.fill(2);
  life.save_in_background(2, state_.view());
  EXPECT_THROW(life.finish(), Error);  // the background write failed: the commit says so
  EXPECT_FALSE(life.save_in_flight());
  EXPECT_FALSE(has_temporary_step());
  const auto events = read_ledger(ledger).events;
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["event"], "ckpt_save_failed");
  EXPECT_EQ(events[0]["details"]["errno"], ENOSPC);
  EXPECT_EQ(events[0]["details"]["step"], 2);
  EXPECT_EQ(events[0]["details"]["path"], ckpt_ + "/.tmp_step_00000002");
  EXPECT_EQ(events[0]["details"]["exit_code"], 3);
  expect_step_1_loads();
}

}  // namespace
}  // namespace sigma::ckpt::testing
