// The checksum of every dataset in a checkpoint: XXH3-64 over the little-endian float32 bytes, written as 16
// lowercase hex digits (FORMAT.md). The streaming form gives the same value as the one-shot form over the
// concatenated blocks, so a reader can hash each block while it is still in cache.
#pragma once

#include <xxhash.h>

#include <cstdint>
#include <string>

namespace sigma::ckpt {

std::string checksum_hex(const float* data, int64_t count);

class StreamingChecksum {
 public:
  StreamingChecksum();
  ~StreamingChecksum();
  StreamingChecksum(const StreamingChecksum&) = delete;
  StreamingChecksum& operator=(const StreamingChecksum&) = delete;

  void add(const float* data, int64_t count);
  std::string hex() const;

 private:
  XXH3_state_t* state_;
};

}  // namespace sigma::ckpt
