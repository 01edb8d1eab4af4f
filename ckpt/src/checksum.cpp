#include "checksum.hpp"

#include <new>

#include <fmt/format.h>

namespace sigma::ckpt {
namespace {
std::string hex64(XXH64_hash_t h) { return fmt::format("{:016x}", h); }
}  // namespace

std::string checksum_hex(const float* data, int64_t count) {
  return hex64(XXH3_64bits(data, static_cast<size_t>(count) * sizeof(float)));
}

StreamingChecksum::StreamingChecksum() : state_(XXH3_createState()) {
  if (state_ == nullptr) throw std::bad_alloc();
  XXH3_64bits_reset(state_);
}

StreamingChecksum::~StreamingChecksum() { XXH3_freeState(state_); }

void StreamingChecksum::add(const float* data, int64_t count) {
  XXH3_64bits_update(state_, data, static_cast<size_t>(count) * sizeof(float));
}

std::string StreamingChecksum::hex() const { return hex64(XXH3_64bits_digest(state_)); }

}  // namespace sigma::ckpt
