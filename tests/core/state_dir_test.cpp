// paths.state_dir as root writes it: records round-trip, names are never paths, symlinks are never followed,
// and a directory others can write is refused. The validated-node cache's rules on top of it.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "sigma/core/error.hpp"
#include "sigma/policy/node_drains.hpp"
#include "sigma/core/state_dir.hpp"
#include "sigma/policy/validated_nodes.hpp"

using namespace sigma;

namespace {

class StateDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/sigma-state-test.XXXXXX";
    root_ = mkdtemp(pattern);
    chmod(root_.c_str(), 0755);
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  std::string root_;
};

}  // namespace

TEST_F(StateDirTest, RecordsRoundTripAndCanBeRemoved) {
  StateDir state(root_ + "/state");
  EXPECT_FALSE(state.read("jobs", "1.n1").has_value());
  state.write("jobs", "1.n1", {{"verdict", "pass"}});
  EXPECT_EQ(state.read("jobs", "1.n1")->at("verdict"), "pass");
  state.write("jobs", "1.n1", {{"verdict", "fail"}});  // replaced whole
  EXPECT_EQ(state.read("jobs", "1.n1")->at("verdict"), "fail");
  state.remove("jobs", "1.n1");
  state.remove("jobs", "1.n1");  // removing what is gone is fine
  EXPECT_FALSE(state.read("jobs", "1.n1").has_value());
  EXPECT_FALSE(std::filesystem::exists(root_ + "/state/jobs/.1.n1." + std::to_string(getpid()) + ".tmp"));
}

TEST_F(StateDirTest, NamesThatCouldBePathsAreRefused) {
  StateDir state(root_);
  for (const char* bad : {"", "..", "../x", "a/b", ".hidden", "n1\n", "x y", "é"}) {
    EXPECT_THROW(state.write("jobs", bad, {}), Error) << bad;
    EXPECT_THROW(state.write(bad, "n1", {}), Error) << bad;
  }
  EXPECT_TRUE(is_plain_name("n001.cluster-a_1"));
  EXPECT_TRUE(is_plain_name(std::string(255, 'a')));
  EXPECT_FALSE(is_plain_name(std::string(256, 'a')));
  EXPECT_THROW(state.write("jobs", std::string(512, 'a'), {}), Error);
}

TEST_F(StateDirTest, LongNodeNamesWithAJobIdMakeRecords) {
  StateDir state(root_);
  // A job's verdict is "<job>.<node>": a 60-character node name and a ten-digit job id, and the longest names.
  const std::string node60 = "gpu-node-" + std::string(51, 'x');
  ASSERT_EQ(node60.size(), 60u);
  ASSERT_TRUE(is_plain_name(node60));
  const std::string longest = std::string(255, 'n');
  for (const std::string& name : {"4294967294." + node60, "4294967294." + longest, longest + "." + longest}) {
    state.write("jobs", name, {{"verdict", "over_cap"}, {"name", name}});
    const auto record = state.read("jobs", name);
    ASSERT_TRUE(record.has_value()) << name.size();
    EXPECT_EQ(record->at("name"), name);
    state.remove("jobs", name);
    EXPECT_FALSE(state.read("jobs", name).has_value()) << name.size();
  }
  // Names alike but for their ends are different records, though each file name is cut short.
  const std::string a = "1." + longest + "a", b = "1." + longest + "b";
  state.write("jobs", a, {{"name", a}});
  state.write("jobs", b, {{"name", b}});
  EXPECT_EQ(state.read("jobs", a)->at("name"), a);
  EXPECT_EQ(state.read("jobs", b)->at("name"), b);
  for (const auto& entry : std::filesystem::directory_iterator(root_ + "/jobs")) {
    EXPECT_LE(entry.path().filename().string().size(), 200u);
  }
}

TEST_F(StateDirTest, SymlinksAreNeverFollowed) {
  StateDir state(root_);
  const std::string victim = root_ + "/victim";
  std::ofstream(victim) << "precious\n";
  std::filesystem::create_directory(root_ + "/jobs");
  std::filesystem::create_symlink(victim, root_ + "/jobs/1.n1");
  EXPECT_FALSE(state.read("jobs", "1.n1").has_value());
  state.write("jobs", "1.n1", {{"verdict", "pass"}});  // replaces the link itself
  std::ifstream in(victim);
  std::string text;
  std::getline(in, text);
  EXPECT_EQ(text, "precious");
  EXPECT_FALSE(std::filesystem::is_symlink(root_ + "/jobs/1.n1"));
  // A symlinked area is refused outright.
  std::filesystem::create_directory(root_ + "/elsewhere");
  std::filesystem::create_directory_symlink(root_ + "/elsewhere", root_ + "/validated");
  EXPECT_THROW(state.write("validated", "n1", {}), Error);
}

