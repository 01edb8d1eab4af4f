// Where every parameter lives. Dense parameters (replicated on all ranks) share one flat arena, expert
// parameters (this rank's block of experts) another, so gradients can be all-reduced in a few large calls.
// Within each arena a layer's parameters are contiguous: the backward pass can start reducing a layer's
// gradients as soon as that layer is done.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sigma/trainer/config.hpp"
#include "sigma/trainer/floats.hpp"

namespace sigma::trainer {

struct ParamInfo {
  std::string name;                   // as in trainer/MODEL.md
  std::vector<int64_t> global_shape;  // experts: [E, ...]
  std::vector<int64_t> local_shape;   // experts: [E_local, ...]
  int64_t offset0 = 0;                // experts: first global expert this rank holds
  bool expert = false;                // lives in the expert arena
  bool decay = false;                 // matrices get weight decay; norm gains do not
  size_t offset = 0;                  // into its arena
  size_t count = 0;                   // floats held locally
};

// Indices into ParamLayout::params for one block.
struct LayerParamIds {
  size_t attn_norm, wq, wk, wv, wo, moe_norm, router, w1, w3, w2;
};

struct ParamLayout {
  std::vector<ParamInfo> params;
  size_t embed = 0, final_norm = 0, lm_head = 0;
  std::vector<LayerParamIds> layers;
  size_t dense_size = 0, expert_size = 0;
  std::vector<size_t> dense_layer_begin;   // L+1 entries; [L] = start of final_norm + lm_head
  std::vector<size_t> expert_layer_begin;  // L+1 entries; [L] = expert_size

  ParamLayout(const ModelConfig& model, int experts_local, int first_expert);
};

// One float per parameter, laid out as in ParamLayout (values, gradients, Adam moments).
struct Arena {
  Floats dense, expert;
  explicit Arena(const ParamLayout& layout) : dense(layout.dense_size), expert(layout.expert_size) {}
  float* at(const ParamInfo& p) { return (p.expert ? expert.data() : dense.data()) + p.offset; }
  const float* at(const ParamInfo& p) const { return (p.expert ? expert.data() : dense.data()) + p.offset; }
  // Zeroes the gradients that kernels add into (the embedding's and the norm gains'); every other gradient is
  // written once per step by a matmul with beta = 0 and needs no zeroing (model.cpp, moe.cpp).
  void zero_accumulated(const ParamLayout& layout);
};

// Deterministic init that does not depend on the expert-parallel layout: every tensor (and every expert of an
// expert tensor) draws from its own stream seeded by (seed, name, expert index).
void init_params(const ParamLayout& layout, const ModelConfig& model, uint64_t seed, Arena& weights);

}  // namespace sigma::trainer
