// One slot of the in-memory copies: a file in the node's tmpfs, kept open and mapped for the whole run and
// rewritten in place at every other take. Its pages stay allocated, so a take writes memory that is already there
// (creating, sizing and mapping a fresh file per take cost more than the copy for a small state), and MPI sends
// from and receives into the mapping directly. Crash safety comes from the two slots and the checksum at the end
// of every copy: a take interrupted halfway leaves one slot that fails its checksum and the other whole.
#pragma once

#include <cstddef>
#include <string>

namespace sigma::ckpt {

class CopyFile {
 public:
  // Opens or creates `path` (O_NOFOLLOW, 0600), sizes it to `bytes` with its pages allocated (posix_fallocate:
  // a full tmpfs is an error here, not a SIGBUS later) and maps it. Throws sigma::Error naming the file.
  CopyFile(std::string path, size_t bytes);
  ~CopyFile();
  CopyFile(const CopyFile&) = delete;
  CopyFile& operator=(const CopyFile&) = delete;

  char* data() { return data_; }
  size_t size() const { return size_; }

 private:
  std::string path_;
  int fd_ = -1;
  char* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace sigma::ckpt
