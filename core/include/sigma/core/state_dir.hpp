// paths.state_dir: small JSON records that root-run parts of sigma leave for each other (the validated-node
// cache, each job's preflight verdict). Root writes here, so every step is safe against a user who can write
// elsewhere: the directory (and every one above it) must be owned by root and not group/world-writable
// (trusted_path.hpp), records are written whole with durable_file.hpp (O_EXCL temp file beside them, fsync,
// rename), and nothing is opened through a symlink.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>

namespace sigma {

class StateDir {
 public:
  // Opens (creating it, mode 0755, when missing and running as root) and checks the directory; throws
  // sigma::Error(config) naming the path and what is wrong.
  explicit StateDir(const std::string& path);
  ~StateDir();
  StateDir(const StateDir&) = delete;
  StateDir& operator=(const StateDir&) = delete;

  // `area` is a subdirectory (created on first write); `name` the record's name. Both must be plain names
  // (letters, digits, '.', '_', '-'; no leading dot) of up to 511 characters (two names joined, such as
  // "<job>.<node>"), else sigma::Error(usage). A name over 200 characters is stored under its first 183 and a
  // hash of the whole, so that the file and its temp file fit the filesystem's 255-byte limit.
  void write(const std::string& area, const std::string& name, const nlohmann::json& record);
  std::optional<nlohmann::json> read(const std::string& area, const std::string& name) const;  // nullopt: none
  void remove(const std::string& area, const std::string& name);

  const std::string& path() const { return path_; }

 private:
  int open_area(const std::string& area, bool create) const;  // -1 when absent and !create

  std::string path_;
  int fd_ = -1;
};

// A plain node name or job id: 1-255 of [A-Za-z0-9._-], not starting with '.'.
bool is_plain_name(const std::string& name);

}  // namespace sigma
