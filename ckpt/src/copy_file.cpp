#include "copy_file.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "sigma/core/durable_file.hpp"
#include "sigma/core/error.hpp"

namespace sigma::ckpt {
namespace {

[[noreturn]] void fail(const std::string& path, const char* what, int err) {
  throw Error(exit_code_for_errno(err), fmt::format("{}: {}: {}", path, what, std::strerror(err)), err);
}

}  // namespace

CopyFile::CopyFile(std::string path, size_t bytes) : path_(std::move(path)), size_(bytes) {
  fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd_ < 0) fail(path_, "open", errno);
  if (::ftruncate(fd_, static_cast<off_t>(bytes)) != 0) fail(path_, "ftruncate", errno);
  if (bytes == 0) return;
  if (const int err = ::posix_fallocate(fd_, 0, static_cast<off_t>(bytes)); err != 0) fail(path_, "fallocate", err);
  void* map = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0);
  if (map == MAP_FAILED) fail(path_, "mmap", errno);
  data_ = static_cast<char*>(map);
}

CopyFile::~CopyFile() {
  if (data_ != nullptr) ::munmap(data_, size_);
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace sigma::ckpt
