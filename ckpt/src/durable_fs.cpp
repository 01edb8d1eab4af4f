#include "durable_fs.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "sigma/core/error.hpp"
#include "sigma/core/trusted_path.hpp"

namespace sigma::ckpt {
namespace {

// A manifest lists every piece of every tensor; far beyond any real one, small enough to read into memory.
constexpr std::size_t kMaxSmallFileBytes = 64 * 1024 * 1024;

}  // namespace

void fsync_path(const std::string& path) {
  // A network or quota-limited filesystem may report a full disk only here, at the fsync.
  auto failed = [&](const char* step) {
    const int err = errno;
    return Error(exit_code_for_errno(err), fmt::format("{}: {} failed: {}", path, step, std::strerror(err)), err);
  };
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw failed("open for fsync");
  if (::fsync(fd) != 0) {
    const Error error = failed("fsync");
    ::close(fd);
    throw error;
  }
  ::close(fd);
}

std::string read_small_file(const std::string& path) {
  try {
    return read_regular_file(path, kMaxSmallFileBytes, "checkpoint file");
  } catch (const Error& e) {
    // A directory, FIFO or oversized file where a checkpoint file belongs is a broken checkpoint.
    if (e.code() == ExitCode::config) throw Error(ExitCode::bad_data, e.what());
    throw;
  }
}

}  // namespace sigma::ckpt
