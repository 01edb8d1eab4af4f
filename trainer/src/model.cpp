#include "sigma/trainer/model.hpp"

#include <algorithm>

#include "sigma/trainer/parallel.hpp"

namespace sigma::trainer {

Model::Model(const ModelConfig& m, const ParamLayout& layout, const Comm& comm, int local_sequences)
    : m_(m),
      layout_(layout),
      B_(local_sequences),
      T_(m.seq_len),
      D_(m.d_model),
      H_(m.n_heads),
      hd_(m.d_model / m.n_heads),
      V_(m.vocab_size),
      N_(local_sequences * m.seq_len),
      rope_(make_rope_table(m.seq_len, m.d_model / m.n_heads, m.rope_theta)) {
  const size_t ND = static_cast<size_t>(N_) * D_, N = static_cast<size_t>(N_);
  for (int l = 0; l < m.n_layers; ++l) {
    moe_.push_back(std::make_unique<MoeLayer>(m, l, comm, N_));
    BlockActivations a;
    for (auto* v : {&a.h1, &a.q, &a.k, &a.v, &a.att, &a.x2, &a.h2, &a.moe_out}) v->resize(ND);
    a.rstd1.resize(N);
    a.rstd2.resize(N);
    a.lse.resize(static_cast<size_t>(B_) * H_ * T_);
    acts_.push_back(std::move(a));
  }
  residual_.resize((static_cast<size_t>(m.n_layers) + 1) * ND);
  hf_.resize(ND);
  rstdf_.resize(N);
  logits_.resize(N * V_);
  dlogits_.resize(N * V_);
  for (auto* v : {&dx_, &dtmp_, &dq_, &dk_, &dv_}) v->resize(ND);
}

void Model::block_forward(int l, const Arena& w, const float* x_in, float* x_out, LossParts& loss,
                          double global_tokens) {
  const auto& ids = layout_.layers[static_cast<size_t>(l)];
  const auto& P = layout_.params;
  auto& a = acts_[static_cast<size_t>(l)];
  rmsnorm_forward(x_in, w.at(P[ids.attn_norm]), a.h1.data(), a.rstd1.data(), N_, D_, m_.norm_eps);
  gemm_batch({gemm_nn_of(N_, D_, D_, a.h1.data(), w.at(P[ids.wq]), a.q.data(), 0.0f),
              gemm_nn_of(N_, D_, D_, a.h1.data(), w.at(P[ids.wk]), a.k.data(), 0.0f),
              gemm_nn_of(N_, D_, D_, a.h1.data(), w.at(P[ids.wv]), a.v.data(), 0.0f)});
  rope_apply(a.q.data(), N_, H_, hd_, rope_, false);
  rope_apply(a.k.data(), N_, H_, hd_, rope_, false);
  attention_forward(a.q.data(), a.k.data(), a.v.data(), a.lse.data(), a.att.data(), attn_scratch_, B_, T_, H_, hd_);
  copy_floats(x_in, a.x2.data(), static_cast<int64_t>(N_) * D_);
  gemm_nn(N_, D_, D_, a.att.data(), w.at(P[ids.wo]), a.x2.data(), 1.0f);  // x2 = x + att Wo

  rmsnorm_forward(a.x2.data(), w.at(P[ids.moe_norm]), a.h2.data(), a.rstd2.data(), N_, D_, m_.norm_eps);
  MoeWeights mw{w.at(P[ids.router]), w.at(P[ids.w1]), w.at(P[ids.w3]), w.at(P[ids.w2])};
  auto moe_loss = moe_[static_cast<size_t>(l)]->forward(a.h2.data(), mw, a.moe_out.data(), global_tokens);
  loss.aux += moe_loss.aux;
  loss.z += moe_loss.z;
  add_floats(a.x2.data(), a.moe_out.data(), x_out, static_cast<int64_t>(N_) * D_);
}

void Model::block_backward(int l, const Arena& w, Arena& g, const float* x_in, float* dx) {
  // On entry dx = dL/d(block output); on exit dL/d(block input).
  const auto& ids = layout_.layers[static_cast<size_t>(l)];
  const auto& P = layout_.params;
  auto& a = acts_[static_cast<size_t>(l)];

  // MoE branch: x3 = x2 + moe(norm(x2)); dx2 = dx3 + norm'(moe'(dx3))
  parallel_elements(static_cast<int64_t>(dtmp_.size()), [&](int64_t b, int64_t e) {
    std::fill(dtmp_.begin() + b, dtmp_.begin() + e, 0.0f);
  });
  MoeWeights mw{w.at(P[ids.router]), w.at(P[ids.w1]), w.at(P[ids.w3]), w.at(P[ids.w2])};
  MoeGrads mg{g.at(P[ids.router]), g.at(P[ids.w1]), g.at(P[ids.w3]), g.at(P[ids.w2])};
  moe_[static_cast<size_t>(l)]->backward(dx, a.h2.data(), mw, dtmp_.data(), mg);
  rmsnorm_backward(dtmp_.data(), a.x2.data(), w.at(P[ids.moe_norm]), a.rstd2.data(), dx, g.at(P[ids.moe_norm]), N_, D_);

  // Attention branch: x2 = x + att(norm(x)) Wo
  gemm_batch({gemm_tn_of(D_, D_, N_, a.att.data(), dx, g.at(P[ids.wo]), 0.0f),
              gemm_nt_of(N_, D_, D_, dx, w.at(P[ids.wo]), dtmp_.data(), 0.0f)});  // d att
  attention_backward(dtmp_.data(), a.q.data(), a.k.data(), a.v.data(), a.lse.data(), dq_.data(), dk_.data(),
                     dv_.data(), attn_scratch_, B_, T_, H_, hd_);
  rope_apply(dq_.data(), N_, H_, hd_, rope_, true);
  rope_apply(dk_.data(), N_, H_, hd_, rope_, true);
  gemm_batch({gemm_tn_of(D_, D_, N_, a.h1.data(), dq_.data(), g.at(P[ids.wq]), 0.0f),
              gemm_tn_of(D_, D_, N_, a.h1.data(), dk_.data(), g.at(P[ids.wk]), 0.0f),
              gemm_tn_of(D_, D_, N_, a.h1.data(), dv_.data(), g.at(P[ids.wv]), 0.0f),
              gemm_nt_of(N_, D_, D_, dq_.data(), w.at(P[ids.wq]), dtmp_.data(), 0.0f)});  // d h1
  gemm_nt(N_, D_, D_, dk_.data(), w.at(P[ids.wk]), dtmp_.data(), 1.0f);
  gemm_nt(N_, D_, D_, dv_.data(), w.at(P[ids.wv]), dtmp_.data(), 1.0f);
  rmsnorm_backward(dtmp_.data(), x_in, w.at(P[ids.attn_norm]), a.rstd1.data(), dx, g.at(P[ids.attn_norm]), N_, D_);
}

LossParts Model::forward(const Arena& w, const Batch& batch, double global_tokens) {
  const auto& P = layout_.params;
  const float* embed = w.at(P[layout_.embed]);
  parallel_rows(N_, [&](int64_t n) {
    std::copy_n(embed + static_cast<size_t>(batch.inputs[static_cast<size_t>(n)]) * D_, D_,
                residual(0) + static_cast<size_t>(n) * D_);
  });
  LossParts loss;
  for (int l = 0; l < m_.n_layers; ++l) block_forward(l, w, residual(l), residual(l + 1), loss, global_tokens);
  rmsnorm_forward(residual(m_.n_layers), w.at(P[layout_.final_norm]), hf_.data(), rstdf_.data(), N_, D_, m_.norm_eps);
  gemm_nn(N_, V_, D_, hf_.data(), w.at(P[layout_.lm_head]), logits_.data(), 0.0f);
  loss.ce = cross_entropy_forward_backward(logits_.data(), batch.targets.data(), dlogits_.data(), N_, V_,
                                           static_cast<float>(1.0 / global_tokens)) /
            global_tokens;
  return loss;
}

LossParts Model::forward_backward(const Arena& w, Arena& g, const Batch& batch, double global_tokens,
                                  const std::function<void(int)>& gradients_ready) {
  LossParts loss = forward(w, batch, global_tokens);
  g.zero_accumulated(layout_);
  const auto& P = layout_.params;
  const int L = m_.n_layers;
  // Head: logits = norm(x) Wout
  gemm_batch({gemm_tn_of(D_, V_, N_, hf_.data(), dlogits_.data(), g.at(P[layout_.lm_head]), 0.0f),
              gemm_nt_of(N_, D_, V_, dlogits_.data(), w.at(P[layout_.lm_head]), dtmp_.data(), 0.0f)});
  parallel_elements(static_cast<int64_t>(dx_.size()), [&](int64_t b, int64_t e) {
    std::fill(dx_.begin() + b, dx_.begin() + e, 0.0f);
  });
  rmsnorm_backward(dtmp_.data(), residual(L), w.at(P[layout_.final_norm]), rstdf_.data(), dx_.data(),
                   g.at(P[layout_.final_norm]), N_, D_);
  gradients_ready(L);
  for (int l = L - 1; l >= 0; --l) {
    block_backward(l, w, g, residual(l), dx_.data());
    gradients_ready(l);
  }
  float* dembed = g.at(P[layout_.embed]);
  // Tokens repeat, so rows of dembed are shared: split the columns instead, tokens summed in order.
  parallel_for(D_, 32, [&](int64_t i0, int64_t i1, int) {
    for (int n = 0; n < N_; ++n) {
      float* row = dembed + static_cast<size_t>(batch.inputs[static_cast<size_t>(n)]) * D_;
      const float* d = dx_.data() + static_cast<size_t>(n) * D_;
      for (int64_t i = i0; i < i1; ++i) row[i] += d[i];
    }
  });
  gradients_ready(-1);
  return loss;
}

}  // namespace sigma::trainer
