// The trainer benchmarks' model: d_model 256, 4 layers, 4 heads, seq_len 256, 8 experts, top-2, d_ff 512,
// global batch 8, synthetic tokens. One definition, so the speed bench, the guardrails bench and the PyTorch
// version (torch_moe_bench.py, same numbers) measure the same thing.
#pragma once

#include <memory>

#include "sigma/trainer/config.hpp"
#include "sigma/trainer/token_file.hpp"

namespace sigma::trainer {

inline TrainConfig bench_model(float capacity_factor, int threads, int world) {
  TrainConfig c;
  c.model.vocab_size = 256;
  c.model.d_model = 256;
  c.model.n_layers = 4;
  c.model.n_heads = 4;
  c.model.seq_len = 256;
  c.model.n_experts = 8;
  c.model.d_ff = 512;
  c.model.top_k = {2};
  c.model.capacity_factor = capacity_factor;
  c.global_batch = 8;
  c.steps = 1000;
  c.threads = threads;
  c.ep_size = world;
  c.data = "synthetic";
  return c;
}

// 1 Mi pseudo-random byte tokens (a fixed LCG): the benches' data, the same in every run.
inline std::shared_ptr<TokenData> bench_tokens() {
  auto data = std::make_shared<TokenData>();
  data->vocab_size = 256;
  uint64_t x = 88172645463325252ull;
  data->tokens.resize(1 << 20);
  for (auto& token : data->tokens) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    token = static_cast<uint32_t>(x >> 56);
  }
  return data;
}

}  // namespace sigma::trainer
