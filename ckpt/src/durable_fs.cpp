#include "durable_fs.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "sigma/core/error.hpp"

namespace sigma::ckpt {

static Error io_error(const std::string& path, const char* what) {
  return Error(ExitCode::internal, fmt::format("{}: {} failed: {}", path, what, std::strerror(errno)));
}

void fsync_path(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw io_error(path, "open for fsync");
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) throw io_error(path, "fsync");
}

void write_file_durably(const std::string& path, const std::string& contents) {
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw io_error(tmp, "create");
  size_t done = 0;
  while (done < contents.size()) {
    ssize_t n = ::write(fd, contents.data() + done, contents.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) { ::close(fd); throw io_error(tmp, "write"); }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) { ::close(fd); throw io_error(tmp, "fsync"); }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) throw io_error(path, "rename");
  fsync_path(std::filesystem::path(path).parent_path().string());
}

std::string read_small_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ExitCode::not_found, fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace sigma::ckpt