TEST_F(StateDirTest, ADirectoryOthersCanWriteIsRefusedByRoot) {
  if (geteuid() != 0) GTEST_SKIP() << "ownership checks apply to root";
  chmod(root_.c_str(), 0777);
  try {
    StateDir state(root_);
    FAIL() << "accepted a world-writable directory";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::config);
    EXPECT_NE(std::string(e.what()).find("must be owned by root and not writable by other users"), std::string::npos);
  }
  chmod(root_.c_str(), 0755);
  ASSERT_EQ(chown(root_.c_str(), 65534, 65534), 0);
  EXPECT_THROW(StateDir{root_}, Error);
}

TEST_F(StateDirTest, ATornRecordCountsAsNone) {
  StateDir state(root_);
  std::filesystem::create_directory(root_ + "/validated");
  std::ofstream(root_ + "/validated/n1") << "{\"level\": \"ext";
  EXPECT_FALSE(node_validation(state, "n1").has_value());
}

TEST(ValidatedNodes, ACachedPassCoversTheSameOrAWeakerLevelWithinTheTtlOnThisBoot) {
  const NodeValidation standard{"standard", 1000, "boot-a"};
  EXPECT_TRUE(validation_covers(standard, PreflightLevel::quick, 600, 1100, "boot-a"));
  EXPECT_TRUE(validation_covers(standard, PreflightLevel::standard, 600, 1599, "boot-a"));
  EXPECT_FALSE(validation_covers(standard, PreflightLevel::extended, 600, 1100, "boot-a"));  // stronger level
  EXPECT_FALSE(validation_covers(standard, PreflightLevel::quick, 600, 1600, "boot-a"));     // expired
  EXPECT_FALSE(validation_covers(standard, PreflightLevel::quick, 600, 900, "boot-a"));      // from the future
  EXPECT_FALSE(validation_covers(standard, PreflightLevel::quick, 600, 1100, "boot-b"));     // rebooted since
  EXPECT_FALSE(validation_covers(standard, PreflightLevel::quick, 0, 1000, "boot-a"));       // caching off
  EXPECT_FALSE(validation_covers(std::nullopt, PreflightLevel::quick, 600, 1000, "boot-a"));
  EXPECT_FALSE(validation_covers(NodeValidation{"bogus", 1000, "boot-a"}, PreflightLevel::quick, 600, 1000, "boot-a"));
}

TEST_F(StateDirTest, RecordAndForgetANode) {
  StateDir state(root_);
  record_node_passed(state, "n7", "extended", now_seconds());
  ASSERT_TRUE(node_validation(state, "n7").has_value());
  EXPECT_TRUE(validation_covers(node_validation(state, "n7"), PreflightLevel::standard, 60, now_seconds(), current_boot_id()));
  forget_node(state, "n7");
  EXPECT_FALSE(node_validation(state, "n7").has_value());
}

// The drain history: what a flapping node is recognised by.
TEST_F(StateDirTest, DrainHistoryCountsWithinTheWindowAndKeepsTheLatest) {
  StateDir state(root_ + "/state");
  EXPECT_TRUE(node_drain_times(state, "n1").empty());
  for (int i = 0; i < 70; ++i) record_node_drain(state, "n1", 1000.0 + i);
  const auto times = node_drain_times(state, "n1");
  ASSERT_EQ(times.size(), kMaxDrainTimes);
  EXPECT_EQ(times.front(), 1000.0 + 70 - kMaxDrainTimes);
  EXPECT_EQ(last_drain(times), 1069.0);
  EXPECT_EQ(drains_within(times, 1069.5, 10), 10u);
  EXPECT_TRUE(node_drain_times(state, "n2").empty());

  RecycleConfig recycle;
  recycle.flap_drains = 3;
  recycle.flap_window_s = 60;
  EXPECT_FALSE(is_flapping(2, recycle));
  EXPECT_TRUE(is_flapping(3, recycle));
  EXPECT_EQ(flapping_reason(3, recycle), "sigma: flapping 3 drains in 60 s");
  EXPECT_TRUE(is_flapping_reason(flapping_reason(3, recycle)));
  EXPECT_FALSE(is_flapping_reason("sigma: gemm sdc 3/4096"));
  recycle.flap_drains = 0;  // off
  EXPECT_FALSE(is_flapping(1000, recycle));

  EXPECT_TRUE(recently_drained(state, "n1", recycle, 1069.0 + 30));
  EXPECT_FALSE(recently_drained(state, "n1", recycle, 1069.0 + 61));
  EXPECT_FALSE(recently_drained(state, "n2", recycle, 1069.0));
}
