// Heartbeat files go through core's durable-file helper: a link planted where a beat's temp file or the beat
// itself will be is never followed, a reader never sees half a beat, and a new attempt starts without the temp
// files of a writer killed mid-write.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include <fmt/format.h>

#include "sigma/core/heartbeat.hpp"
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
