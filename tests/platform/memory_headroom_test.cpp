// What the machine lets a process allocate (platform/memory_headroom.hpp): MemAvailable, the memory cgroup (v1 and
// v2 layouts under a temporary root) and the process's RLIMIT_AS.
#include <gtest/gtest.h>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "sigma/platform/memory_headroom.hpp"

namespace sigma {
namespace {

namespace fs = std::filesystem;

class CgroupRoot : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("sigma_cgroup_" + std::to_string(getpid()));
    fs::remove_all(root_);
  }
  void TearDown() override { fs::remove_all(root_); }
  void write(const std::string& relative, const std::string& text) {
    fs::create_directories((root_ / relative).parent_path());
    std::ofstream(root_ / relative) << text;
  }
  fs::path root_;
};

TEST(MemAvailable, ParsedInBytes) {
  EXPECT_EQ(parse_mem_available("MemTotal:       24684368 kB\nMemFree:  1 kB\nMemAvailable:    2048 kB\n"),
            2048u * 1024);
  EXPECT_EQ(parse_mem_available("MemTotal:       24684368 kB\n"), std::nullopt);
}

TEST(MemAvailable, TheMachineHasSome) {
  bool found = false;
  for (const MemoryHeadroom& h : memory_headroom()) {
    if (h.source.rfind("MemAvailable", 0) != 0) continue;
    found = true;
    EXPECT_GT(h.bytes, 0u);
    EXPECT_FALSE(h.per_process);
  }
  EXPECT_TRUE(found);
}

TEST_F(CgroupRoot, Version2LimitLessUsage) {
  write("job_7/step_0/memory.max", "1073741824\n");
  write("job_7/step_0/memory.current", "73741824\n");
  const auto h = cgroup_headroom("0::/job_7/step_0\n", root_.string());
  ASSERT_TRUE(h);
  EXPECT_EQ(h->bytes, 1000000000u);
  EXPECT_FALSE(h->per_process);
  EXPECT_NE(h->source.find("job_7/step_0"), std::string::npos) << h->source;
}

TEST_F(CgroupRoot, Version2WithoutLimit) {
  write("job_7/memory.max", "max\n");
  write("job_7/memory.current", "73741824\n");
  EXPECT_FALSE(cgroup_headroom("0::/job_7\n", root_.string()));
}

TEST_F(CgroupRoot, Version1MemoryController) {
  write("memory/slurm/job_7/memory.limit_in_bytes", "2147483648\n");
  write("memory/slurm/job_7/memory.usage_in_bytes", "147483648\n");
  const auto h = cgroup_headroom("5:cpuset:/\n4:memory:/slurm/job_7\n1:name=systemd:/\n", root_.string());
  ASSERT_TRUE(h);
  EXPECT_EQ(h->bytes, 2000000000u);
}

TEST_F(CgroupRoot, Version1WithoutLimitOrFiles) {
  write("memory/job/memory.limit_in_bytes", "9223372036854771712\n");
  write("memory/job/memory.usage_in_bytes", "1\n");
  EXPECT_FALSE(cgroup_headroom("4:memory:/job\n", root_.string()));
  EXPECT_FALSE(cgroup_headroom("4:memory:/elsewhere\n", root_.string()));
  EXPECT_FALSE(cgroup_headroom("", root_.string()));
}

uint64_t vm_size_bytes() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("VmSize:", 0) == 0) return std::stoull(line.substr(7)) * 1024;
  return 0;
}

// In a child (the limit stays there): RLIMIT_AS set 1 GiB above what the process holds leaves about 1 GiB.
TEST(Rlimit, AddressSpaceLimitLessWhatTheProcessHolds) {
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    const uint64_t gib = uint64_t{1} << 30;
    rlimit limit{vm_size_bytes() + gib, RLIM_INFINITY};
    if (setrlimit(RLIMIT_AS, &limit) != 0) _exit(2);
    for (const MemoryHeadroom& h : memory_headroom())
      if (h.source.rfind("RLIMIT_AS", 0) == 0) _exit(h.per_process && h.bytes <= gib && h.bytes > gib / 2 ? 0 : 3);
    _exit(4);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "2: setrlimit failed, 3: wrong headroom, 4: RLIMIT_AS not reported";
}

TEST(FormatBytes, MiBAndGiB) {
  EXPECT_EQ(format_bytes(512ull << 20), "512.0 MiB");
  EXPECT_EQ(format_bytes(3ull << 30), "3.0 GiB");
}

}  // namespace
}  // namespace sigma
