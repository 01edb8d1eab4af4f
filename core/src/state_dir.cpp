#include "sigma/core/state_dir.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "sigma/core/durable_file.hpp"
#include "sigma/core/error.hpp"
#include "sigma/core/trusted_path.hpp"

namespace sigma {
namespace {

// A node name or job id: NAME_MAX, beyond any hostname (64) or Slurm node name in use.
constexpr std::size_t kMaxNameLength = 255;
// A record's name joins such names ("<job>.<node>").
constexpr std::size_t kMaxRecordNameLength = 2 * kMaxNameLength + 1;
// The longest record name used as its file name as it is: replace_file_at's temp file ".<name>.<pid>.tmp" must
// fit NAME_MAX (255) too. Longer names are cut and suffixed with a hash of the whole name (file_name_of).
constexpr std::size_t kMaxFileNameLength = 200;
constexpr std::size_t kMaxRecordBytes = 64 * 1024;

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw Error(ExitCode::config, fmt::format("{}: {}", path, what));
}

std::string errno_text() { return std::strerror(errno); }

// Root must only trust a directory that no other user can change.
void require_admin_dir(int fd, const std::string& path) {
  struct stat st {};
  if (fstat(fd, &st) != 0) fail(path, "cannot stat: " + errno_text());
  if (!S_ISDIR(st.st_mode)) fail(path, "expected a directory");
  if (geteuid() == 0 && others_can_write(st)) {
    fail(path, "must be owned by root and not group/world-writable");
  }
}

bool plain_characters(const std::string& name) {
  if (name.empty() || name.front() == '.') return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

void require_plain(const std::string& name) {
  if (name.size() > kMaxRecordNameLength || !plain_characters(name)) {
    throw Error(ExitCode::usage, fmt::format("\"{}\": expected a plain name (1-{} of letters, digits, '.', '_', '-')",
                                             name, kMaxRecordNameLength));
  }
}

// FNV-1a, 64 bits: stable across builds and hosts (the file names must be the same for every reader).
std::uint64_t name_hash(const std::string& name) {
  std::uint64_t hash = 14695981039346656037ULL;
  for (const unsigned char c : name) {
    hash ^= c;
    hash *= 1099511628211ULL;
  }
  return hash;
}

// The file a record lives in: its name, or for a long one its start and a hash of the whole.
std::string file_name_of(const std::string& name) {
  if (name.size() <= kMaxFileNameLength) return name;
  const std::string suffix = fmt::format("-{:016x}", name_hash(name));
  return name.substr(0, kMaxFileNameLength - suffix.size()) + suffix;
}

}  // namespace

bool is_plain_name(const std::string& name) { return name.size() <= kMaxNameLength && plain_characters(name); }

StateDir::StateDir(const std::string& path) : path_(path) {
  if (geteuid() == 0 && mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) {
    fail(path, "cannot create state directory: " + errno_text());
  }
  fd_ = open_trusted_dir(path).release();  // also checks every directory above it under root
}

StateDir::~StateDir() {
  if (fd_ >= 0) close(fd_);
}

int StateDir::open_area(const std::string& area, bool create) const {
  require_plain(area);
  if (create && mkdirat(fd_, area.c_str(), 0755) != 0 && errno != EEXIST) {
    fail(path_ + "/" + area, "cannot create: " + errno_text());
  }
  const int fd = openat(fd_, area.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT && !create) return -1;
    fail(path_ + "/" + area, "cannot open: " + errno_text());
  }
  try {
    require_admin_dir(fd, path_ + "/" + area);
  } catch (...) {
    close(fd);
    throw;
  }
  return fd;
}

void StateDir::write(const std::string& area, const std::string& name, const nlohmann::json& record) {
  require_plain(name);
  const int dir = open_area(area, true);
  try {
    replace_file_at(dir, path_ + "/" + area, file_name_of(name), record.dump() + "\n");
  } catch (...) {
    close(dir);
    throw;
  }
  close(dir);
}

std::optional<nlohmann::json> StateDir::read(const std::string& area, const std::string& name) const {
  require_plain(name);
  const int dir = open_area(area, false);
  if (dir < 0) return std::nullopt;
  const int fd = openat(dir, file_name_of(name).c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  close(dir);
  if (fd < 0) return std::nullopt;
  std::string text;
  char buffer[4096];
  ssize_t n;
  while ((n = ::read(fd, buffer, sizeof buffer)) > 0 && text.size() < kMaxRecordBytes) {
    text.append(buffer, static_cast<std::size_t>(n));
  }
  close(fd);
  // A torn or foreign record counts as no record: the caller then does the safe thing (burn in again).
  auto parsed = nlohmann::json::parse(text, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object()) return std::nullopt;
  return parsed;
}

void StateDir::remove(const std::string& area, const std::string& name) {
  require_plain(name);
  const int dir = open_area(area, false);
  if (dir < 0) return;
  const bool ok = unlinkat(dir, file_name_of(name).c_str(), 0) == 0 || errno == ENOENT;
  const std::string why = errno_text();
  close(dir);
  if (!ok) throw Error(ExitCode::internal, fmt::format("{}/{}/{}: cannot remove: {}", path_, area, name, why));
}

}  // namespace sigma
