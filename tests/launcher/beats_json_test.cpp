// `sigma-launch beats`: a heartbeat directory as one JSON object through core's reader, in rank order, every
// field a beat file holds; no directory gives no beats, and a file that is no beat is left out.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "sigma/contracts/heartbeat.hpp"
#include "sigma/launcher/beats_json.hpp"

namespace sigma::launch {
namespace {

class BeatsJsonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/sigma-beats-json-test.XXXXXX";
    dir_ = mkdtemp(pattern);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_F(BeatsJsonTest, EveryRanksBeatInRankOrder) {
  setenv(env::kHeartbeatAttempt, "4242.2", 1);
  write_heartbeat(dir_, {1, 120, 1000.5, "n2", 100, 990.25, 991.5, 995.75});
  write_heartbeat(dir_, {0, 121, 1000.25, "n1", 100, 990, 991.25, 995.5});
  unsetenv(env::kHeartbeatAttempt);
  std::ofstream(dir_ + "/rank-7") << "not a beat";
  const auto json = heartbeats_json(dir_);
  EXPECT_EQ(json["dir"], dir_);
  ASSERT_EQ(json["beats"].size(), 2u);
  const auto& first = json["beats"][0];
  EXPECT_EQ(first["rank"], 0);
  EXPECT_EQ(first["step"], 121);
  EXPECT_EQ(first["time"], 1000.25);
  EXPECT_EQ(first["node"], "n1");
  EXPECT_EQ(first["resumed_from"], 100);
  EXPECT_EQ(first["started_at"], 990);
  EXPECT_EQ(first["mpi_ready_at"], 991.25);
  EXPECT_EQ(first["ready_at"], 995.5);
  EXPECT_EQ(first["attempt"], "4242.2");
  EXPECT_EQ(json["beats"][1]["rank"], 1);
  EXPECT_EQ(json["beats"][1]["ready_at"], 995.75);
}

TEST_F(BeatsJsonTest, NoDirectoryNoBeats) {
  const auto json = heartbeats_json(dir_ + "/missing");
  EXPECT_TRUE(json["beats"].is_array());
  EXPECT_TRUE(json["beats"].empty());
  EXPECT_TRUE(json["liveness"].empty());
  EXPECT_TRUE(json["stragglers"].empty());
  EXPECT_TRUE(json["blame"].is_null());
}

TEST_F(BeatsJsonTest, StragglerFlagsAndTheBlameToo) {
  write_straggler_flag(dir_, {2, "n3"});
  write_blame(dir_, {1, "n2"});
  const auto json = heartbeats_json(dir_);
  ASSERT_EQ(json["stragglers"].size(), 1u);
  EXPECT_EQ(json["stragglers"][0]["rank"], 2);
  EXPECT_EQ(json["stragglers"][0]["node"], "n3");
  EXPECT_EQ(json["blame"]["rank"], 1);
  EXPECT_EQ(json["blame"]["node"], "n2");
}

}  // namespace
}  // namespace sigma::launch
