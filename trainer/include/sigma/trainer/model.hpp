// The transformer: embedding, L pre-norm blocks (RMSNorm -> causal MHA with RoPE -> residual; RMSNorm -> MoE
// FFN -> residual), final RMSNorm, output projection, mean cross-entropy. trainer/MODEL.md has the formulas.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "sigma/trainer/comm.hpp"
#include "sigma/trainer/config.hpp"
#include "sigma/trainer/kernels.hpp"
#include "sigma/trainer/moe.hpp"
#include "sigma/trainer/params.hpp"

namespace sigma::trainer {

// This rank's sequences: inputs[b*T + t] predicts targets[b*T + t].
struct Batch {
  std::vector<uint32_t> inputs, targets;
};

// This rank's share of each loss term, each already divided by the global token count, so the sum over
// ranks is the global mean.
struct LossParts {
  double ce = 0, aux = 0, z = 0;
  double total() const { return ce + aux + z; }
};

class Model {
 public:
  Model(const ModelConfig& model, const ParamLayout& layout, const Comm& comm, int local_sequences);

  // Forward and backward of one batch. `grads` is overwritten. `gradients_ready(b)` is called as soon as
  // a bucket's gradients are final: b = n_layers for final_norm + lm_head, b = l for block l, b = -1 for
  // the embedding (so the caller can start reducing them while the backward pass goes on).
  LossParts forward_backward(const Arena& weights, Arena& grads, const Batch& batch, double global_tokens,
                             const std::function<void(int)>& gradients_ready);

  // Forward only (for evaluation); returns the loss parts like forward_backward.
  LossParts forward(const Arena& weights, const Batch& batch, double global_tokens);

  const MoeLayer& moe(int layer) const { return *moe_[static_cast<size_t>(layer)]; }
  int tokens() const { return N_; }

 private:
  struct BlockActivations {
    Floats h1, rstd1, q, k, v, lse, att, x2, h2, rstd2, moe_out;
  };
  void block_forward(int l, const Arena& w, const float* x_in, float* x_out, LossParts& loss, double global_tokens);
  void block_backward(int l, const Arena& w, Arena& g, const float* x_in, float* dx);
  float* residual(int l) { return residual_.data() + static_cast<size_t>(l) * N_ * D_; }

  const ModelConfig& m_;
  const ParamLayout& layout_;
  int B_, T_, D_, H_, hd_, V_, N_;
  RopeTable rope_;
  std::vector<std::unique_ptr<MoeLayer>> moe_;
  std::vector<BlockActivations> acts_;
  Floats residual_;  // [(L+1), N, D]: input of block l; [L] = input of the final norm
  Floats hf_, rstdf_, logits_, dlogits_;
  Floats dx_, dtmp_, dq_, dk_, dv_, attn_scratch_;
};

}  // namespace sigma::trainer
