// The files root writes and reads (trusted_path.hpp, durable_file.hpp): nothing is written through a link,
// a directory another user can write (or one below it) is refused, a file is replaced whole, and reads refuse
// what is not a regular file or is too large, without blocking.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include <fmt/format.h>

#include "sigma/core/durable_file.hpp"
#include "sigma/core/error.hpp"
#include "sigma/policy/site_config.hpp"
#include "sigma/core/trusted_path.hpp"

using namespace sigma;
namespace fs = std::filesystem;

namespace {

std::string contents(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void put(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

ExitCode code_of(const std::function<void()>& body) {
  try {
    body();
  } catch (const Error& e) {
    return e.code();
  }
  return ExitCode::ok;
}

class DurableFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/sigma-durable-test.XXXXXX";
    dir_ = mkdtemp(pattern);
    chmod(dir_.c_str(), 0755);
    victim_ = dir_ + "/victim";
    put(victim_, "precious\n");
  }
  void TearDown() override { fs::remove_all(dir_); }
  static bool root() { return geteuid() == 0; }
  std::string dir_;
  std::string victim_;
};

}  // namespace

TEST_F(DurableFileTest, ReplacesWholeAndLeavesNoTempFile) {
  write_file_durably(dir_ + "/out", "one\n");
  write_file_durably(dir_ + "/out", "two\n");
  EXPECT_EQ(contents(dir_ + "/out"), "two\n");
  for (const auto& entry : fs::directory_iterator(dir_)) EXPECT_EQ(entry.path().filename().string()[0] != '.', true);
}

TEST_F(DurableFileTest, APlantedLinkAtTheTempNameIsNotFollowed) {
  const std::string temp = fmt::format("{}/.out.{}.tmp", dir_, getpid());
  fs::create_symlink(victim_, temp);
  write_file_durably(dir_ + "/out", "new\n");
  EXPECT_EQ(contents(victim_), "precious\n");
  EXPECT_EQ(contents(dir_ + "/out"), "new\n");
}

TEST_F(DurableFileTest, AppendRefusesALinkAndKeepsItsTarget) {
  fs::create_symlink(victim_, dir_ + "/ledger.jsonl");
  EXPECT_EQ(code_of([&] { append_file_durably(dir_ + "/ledger.jsonl", "forged\n"); }), ExitCode::config);
  EXPECT_EQ(contents(victim_), "precious\n");
  append_file_durably(dir_ + "/real.jsonl", "a\n");
  append_file_durably(dir_ + "/real.jsonl", "b\n");
  EXPECT_EQ(contents(dir_ + "/real.jsonl"), "a\nb\n");
}

TEST_F(DurableFileTest, RootRefusesADirectoryOthersCanWrite) {
  if (!root()) GTEST_SKIP() << "the ownership rules apply to root";
  fs::create_directory(dir_ + "/open");
  chmod((dir_ + "/open").c_str(), 01777);  // even sticky: root writes only where no one else can
  try {
    write_file_durably(dir_ + "/open/out", "x");
    FAIL() << "expected a refusal";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::config);
    EXPECT_NE(std::string(e.what()).find("directory " + dir_ + "/open must be owned by root"), std::string::npos)
        << e.what();
  }
  EXPECT_FALSE(fs::exists(dir_ + "/open/out"));
}

TEST_F(DurableFileTest, RootRefusesADirectoryBelowOneOthersCanWrite) {
  if (!root()) GTEST_SKIP() << "the ownership rules apply to root";
  fs::create_directories(dir_ + "/open/safe");
  chmod((dir_ + "/open").c_str(), 0777);  // a user could rename "safe" away and put their own in its place
  chmod((dir_ + "/open/safe").c_str(), 0755);
  EXPECT_EQ(code_of([&] { write_file_durably(dir_ + "/open/safe/out", "x"); }), ExitCode::config);
  chmod((dir_ + "/open").c_str(), 01777);  // sticky, like /tmp: entries cannot be renamed by others
  write_file_durably(dir_ + "/open/safe/out", "x");
  EXPECT_EQ(contents(dir_ + "/open/safe/out"), "x");
  chown((dir_ + "/open/safe").c_str(), 65534, 65534);  // owned by another user
  EXPECT_EQ(code_of([&] { write_file_durably(dir_ + "/open/safe/out", "y"); }), ExitCode::config);
}

TEST_F(DurableFileTest, ReadsRefuseWhatIsNotARegularFileWithoutBlocking) {
  const std::string fifo = dir_ + "/fifo";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_EQ(code_of([&] { read_regular_file(fifo, 100, "site config"); }), ExitCode::config);
  EXPECT_EQ(code_of([&] { read_regular_file("/dev/zero", 100, "site config"); }), ExitCode::config);
  EXPECT_EQ(code_of([&] { read_regular_file(dir_, 100, "site config"); }), ExitCode::config);
  EXPECT_EQ(code_of([&] { read_regular_file(dir_ + "/none", 100, "site config"); }), ExitCode::not_found);
  put(dir_ + "/big", std::string(101, 'x'));
  EXPECT_EQ(code_of([&] { read_regular_file(dir_ + "/big", 100, "site config"); }), ExitCode::config);
  EXPECT_EQ(read_regular_file(dir_ + "/big", 101, "site config").size(), 101u);
}

TEST_F(DurableFileTest, AdminConfigIsReadOnlyBelowDirectoriesOnlyRootCanChange) {
  if (!root()) GTEST_SKIP() << "the ownership rules apply to root";
  fs::create_directories(dir_ + "/open/etc");
  chmod((dir_ + "/open/etc").c_str(), 0755);
  const std::string config = dir_ + "/open/etc/site.yaml";
  put(config, "cluster:\n  name: c\n");
  chmod((dir_ + "/open").c_str(), 0755);
  EXPECT_EQ(load_site_config_as_admin(config).cluster.name, "c");
  EXPECT_EQ(admin_trust_problem(config), "");
  chmod((dir_ + "/open").c_str(), 0777);  // a user could swap etc/ for their own between check and open
  EXPECT_EQ(code_of([&] { load_site_config_as_admin(config); }), ExitCode::config);
  EXPECT_NE(admin_trust_problem(config).find(dir_ + "/open"), std::string::npos);
  chmod((dir_ + "/open").c_str(), 0755);
  fs::create_symlink(config, dir_ + "/open/etc/link.yaml");  // a link is never followed to the config
  EXPECT_EQ(code_of([&] { load_site_config_as_admin(dir_ + "/open/etc/link.yaml"); }), ExitCode::config);
  chmod(config.c_str(), 0666);
  EXPECT_EQ(code_of([&] { load_site_config_as_admin(config); }), ExitCode::config);
  EXPECT_NE(admin_trust_problem(config), "");
}

// A full or over-quota filesystem stops a job once with config (never internal: not a bug; never a node fault).
TEST(ExitCodeForErrno, AFullFilesystemIsTheEnvironmentsToFix) {
  EXPECT_EQ(exit_code_for_errno(ENOSPC), ExitCode::config);
  EXPECT_EQ(exit_code_for_errno(EDQUOT), ExitCode::config);
  EXPECT_EQ(exit_code_for_errno(EROFS), ExitCode::config);
  EXPECT_EQ(exit_code_for_errno(ENOENT), ExitCode::not_found);
  EXPECT_EQ(exit_code_for_errno(EIO), ExitCode::internal);
}
