#include "sigma/trainer/token_file.hpp"

#include <cstring>

#include <fmt/format.h>

#include "sigma/core/durable_file.hpp"
#include "sigma/core/error.hpp"
#include "sigma/core/trusted_path.hpp"

namespace sigma::trainer {
namespace {

template <typename T>
T read_le(const unsigned char* p) {
  T v = 0;
  for (size_t i = 0; i < sizeof(T); ++i) v |= static_cast<T>(p[i]) << (8 * i);
  return v;
}

template <typename T>
void append_le(std::string& out, T v) {
  for (size_t i = 0; i < sizeof(T); ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

[[noreturn]] void bad(const std::string& path, const std::string& what) {
  throw Error(ExitCode::bad_data, fmt::format("{}: {}", path, what));
}

// The largest token or text file read whole into memory.
constexpr std::size_t kMaxInputBytes = std::size_t{64} << 30;

// A regular file only: a directory, FIFO or device given as a path is a wrong argument (usage), not data.
std::string read_whole_file(const std::string& path) {
  try {
    return read_regular_file(path, kMaxInputBytes, "input file");
  } catch (const Error& e) {
    if (e.code() == ExitCode::not_found)
      throw Error(ExitCode::not_found, fmt::format("{}: file not found or not readable", path));
    throw Error(ExitCode::usage, e.what());
  }
}

}  // namespace

TokenData read_token_file(const std::string& path) {
  std::string bytes = read_whole_file(path);
  if (bytes.size() < kTokenHeaderBytes)
    bad(path, fmt::format("offset 0: expected a {}-byte header, file has {} bytes", kTokenHeaderBytes, bytes.size()));
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  if (std::memcmp(p, kTokenMagic, sizeof kTokenMagic) != 0)
    bad(path, "offset 0: expected magic \"SIGMATOK\" (not a sigma token file; make one with sigma-train prepare)");
  auto version = read_le<uint32_t>(p + 8);
  if (version != kTokenVersion) bad(path, fmt::format("offset 8: version {}, expected {}", version, kTokenVersion));
  auto width = read_le<uint32_t>(p + 12);
  if (width != 2 && width != 4) bad(path, fmt::format("offset 12: bytes per token {}, expected 2 or 4", width));
  TokenData data;
  data.vocab_size = read_le<uint32_t>(p + 16);
  if (data.vocab_size == 0 || (width == 2 && data.vocab_size > 65536))
    bad(path, fmt::format("offset 16: vocab size {} does not fit {}-byte tokens", data.vocab_size, width));
  auto count = read_le<uint64_t>(p + 24);
  // Compared by division: count * width could wrap for a forged count.
  const uint64_t body = bytes.size() - kTokenHeaderBytes;
  if (body % width != 0 || count != body / width)
    bad(path, fmt::format("offset 24: header says {} tokens of {} bytes, file has {} bytes after the header", count,
                          width, body));
  data.tokens.resize(count);
  for (uint64_t i = 0; i < count; ++i) {
    const unsigned char* t = p + kTokenHeaderBytes + i * width;
    data.tokens[i] = width == 2 ? read_le<uint16_t>(t) : read_le<uint32_t>(t);
    if (data.tokens[i] >= data.vocab_size)
      bad(path, fmt::format("token {} (offset {}): value {} is not below vocab size {}", i,
                            kTokenHeaderBytes + i * width, data.tokens[i], data.vocab_size));
  }
  return data;
}

void write_token_file(const std::string& path, const TokenData& data) {
  uint32_t width = data.vocab_size <= 65536 ? 2 : 4;
  std::string out(kTokenMagic, sizeof kTokenMagic);
  append_le<uint32_t>(out, kTokenVersion);
  append_le<uint32_t>(out, width);
  append_le<uint32_t>(out, data.vocab_size);
  append_le<uint32_t>(out, 0);
  append_le<uint64_t>(out, data.tokens.size());
  for (uint32_t t : data.tokens) {
    if (width == 2)
      append_le<uint16_t>(out, static_cast<uint16_t>(t));
    else
      append_le<uint32_t>(out, t);
  }
  // Whole or not at all: an interrupted prepare leaves no truncated token file for a run to trip on.
  write_file_durably(path, out);
}

TokenData tokenize_bytes(const std::vector<std::string>& text_paths) {
  TokenData data;
  data.vocab_size = 256;
  for (const auto& path : text_paths)
    for (unsigned char ch : read_whole_file(path)) data.tokens.push_back(ch);
  return data;
}

uint64_t sequence_start(uint64_t seed, uint64_t sequence_number, uint64_t token_count, int seq_len) {
  // splitmix64 of (seed, sequence number): a stateless shuffle, so the position alone is the data state.
  uint64_t z = seed * 0x9e3779b97f4a7c15ull + sequence_number + 0x632be59bd9b4e019ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  uint64_t windows = token_count - static_cast<uint64_t>(seq_len);  // valid starts: [0, count - seq_len - 1]
  return z % windows;
}

void check_token_data(const TokenData& data, const std::string& path, int vocab_size, int seq_len) {
  if (data.vocab_size != static_cast<uint32_t>(vocab_size))
    bad(path, fmt::format("vocab size {} does not match the model's vocab_size={}", data.vocab_size, vocab_size));
  if (data.tokens.size() < static_cast<size_t>(seq_len) + 2)
    bad(path, fmt::format("{} tokens is too short: expected at least seq_len+2={}", data.tokens.size(), seq_len + 2));
}

}  // namespace sigma::trainer
