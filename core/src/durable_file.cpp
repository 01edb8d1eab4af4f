#include "sigma/core/durable_file.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>

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
  UniqueFd fd(openat(dir_fd, name.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644));
  if (fd.get() < 0) failed(dir_path, name, "open");
  struct stat st {};
  if (fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    throw Error(ExitCode::config, fmt::format("{}/{}: expected a regular file", dir_path, name));
  }
  // O_APPEND places each write at the end; the lock keeps a short write's remainder from being split by another
  // writer (and serialises writers on filesystems where O_APPEND alone is not atomic, such as NFS).
  if (flock(fd.get(), LOCK_EX) != 0) failed(dir_path, name, "lock");
  if (!write_all(fd.get(), text)) failed(dir_path, name, "write");
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
