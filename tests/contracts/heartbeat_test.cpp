// Heartbeat files go through core's durable-file helper: a link planted where a beat's temp file or the beat
// itself will be is never followed, a reader never sees half a beat, and a new attempt starts without the temp
// files of a writer killed mid-write. A malformed file is skipped (said once), a directory another user can
// write is refused, every record names its attempt, and the probe tells a full directory.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <fmt/format.h>

#include "sigma/core/error.hpp"
#include "sigma/contracts/heartbeat.hpp"
#include "sigma/core/trusted_path.hpp"

using namespace sigma;
namespace fs = std::filesystem;

namespace {

class HeartbeatFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/sigma-heartbeat-test.XXXXXX";
    root_ = mkdtemp(pattern);
    dir_ = root_ + "/beats";
    fs::create_directory(dir_);
    victim_ = root_ + "/victim";
    std::ofstream(victim_) << "precious\n";
  }
  void TearDown() override { fs::remove_all(root_); }
  // Links to the victim at a file's name, its temp name and the temp name writers used before (name.tmp).
  void plant_links(const std::string& name) {
    for (const auto& link : {name, fmt::format(".{}.{}.tmp", name, getpid()), name + ".tmp"}) {
      fs::create_symlink(victim_, dir_ + "/" + link);
    }
  }
  std::string root_, dir_, victim_;
};

}  // namespace

TEST_F(HeartbeatFileTest, PlantedLinksAreNotFollowed) {
  plant_links("rank-3");
  plant_links("straggler-3");
  plant_links("blame-3");
  write_heartbeat(dir_, {3, 17, 123.5, "n9", 10});
  write_straggler_flag(dir_, {3, "n9"});
  write_blame(dir_, {3, "n9"});
  EXPECT_EQ(read_regular_file(victim_, 1024, "victim"), "precious\n");
  for (const char* name : {"rank-3", "straggler-3", "blame-3"}) {
    struct stat st {};
    ASSERT_EQ(lstat((dir_ + "/" + name).c_str(), &st), 0) << name;
    EXPECT_TRUE(S_ISREG(st.st_mode)) << name << ": the link was replaced by the file, not written through";
  }
  const auto beats = read_heartbeats(dir_);
  ASSERT_EQ(beats.size(), 1u);
  EXPECT_EQ(beats[0].step, 17);
  EXPECT_EQ(read_blame(dir_)->node, "n9");
}

TEST_F(HeartbeatFileTest, ReadersNeverSeeHalfAHeartbeat) {
  // Large beats (a long node name, within the readers' 64 KiB bound), rewritten as fast as possible while
  // another thread reads: every read must parse whole, with the node name that belongs to its step.
  constexpr std::size_t kNodeBytes = 48 * 1024;
  auto node_of = [](long step) { return std::string(kNodeBytes, static_cast<char>('a' + step % 26)); };
  write_heartbeat(dir_, {0, 0, 1.0, node_of(0), 0});
  std::atomic<bool> stop = false;
  std::thread writer([&] {
    for (long step = 1; !stop; ++step) write_heartbeat(dir_, {0, step, 1.0, node_of(step), 0});
  });
  int reads = 0, whole = 0;
  for (; reads < 300; ++reads) {
    const auto beats = read_heartbeats(dir_);
    whole += beats.size() == 1 && beats[0].node == node_of(beats[0].step);
  }
  stop = true;
  writer.join();
  EXPECT_EQ(whole, reads);
}

TEST_F(HeartbeatFileTest, ResetRemovesBeatsAndTempFilesOfKilledWriters) {
  write_heartbeat(dir_, {1, 5, 1.0, "n1", 0});
  std::ofstream(dir_ + "/.rank-1.999999.tmp") << "{\"rank\": 1";  // a writer killed before its rename
  std::ofstream(dir_ + "/notes.txt") << "not ours";
  reset_heartbeat_dir(dir_);
  EXPECT_TRUE(read_heartbeats(dir_).empty());
  EXPECT_FALSE(fs::exists(dir_ + "/.rank-1.999999.tmp"));
  EXPECT_TRUE(fs::exists(dir_ + "/notes.txt"));
}

TEST_F(HeartbeatFileTest, AFifoInTheDirectoryIsSkippedWithoutBlocking) {
  ASSERT_EQ(mkfifo((dir_ + "/rank-2").c_str(), 0644), 0);
  write_heartbeat(dir_, {1, 5, 1.0, "n1", 0});
  const auto beats = read_heartbeats(dir_);  // blocked forever here when the FIFO was opened for reading
  ASSERT_EQ(beats.size(), 1u);
  EXPECT_EQ(beats[0].rank, 1);
}

