// Opening the files and directories sigma reads or writes so that another user cannot redirect them.
// Root (the prolog, the healthcheck) must never follow a link or enter a directory that a user can change: a
// user who can rename or replace one directory on the path can point root at any file. So under root every
// directory from / down is opened with O_NOFOLLOW relative to the one above it and checked on its descriptor:
// owned by root and not group/world-writable (an ancestor may be a root-owned sticky directory such as /tmp,
// where no one can rename another user's entry). Other users get the same opening without the ownership rules.
// Reads are bounded and refuse anything but a regular file (a FIFO or /dev/zero would block or never end).
#pragma once

#include <sys/stat.h>

#include <cstddef>
#include <string>

namespace sigma {

// Owns one file descriptor.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd();
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  int get() const { return fd_; }
  int release();

 private:
  int fd_ = -1;
};

// True when a user other than root could change the entry (not owned by root, or group/world-writable).
bool others_can_write(const struct stat& st);

// Opens a directory (O_DIRECTORY) with the rules above; throws sigma::Error naming the path and, under root, the
// directory that fails them: not_found when a part is missing, config when it is not trusted or not a directory.
UniqueFd open_trusted_dir(const std::string& path);

// Reads a whole regular file of at most `max_bytes`, opened once (O_NOFOLLOW in a trusted directory when
// `admin` and running as root, where the file itself must also be owned by root and not group/world-writable).
// `what` names the file in messages ("site config"). Throws not_found, or config for a file of the wrong kind,
// size or owner.
std::string read_regular_file(const std::string& path, std::size_t max_bytes, const std::string& what,
                              bool admin = false);

// Why a program running as root would refuse to read this file as its config (the file, or a directory above it,
// can be changed by another user), or "" when it would not. For warnings from tools that do not run as root.
std::string admin_trust_problem(const std::string& path);

// The largest config file (site config, taxonomy, run config) sigma reads.
inline constexpr std::size_t kMaxConfigBytes = 4 * 1024 * 1024;

// dirname / basename of a path as sigma uses them ("ledger.jsonl" -> ".", "ledger.jsonl").
std::string parent_of(const std::string& path);
std::string name_of(const std::string& path);

}  // namespace sigma
