#include "sigma/core/trusted_path.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "sigma/core/error.hpp"

namespace sigma {
namespace {

std::string errno_text() { return std::strerror(errno); }

// A file that cannot be opened: missing or unreadable inputs are not_found; a link where none may be is config.
[[noreturn]] void open_failed(const std::string& path, const std::string& what) {
  const ExitCode code = errno == ELOOP || errno == ENOTDIR ? ExitCode::config : ExitCode::not_found;
  const std::string why = errno == ELOOP ? "it is a symbolic link (not followed here)" : errno_text();
  throw Error(code, fmt::format("{}: cannot open {}: {}", path, what, why));
}

std::string kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device";
  if (S_ISSOCK(mode)) return "a socket";
  return "a special file";
}

// An ancestor may be root's sticky directory (/tmp): only the owner of an entry can rename or remove it there.
bool trusted_ancestor(const struct stat& st) {
  return st.st_uid == 0 && (!(st.st_mode & (S_IWGRP | S_IWOTH)) || (st.st_mode & S_ISVTX));
}

UniqueFd open_dir_plain(const std::string& path) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) open_failed(path, "directory");
  return fd;
}

// Root: walk the canonical path from / one directory at a time, each opened relative to its parent without
// following a link, so a directory renamed or replaced after realpath() makes the walk fail instead of moving it.
UniqueFd open_dir_as_root(const std::string& path) {
  char resolved[PATH_MAX];
  if (realpath(path.c_str(), resolved) == nullptr) open_failed(path, "directory");
  const std::filesystem::path canonical(resolved);
  UniqueFd dir(open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  std::filesystem::path walked = "/";
  auto check = [&](bool last) {
    struct stat st {};
    if (fstat(dir.get(), &st) != 0) throw Error(ExitCode::config, fmt::format("{}: cannot stat {}", path, walked.string()));
    if (last ? others_can_write(st) : !trusted_ancestor(st)) {
      throw Error(ExitCode::config, fmt::format("{}: directory {} must be owned by root and not writable by other "
                                                "users (root reads its config and writes files only there)",
                                                path, walked.string()));
    }
  };
  for (const auto& part : canonical.relative_path()) {
    check(false);
    walked /= part;
    UniqueFd next(openat(dir.get(), part.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (next.get() < 0) open_failed(path, "directory " + walked.string() + " (changed while being opened?)");
    dir = std::move(next);
  }
  check(true);
  return dir;
}

std::string read_all(int fd, const std::string& path, std::size_t max_bytes, const std::string& what) {
  std::string text;
  char buffer[65536];
  for (;;) {
    const ssize_t n = read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw Error(ExitCode::not_found, fmt::format("{}: cannot read {}: {}", path, what, errno_text()));
    if (n == 0) return text;
    text.append(buffer, static_cast<std::size_t>(n));
    if (text.size() > max_bytes) {
      throw Error(ExitCode::config, fmt::format("{}: {} is larger than {} bytes", path, what, max_bytes));
    }
  }
}

}  // namespace

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) close(fd_);
}

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    fd_ = other.release();
  }
  return *this;
}

int UniqueFd::release() {
  const int fd = fd_;
  fd_ = -1;
  return fd;
}

bool others_can_write(const struct stat& st) { return st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH)); }

std::string parent_of(const std::string& path) {
  const std::string parent = std::filesystem::path(path).parent_path().string();
  return parent.empty() ? "." : parent;
}

std::string name_of(const std::string& path) { return std::filesystem::path(path).filename().string(); }

UniqueFd open_trusted_dir(const std::string& path) {
  return geteuid() == 0 ? open_dir_as_root(path) : open_dir_plain(path);
}

std::string admin_trust_problem(const std::string& path) {
  char resolved[PATH_MAX];
  struct stat st {};
  if (realpath(path.c_str(), resolved) == nullptr || stat(resolved, &st) != 0) return "";  // the loader says why
  if (others_can_write(st)) return "it is not owned by root or is group/world-writable";
  std::filesystem::path dir = std::filesystem::path(resolved).parent_path();
  for (bool parent = true;; parent = false) {
    if (stat(dir.c_str(), &st) != 0) return "";
    if (parent ? others_can_write(st) : !trusted_ancestor(st)) {
      return fmt::format("directory {} is not owned by root or is writable by other users", dir.string());
    }
    if (dir == dir.root_path()) return "";
    dir = dir.parent_path();
  }
}

std::string read_regular_file(const std::string& path, std::size_t max_bytes, const std::string& what, bool admin) {
  const bool as_root = admin && geteuid() == 0;
  // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below as not a regular file.
  const int flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK;
  UniqueFd fd;
  if (as_root) {
    const UniqueFd dir = open_trusted_dir(parent_of(path));
    fd = UniqueFd(openat(dir.get(), name_of(path).c_str(), flags | O_NOFOLLOW));
  } else {
    fd = UniqueFd(open(path.c_str(), flags));
  }
  if (fd.get() < 0) open_failed(path, what);
  struct stat st {};
  if (fstat(fd.get(), &st) != 0) throw Error(ExitCode::not_found, fmt::format("{}: cannot stat: {}", path, errno_text()));
  if (!S_ISREG(st.st_mode)) {
    throw Error(ExitCode::config, fmt::format("{}: {} must be a regular file, not {}", path, what, kind_of(st.st_mode)));
  }
  if (as_root && others_can_write(st)) {
    throw Error(ExitCode::config,
                fmt::format("{}: {} must be owned by root and not group/world-writable", path, what));
  }
  if (static_cast<std::size_t>(st.st_size) > max_bytes) {
    throw Error(ExitCode::config, fmt::format("{}: {} is {} bytes; at most {} expected", path, what, st.st_size, max_bytes));
  }
  return read_all(fd.get(), path, max_bytes, what);
}

}  // namespace sigma