TEST_F(HeartbeatFileTest, MalformedFilesAreSkippedAndSaidOnce) {
  // A beat whose fields have other types (the supervisor died of a JSON type error on "step":"x" before), a rank
  // that is not the file's, a number too large for its field, flags and liveness that are not records.
  write_heartbeat(dir_, {0, 5, 1.0, "n1", 0});
  const std::string fields = R"("time": 1.0, "node": "n1", "resumed_from": 0, "started_at": 0, "mpi_ready_at": 0, "ready_at": 0)";
  std::ofstream(dir_ + "/rank-1") << R"({"rank": 1, "step": "x", )" << fields << "}";
  std::ofstream(dir_ + "/rank-2") << R"({"rank": 2, "step": 1e300, )" << fields << "}";
  std::ofstream(dir_ + "/rank-3") << R"({"rank": 4, "step": 7, )" << fields << "}";
  std::ofstream(dir_ + "/rank-4") << R"({"rank": 4, "step": 18446744073709551615, )" << fields << "}";
  std::ofstream(dir_ + "/rank-5") << "[1, 2]";
  std::ofstream(dir_ + "/alive-1") << R"({"time": "soon"})";
  std::ofstream(dir_ + "/straggler-1") << R"({"rank": 1, "node": 5})";
  std::ofstream(dir_ + "/blame-1") << R"({"rank": "1", "node": "n2"})";
  testing::internal::CaptureStderr();
  for (int pass = 0; pass < 2; ++pass) {
    const auto beats = read_heartbeats(dir_);
    ASSERT_EQ(beats.size(), 1u);
    EXPECT_EQ(beats[0].rank, 0);
    EXPECT_TRUE(read_liveness(dir_).empty());
    EXPECT_TRUE(read_straggler_flags(dir_).empty());
    EXPECT_FALSE(read_blame(dir_).has_value());
  }
  const std::string said = testing::internal::GetCapturedStderr();
  EXPECT_NE(said.find(dir_ + "/rank-1 skipped: \"step\": expected an integer"), std::string::npos) << said;
  EXPECT_NE(said.find(dir_ + "/rank-3 skipped: \"rank\": 4 in the file of rank 3"), std::string::npos) << said;
  for (const char* name : {"rank-1", "rank-2", "rank-3", "rank-4", "rank-5", "alive-1", "straggler-1", "blame-1"}) {
    const std::string line = dir_ + "/" + name + " skipped";
    const auto first = said.find(line);
    EXPECT_NE(first, std::string::npos) << name << ": " << said;
    EXPECT_EQ(said.find(line, first + 1), std::string::npos) << name << ": said twice";
  }
}

TEST_F(HeartbeatFileTest, ADirectoryOthersCanWriteIsRefused) {
  auto refusal = [&](const std::string& dir) -> std::string {
    try {
      reset_heartbeat_dir(dir);
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ExitCode::config) << e.what();
      return e.what();
    }
    return "";
  };
  EXPECT_EQ(refusal(dir_), "");
  ASSERT_EQ(chmod(dir_.c_str(), 0777), 0);
  EXPECT_NE(refusal(dir_).find("writable by group or others (mode 0777)"), std::string::npos) << refusal(dir_);
  ASSERT_EQ(chmod(dir_.c_str(), 0775), 0);
  EXPECT_NE(refusal(dir_).find("writable by group or others (mode 0775)"), std::string::npos);
  ASSERT_EQ(chmod(dir_.c_str(), 0755), 0);
  ASSERT_EQ(chown(dir_.c_str(), geteuid() + 1, static_cast<gid_t>(-1)), 0);
  EXPECT_NE(refusal(dir_).find(fmt::format("owned by uid {}, not by this job's uid {}", geteuid() + 1, geteuid())),
            std::string::npos) << refusal(dir_);
  ASSERT_EQ(chown(dir_.c_str(), geteuid(), static_cast<gid_t>(-1)), 0);
  fs::create_directory_symlink(dir_, root_ + "/link");
  EXPECT_NE(refusal(root_ + "/link").find("a symbolic link"), std::string::npos);
}

