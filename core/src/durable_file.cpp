#include "sigma/core/durable_file.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "sigma/core/error.hpp"
#include "sigma/core/trusted_path.hpp"

namespace sigma {
namespace {

[[noreturn]] void failed(const std::string& dir_path, const std::string& name, const char* step) {
  const int err = errno;
  throw Error(exit_code_for_errno(err), fmt::format("{}/{}: {} failed: {}", dir_path, name, step, std::strerror(err)),
              err);
}

bool write_all(int fd, const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

void require_file_name(const std::string& dir_path, const std::string& name) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos) {
    throw Error(ExitCode::usage, fmt::format("{}/{}: expected a file name", dir_path, name));
  }
}

// An appended file is its owner's alone. Under root, a file owned by anyone else is refused: its owner could read
// what root records there. A file of this process's own that others may read or write (created before files
// were made 0600, or by an admin's chmod) is made 0600 again.
void keep_private(int fd, const struct stat& st, const std::string& dir_path, const std::string& name) {
  if (geteuid() == 0 && st.st_uid != 0) {
    throw Error(ExitCode::config, fmt::format("{}/{}: owned by uid {}, not root; root appends only to its own file "
                                              "(chown it to root, mode 0600)", dir_path, name, st.st_uid));
  }
  if (st.st_uid == geteuid() && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0 && fchmod(fd, 0600) != 0) {
    failed(dir_path, name, "chmod 0600");
  }
}

// How long an append waits for the file's lock. Writers hold it for one write, well under a millisecond on a
// local disk; a holder past this is stuck (a dead NFS server) or hostile: anyone who can open the file can flock
// it, read-only. Root's prolog must wait on neither, so the caller then writes without the lock.
//
// Written without the lock rather than dropped: a user who can hold the lock must not be able to silence the
// ledger either, and the line is still one write(2) to an O_APPEND file, which a local filesystem places at the
// end whole (the kernel holds the inode's lock for the whole write). Only where O_APPEND is not atomic (NFS), and
// only while the lock is held that long, can such a line interleave with another node's.
constexpr auto kLockWait = std::chrono::milliseconds(1000);
constexpr auto kLockRetry = std::chrono::milliseconds(10);

// True once the exclusive lock is held; false when it could not be had within kLockWait (or at all).
bool lock_briefly(int fd) {
  const auto give_up = std::chrono::steady_clock::now() + kLockWait;
  while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR) return false;  // no locks here at all (ENOLCK): write without
    if (std::chrono::steady_clock::now() >= give_up) return false;
    std::this_thread::sleep_for(kLockRetry);
  }
  return true;
}

}  // namespace

ExitCode exit_code_for_errno(int err) {
  if (err == EACCES || err == EPERM || err == EROFS || err == ELOOP || err == EISDIR) return ExitCode::config;
  // A full filesystem or quota is the site's or the job's to fix, not a bug and not the node's fault: retrying
  // or requeueing writes into the same full filesystem, so the job stops once and says so.
  if (err == ENOSPC || err == EDQUOT) return ExitCode::config;
  if (err == ENOENT || err == ENOTDIR) return ExitCode::not_found;
  return ExitCode::internal;
}

void replace_file_at(int dir_fd, const std::string& dir_path, const std::string& name, const std::string& contents,
                     Durability durability) {
  require_file_name(dir_path, name);
  const std::string temp = fmt::format(".{}.{}.tmp", name, getpid());
  unlinkat(dir_fd, temp.c_str(), 0);  // left by a crashed writer whose PID was reused; O_EXCL would refuse it
  UniqueFd fd(openat(dir_fd, temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
  if (fd.get() < 0) failed(dir_path, temp, "create");
  const bool sync = durability == Durability::fsync;
  const char* step = !write_all(fd.get(), contents) ? "write" : sync && fsync(fd.get()) != 0 ? "fsync" : nullptr;
  if (step == nullptr && renameat(dir_fd, temp.c_str(), dir_fd, name.c_str()) != 0) step = "rename";
  if (step != nullptr) {
    const int err = errno;
    unlinkat(dir_fd, temp.c_str(), 0);
    errno = err;
    failed(dir_path, name, step);
  }
  if (sync && fsync(dir_fd) != 0) failed(dir_path, name, "fsync of the directory");
}

void append_file_at(int dir_fd, const std::string& dir_path, const std::string& name, const std::string& text) {
  require_file_name(dir_path, name);
  // 0600: the ledger names every user's jobs. O_NONBLOCK: a FIFO in its place is refused below, not waited on.
  const int flags = O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC;
  UniqueFd fd(openat(dir_fd, name.c_str(), flags, 0600));
  if (fd.get() < 0) failed(dir_path, name, "open");
  struct stat st {};
  if (fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    throw Error(ExitCode::config, fmt::format("{}/{}: expected a regular file", dir_path, name));
  }
  keep_private(fd.get(), st, dir_path, name);
  // O_APPEND places each write at the end; the lock keeps a short write's remainder from being split by another
  // writer (and serialises writers on filesystems where O_APPEND alone is not atomic, such as NFS). It is only
  // ever waited for briefly (lock_briefly): past that the line is written without it, see there.
  const bool locked = lock_briefly(fd.get());
  if (!write_all(fd.get(), text)) failed(dir_path, name, "write");
  if (locked) flock(fd.get(), LOCK_UN);  // the fsync below needs no lock; other writers need not wait for it
  if (fsync(fd.get()) != 0) failed(dir_path, name, "fsync");
}

void write_file_durably(const std::string& path, const std::string& contents, Durability durability) {
  const UniqueFd dir = open_trusted_dir(parent_of(path));
  replace_file_at(dir.get(), parent_of(path), name_of(path), contents, durability);
}

void append_file_durably(const std::string& path, const std::string& text) {
  const UniqueFd dir = open_trusted_dir(parent_of(path));
  append_file_at(dir.get(), parent_of(path), name_of(path), text);
}

}  // namespace sigma
