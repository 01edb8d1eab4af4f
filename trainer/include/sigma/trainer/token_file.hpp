// The token file format (version 1), little-endian:
//   offset 0  char[8]  magic "SIGMATOK"
//   offset 8  uint32   version (1)
//   offset 12 uint32   bytes per token (2 = uint16, 4 = uint32)
//   offset 16 uint32   vocab size (every token is < vocab size)
//   offset 20 uint32   reserved (0)
//   offset 24 uint64   token count
//   offset 32 tokens   token count * bytes per token
// The file size must be exactly 32 + count * bytes per token.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sigma::trainer {

inline constexpr char kTokenMagic[8] = {'S', 'I', 'G', 'M', 'A', 'T', 'O', 'K'};
inline constexpr uint32_t kTokenVersion = 1;
inline constexpr size_t kTokenHeaderBytes = 32;

struct TokenData {
  uint32_t vocab_size = 0;
  std::vector<uint32_t> tokens;
};

// Reads and checks a token file; problems throw sigma::Error(not_found or bad_data) naming the file and field.
TokenData read_token_file(const std::string& path);

// Writes tokens (uint16 when vocab_size <= 65536, else uint32).
void write_token_file(const std::string& path, const TokenData& data);

// Byte-level tokenisation of text files (vocab 256), concatenated in the given order.
TokenData tokenize_bytes(const std::vector<std::string>& text_paths);

// The deterministic data order: global sequence number -> start offset of its window of seq_len+1 tokens.
// Depends only on seed, sequence number and token count, never on the world size, so a run can resume
// (the position is part of the state) and 1 rank and N ranks see the same global batch.
uint64_t sequence_start(uint64_t seed, uint64_t sequence_number, uint64_t token_count, int seq_len);

// Checks the data against the model (vocab, length); throws sigma::Error(bad_data) naming the file.
void check_token_data(const TokenData& data, const std::string& path, int vocab_size, int seq_len);

}  // namespace sigma::trainer