TEST_F(HeartbeatFileTest, AMissingDirectoryIsCreatedForItsUserOnly) {
  const mode_t old = umask(002);  // a site's umask that makes new directories group-writable
  const std::string fresh = root_ + "/run/heartbeats/";
  reset_heartbeat_dir(fresh);
  umask(old);
  struct stat st {};
  ASSERT_EQ(stat(fresh.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u);
  EXPECT_EQ(st.st_uid, geteuid());
  reset_heartbeat_dir(fresh);  // and accepted the next time
}

TEST_F(HeartbeatFileTest, EveryRecordCarriesTheAttemptItWasWrittenFor) {
  // A rank of an aborted attempt that thaws after the restart writes on, into the same directory.
  ASSERT_EQ(setenv(env::kHeartbeatAttempt, "77.1", 1), 0);
  write_heartbeat(dir_, {1, 900, 50.0, "n2", 0});
  write_straggler_flag(dir_, {1, "n2"});
  write_blame(dir_, {1, "n2"});
  {
    LivenessBeat alive(dir_, 1);
    for (int i = 0; i < 100 && read_liveness(dir_).empty(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(setenv(env::kHeartbeatAttempt, "77.2", 1), 0);
  write_heartbeat(dir_, {0, 3, 60.0, "n3", 500});
  unsetenv(env::kHeartbeatAttempt);

  const auto all = read_heartbeats(dir_);
  ASSERT_EQ(all.size(), 2u);
  const auto ours = read_heartbeats(dir_, "77.2");
  ASSERT_EQ(ours.size(), 1u);
  EXPECT_EQ(ours[0].rank, 0);
  EXPECT_EQ(ours[0].attempt, "77.2");
  EXPECT_EQ(read_heartbeats(dir_, "77.1")[0].attempt, "77.1");
  EXPECT_TRUE(read_liveness(dir_, "77.2").empty());
  EXPECT_EQ(read_liveness(dir_, "77.1").size(), 1u);
  EXPECT_TRUE(read_straggler_flags(dir_, "77.2").empty());
  EXPECT_FALSE(read_blame(dir_, "77.2").has_value());
  EXPECT_EQ(read_blame(dir_, "77.1")->node, "n2");
  // Outside a supervised step the attempt is "".
  write_heartbeat(dir_, {2, 1, 61.0, "n1", 0});
  EXPECT_EQ(read_heartbeats(dir_, "").size(), 1u);
}

TEST_F(HeartbeatFileTest, LivenessNamesItsNodeWhenItKnowsIt) {
  // A rank's liveness places it (SLURMD_NODENAME) before its first progress beat; written outside Slurm, or by a
  // writer that left the node out, it names none; a node that is not a string is a malformed record.
  ASSERT_EQ(setenv("SLURMD_NODENAME", "n5", 1), 0);
  {
    LivenessBeat alive(dir_, 2);
    for (int i = 0; i < 100 && read_liveness(dir_).empty(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  unsetenv("SLURMD_NODENAME");
  std::ofstream(dir_ + "/alive-3") << R"({"time": 7.5})";
  std::ofstream(dir_ + "/alive-4") << R"({"time": 7.5, "node": 4})";
  testing::internal::CaptureStderr();
  auto liveness = read_liveness(dir_);
  const std::string said = testing::internal::GetCapturedStderr();
  std::sort(liveness.begin(), liveness.end(), [](const Liveness& a, const Liveness& b) { return a.rank < b.rank; });
  ASSERT_EQ(liveness.size(), 2u);
  EXPECT_EQ(liveness[0].rank, 2);
  EXPECT_EQ(liveness[0].node, "n5");
  EXPECT_EQ(liveness[1].rank, 3);
  EXPECT_EQ(liveness[1].node, "");
  EXPECT_DOUBLE_EQ(liveness[1].time, 7.5);
  EXPECT_NE(said.find(dir_ + "/alive-4 skipped: \"node\": expected a string"), std::string::npos) << said;
}

TEST_F(HeartbeatFileTest, TheProbeWritesAndRemovesAFile) {
  EXPECT_EQ(probe_heartbeat_dir(dir_), "");
  EXPECT_TRUE(fs::is_empty(dir_));
  const std::string why = probe_heartbeat_dir(root_ + "/missing");
  EXPECT_NE(why.find("No such file or directory"), std::string::npos) << why;
}

TEST_F(HeartbeatFileTest, TheProbeFailsInAFullDirectory) {
  // A 64 KiB tmpfs, filled: creating a file still works there, writing a block does not.
  const std::string full = root_ + "/full";
  fs::create_directory(full);
  if (mount("sigma-test", full.c_str(), "tmpfs", 0, "size=64k,mode=0755") != 0) GTEST_SKIP() << "cannot mount a tmpfs here";
  {
    std::ofstream fill(full + "/fill");
    const std::string block(4096, 'x');
    for (int i = 0; i < 64 && fill; ++i) fill << block << std::flush;
  }
  const std::string why = probe_heartbeat_dir(full);
  umount(full.c_str());
  EXPECT_NE(why.find("No space left on device"), std::string::npos) << why;
}
