#include "sigma/trainer/params.hpp"

#include <cmath>
#include <numeric>

#include <fmt/format.h>

#include "sigma/trainer/kernels.hpp"

namespace sigma::trainer {
namespace {

int64_t product(const std::vector<int64_t>& shape) {
  return std::accumulate(shape.begin(), shape.end(), int64_t{1}, std::multiplies<>());
}

class Builder {
 public:
  explicit Builder(ParamLayout& layout) : layout_(layout) {}
  size_t dense(std::string name, std::vector<int64_t> shape) {
    ParamInfo p;
    p.name = std::move(name);
    p.decay = shape.size() >= 2;
    p.global_shape = p.local_shape = std::move(shape);
    p.count = static_cast<size_t>(product(p.local_shape));
    p.offset = layout_.dense_size;
    layout_.dense_size += p.count;
    layout_.params.push_back(std::move(p));
    return layout_.params.size() - 1;
  }
  size_t expert(std::string name, std::vector<int64_t> shape, int experts_total, int experts_local, int first) {
    ParamInfo p;
    p.name = std::move(name);
    p.expert = true;
    p.decay = true;
    p.global_shape = p.local_shape = shape;
    p.global_shape.insert(p.global_shape.begin(), experts_total);
    p.local_shape.insert(p.local_shape.begin(), experts_local);
    p.offset0 = first;
    p.count = static_cast<size_t>(product(p.local_shape));
    p.offset = layout_.expert_size;
    layout_.expert_size += p.count;
    layout_.params.push_back(std::move(p));
    return layout_.params.size() - 1;
  }

 private:
  ParamLayout& layout_;
};

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (char ch : s) {
    h ^= static_cast<unsigned char>(ch);
    h *= 1099511628211ull;
  }
  return h;
}

// splitmix64 stream + Box-Muller: small, portable and bitwise reproducible (std::normal_distribution is not
// specified bit-for-bit across standard libraries).
class NormalStream {
 public:
  explicit NormalStream(uint64_t seed) : state_(seed) {}
  float next(float std) {
    double u1 = (static_cast<double>(bits() >> 11) + 0.5) * 0x1.0p-53;
    double u2 = static_cast<double>(bits() >> 11) * 0x1.0p-53;
    return static_cast<float>(std * std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2));
  }

 private:
  uint64_t bits() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  uint64_t state_;
};

float init_std_of(const ParamInfo& p, const ModelConfig& model) {
  // Projections that write into the residual stream are scaled down by depth (GPT-2 convention).
  bool residual_out = p.name.ends_with(".attn.wo") || p.name.ends_with(".experts.w2");
  return residual_out ? model.init_std / std::sqrt(2.0f * static_cast<float>(model.n_layers)) : model.init_std;
}

}  // namespace

ParamLayout::ParamLayout(const ModelConfig& m, int experts_local, int first_expert) {
  const int64_t D = m.d_model, V = m.vocab_size, E = m.n_experts, F = m.d_ff;
  Builder b(*this);
  embed = b.dense("embed", {V, D});
  for (int l = 0; l < m.n_layers; ++l) {
    auto n = [l](const char* s) { return fmt::format("layers.{}.{}", l, s); };
    dense_layer_begin.push_back(dense_size);
    expert_layer_begin.push_back(expert_size);
    LayerParamIds ids{};
    ids.attn_norm = b.dense(n("attn_norm.weight"), {D});
    ids.wq = b.dense(n("attn.wq"), {D, D});
    ids.wk = b.dense(n("attn.wk"), {D, D});
    ids.wv = b.dense(n("attn.wv"), {D, D});
    ids.wo = b.dense(n("attn.wo"), {D, D});
    ids.moe_norm = b.dense(n("moe_norm.weight"), {D});
    ids.router = b.dense(n("moe.router"), {D, E});
    ids.w1 = b.expert(n("moe.experts.w1"), {D, F}, m.n_experts, experts_local, first_expert);
    ids.w3 = b.expert(n("moe.experts.w3"), {D, F}, m.n_experts, experts_local, first_expert);
    ids.w2 = b.expert(n("moe.experts.w2"), {F, D}, m.n_experts, experts_local, first_expert);
    layers.push_back(ids);
  }
  dense_layer_begin.push_back(dense_size);
  expert_layer_begin.push_back(expert_size);
  final_norm = b.dense("final_norm.weight", {D});
  lm_head = b.dense("lm_head", {D, V});
}

void Arena::zero_accumulated(const ParamLayout& layout) {
  auto zero = [&](size_t id) { zero_floats(at(layout.params[id]), static_cast<int64_t>(layout.params[id].count)); };
  zero(layout.embed);
  zero(layout.final_norm);
  for (const LayerParamIds& ids : layout.layers) {
    zero(ids.attn_norm);
    zero(ids.moe_norm);
  }
}

void init_params(const ParamLayout& layout, const ModelConfig& model, uint64_t seed, Arena& weights) {
  for (const auto& p : layout.params) {
    float* data = weights.at(p);
    if (p.local_shape.size() == 1) {  // RMSNorm gains
      std::fill(data, data + p.count, 1.0f);
      continue;
    }
    float std = init_std_of(p, model);
    int64_t blocks = p.expert ? p.local_shape[0] : 1;
    size_t per_block = p.count / static_cast<size_t>(blocks);
    for (int64_t e = 0; e < blocks; ++e) {
      NormalStream rng(seed ^ fnv1a(p.name) ^ (static_cast<uint64_t>(p.offset0 + e) * 0xd1b54a32d192ed03ull));
      for (size_t i = 0; i < per_block; ++i) data[static_cast<size_t>(e) * per_block + i] = rng.next(std);
    }
  }
}

}  // namespace sigma::trainer
