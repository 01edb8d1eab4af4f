// The event ledger: many processes appending at once lose and tear nothing; a torn tail is skipped on read; a
// lock someone else holds never stalls a writer; the file is private to its owner.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>

#include "sigma/core/error.hpp"
#include "sigma/contracts/ledger.hpp"

namespace fs = std::filesystem;
using namespace sigma;

namespace {

fs::path fresh_dir(const std::string& name) {
  fs::path dir = fs::temp_directory_path() / ("sigma-ledger-test-" + name + "-" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

Event make_event(int writer, int sequence) {
  Event e;
  e.component = "test";
  e.event = "append";
  // A long detail makes each line several KiB, so torn or interleaved writes would show.
  e.details = {{"writer", writer}, {"seq", sequence}, {"pad", std::string(3000, 'a' + writer)}};
  return e;
}

mode_t mode_of(const fs::path& path) {
  struct stat st {};
  EXPECT_EQ(stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

// A process that opens `path` read-only, as any user who can open it may, and holds `operation` (LOCK_EX or
// LOCK_SH) on it for `seconds`; returns once the lock is held.
pid_t hold_lock(const fs::path& path, int operation, int seconds) {
  int ready[2];
  EXPECT_EQ(pipe(ready), 0);
  const pid_t pid = fork();
  if (pid == 0) {
    const int fd = open(path.c_str(), O_RDONLY);
    if (fd < 0 || flock(fd, operation) != 0 || write(ready[1], "x", 1) != 1) _exit(1);
    sleep(static_cast<unsigned>(seconds));
    _exit(0);
  }
  close(ready[1]);
  char byte = 0;
  EXPECT_EQ(read(ready[0], &byte, 1), 1) << "the lock holder did not start";
  close(ready[0]);
  return pid;
}

// What a LedgerWriter warned while recording one event ("" when it wrote it).
std::string warning_of_record(const fs::path& path, int sequence) {
  std::string warning;
  LedgerWriter(path, Component::launcher, "test", [&](const std::string& line) { warning = line; })
      .record(LedgerEvent::step_started, {{"seq", sequence}});
  return warning;
}

}  // namespace

TEST(Ledger, AHeldLockDoesNotStallAWriter) {
  for (const int operation : {LOCK_EX, LOCK_SH}) {
    const fs::path path = fresh_dir("held-lock") / "events.jsonl";
    append_event(path, make_event(0, 0));
    const pid_t holder = hold_lock(path, operation, 10);
    const auto start = std::chrono::steady_clock::now();
    const std::string error = warning_of_record(path, 1);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    kill(holder, SIGKILL);
    waitpid(holder, nullptr, 0);
    EXPECT_EQ(error, "") << operation;
    EXPECT_LT(seconds, 3) << "a lock held by another process stalled the writer (operation " << operation << ")";
    const LedgerContents contents = read_ledger(path);
    ASSERT_EQ(contents.events.size(), 2u) << operation;  // written without the lock, whole
    EXPECT_EQ(contents.events[1]["details"]["seq"], 1);
    EXPECT_FALSE(contents.torn_tail);
  }
}

TEST(Ledger, ANewLedgerIsPrivate) {
  const fs::path path = fresh_dir("private") / "events.jsonl";
  const mode_t old_mask = umask(022);
  append_event(path, make_event(0, 0));
  umask(old_mask);
  EXPECT_EQ(mode_of(path), 0600u);
}

TEST(Ledger, AnOpenLedgerOfTheWritersOwnIsMadePrivate) {
  const fs::path path = fresh_dir("tighten") / "events.jsonl";
  { std::ofstream(path) << ""; }
  ASSERT_EQ(chmod(path.c_str(), 0666), 0);
  append_event(path, make_event(0, 0));
  EXPECT_EQ(mode_of(path), 0600u);
  EXPECT_EQ(read_ledger(path).events.size(), 1u);
}

TEST(Ledger, RootRefusesALedgerAnotherUserOwns) {
  if (geteuid() != 0) GTEST_SKIP() << "the ownership rule applies to root";
  const fs::path dir = fresh_dir("foreign");
  ASSERT_EQ(chmod(dir.c_str(), 0755), 0);
  const fs::path path = dir / "events.jsonl";
  { std::ofstream(path) << ""; }
  ASSERT_EQ(chown(path.c_str(), 65534, 65534), 0);
  ASSERT_EQ(chmod(path.c_str(), 0644), 0);
  const std::string error = warning_of_record(path, 0);
  EXPECT_NE(error.find(path.string() + ": cannot append to the event ledger: " + path.string() +
                       ": owned by uid 65534, not root"),
            std::string::npos)
      << error;
  EXPECT_EQ(fs::file_size(path), 0u);
  EXPECT_EQ(mode_of(path), 0644u);  // not root's file: left alone
}

TEST(Ledger, AppendFillsTimeHostAndJob) {
  fs::path path = fresh_dir("fill") / "events.jsonl";
  setenv("SLURM_JOB_ID", "4242", 1);
  append_event(path, make_event(0, 1));
  unsetenv("SLURM_JOB_ID");
  LedgerContents contents = read_ledger(path);
  ASSERT_EQ(contents.events.size(), 1u);
  const auto& e = contents.events[0];
  EXPECT_EQ(e["job_id"], "4242");
  EXPECT_FALSE(e["host"].get<std::string>().empty());
  EXPECT_EQ(e["time"].get<std::string>().size(), std::string("2026-11-25T03:38:38.123456Z").size());
  EXPECT_EQ(e["details"]["seq"], 1);
}

TEST(Ledger, ConcurrentWritersLoseAndTearNothing) {
  constexpr int kWriters = 4;
  constexpr int kLinesEach = 10000;
  fs::path path = fresh_dir("concurrent") / "events.jsonl";
  std::vector<pid_t> children;
  for (int w = 0; w < kWriters; ++w) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      for (int i = 0; i < kLinesEach; ++i) append_event(path, make_event(w, i));
      _exit(0);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  LedgerContents contents = read_ledger(path);
  EXPECT_FALSE(contents.torn_tail);
  EXPECT_TRUE(contents.bad_lines.empty()) << contents.bad_lines.front();
  ASSERT_EQ(contents.events.size(), size_t(kWriters * kLinesEach));
  // Each writer's lines are all there, in its own order, with intact payloads.
  std::map<int, int> next_seq;
  for (const auto& e : contents.events) {
    int writer = e["details"]["writer"];
    EXPECT_EQ(e["details"]["seq"].get<int>(), next_seq[writer]++);
    EXPECT_EQ(e["details"]["pad"].get<std::string>(), std::string(3000, 'a' + writer));
  }
  for (int w = 0; w < kWriters; ++w) EXPECT_EQ(next_seq[w], kLinesEach);
}

TEST(Ledger, TornTailIsSkippedAndReported) {
  fs::path path = fresh_dir("torn") / "events.jsonl";
  append_event(path, make_event(0, 0));
  append_event(path, make_event(0, 1));
  { std::ofstream(path, std::ios::app) << R"({"time":"2026-11-25T00:00:00Z","host":"n1","ev)"; }
  LedgerContents contents = read_ledger(path);
  EXPECT_TRUE(contents.torn_tail);
  EXPECT_EQ(contents.events.size(), 2u);
  // The next writer starts a fresh line after the torn one; only the torn fragment is lost.
  { std::ofstream(path, std::ios::app) << "\n"; }
  append_event(path, make_event(0, 2));
  contents = read_ledger(path);
  EXPECT_EQ(contents.events.size(), 3u);
  EXPECT_EQ(contents.bad_lines.size(), 1u);
}

TEST(Ledger, MissingLedgerIsNotFound) {
  try {
    read_ledger("/nonexistent/events.jsonl");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::not_found);
  }
}

TEST(Ledger, UnwritablePathNamesTheFile) {
  try {
    append_event("/nonexistent/dir/events.jsonl", make_event(0, 0));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::not_found);
    EXPECT_NE(std::string(e.what()).find("/nonexistent/dir/events.jsonl: cannot append to the event ledger"),
              std::string::npos)
        << e.what();
  }
}

TEST(LedgerWriter, WritesTheEventsNameAndComponentAndWarnsOnlyWhenItCannot) {
  const fs::path path = fresh_dir("writer") / "events.jsonl";
  EXPECT_EQ(warning_of_record(path, 7), "");
  const LedgerContents contents = read_ledger(path);
  ASSERT_EQ(contents.events.size(), 1u);
  EXPECT_EQ(contents.events[0]["component"], "launcher");
  EXPECT_EQ(contents.events[0]["event"], "step_started");
  EXPECT_EQ(contents.events[0]["details"]["seq"], 7);

  const std::string warning = warning_of_record("/nonexistent/dir/events.jsonl", 1);
  EXPECT_EQ(warning.rfind("test: warning: /nonexistent/dir/events.jsonl: cannot append to the event ledger", 0), 0u)
      << warning;
  EXPECT_EQ(warning_of_record("", 1), "");  // no ledger configured: nothing to say
}
