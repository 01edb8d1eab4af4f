// Small configs and data shared by the trainer tests.
#pragma once

#include <filesystem>
#include <memory>
#include <vector>

#include "sigma/trainer/config.hpp"
#include "sigma/trainer/token_file.hpp"

namespace sigma::trainer::testing {

// A model small enough for finite differences over every parameter.
inline TrainConfig tiny_config() {
  TrainConfig c;
  c.model.vocab_size = 32;
  c.model.d_model = 8;
  c.model.n_layers = 2;
  c.model.n_heads = 2;
  c.model.seq_len = 6;
  c.model.n_experts = 4;
  c.model.d_ff = 6;
  c.model.top_k = {2, 1};
  c.model.aux_loss_coef = 0.1f;
  c.model.z_loss_coef = 0.01f;
  c.global_batch = 4;
  c.steps = 8;
  c.optim.warmup_steps = 2;
  c.data = "synthetic";
  c.peak_gflops = 1;  // skip the sgemm measurement in tests
  return c;
}

// Deterministic pseudo-random tokens with some structure (so the loss can go down).
inline std::shared_ptr<TokenData> synthetic_tokens(uint32_t vocab, size_t count) {
  auto data = std::make_shared<TokenData>();
  data->vocab_size = vocab;
  uint64_t x = 88172645463325252ull;
  for (size_t i = 0; i < count; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    data->tokens.push_back(i % 3 == 2 ? (data->tokens[i - 1] + 1) % vocab : static_cast<uint32_t>(x % vocab));
  }
  return data;
}

// Real text, byte-level: the GNU GPL version 3 (tests/trainer/data, shipped with the tests; the licence allows
// verbatim copies of itself).
inline std::shared_ptr<TokenData> licence_text_tokens() {
  return std::make_shared<TokenData>(tokenize_bytes({SIGMA_TEST_TEXT}));
}

}  // namespace sigma::trainer::testing
