#include "sigma/trainer/optimizer.hpp"

#include <cmath>

#include "sigma/trainer/kernels.hpp"

namespace sigma::trainer {

float learning_rate(const OptimConfig& o, int step, int total_steps) {
  if (step < o.warmup_steps) return o.lr * static_cast<float>(step + 1) / static_cast<float>(o.warmup_steps);
  int decay_steps = total_steps - o.warmup_steps;
  if (decay_steps <= 1) return o.lr;
  double progress = static_cast<double>(step - o.warmup_steps) / (decay_steps - 1);
  progress = std::min(1.0, progress);
  double cosine = 0.5 * (1.0 + std::cos(3.141592653589793 * progress));
  return static_cast<float>(o.min_lr + (o.lr - o.min_lr) * cosine);
}

void adamw_update(const ParamLayout& layout, const OptimConfig& o, float lr, int t, float grad_scale,
                  Arena& weights, const Arena& grads, Arena& m, Arena& v) {
  const float bc1 = 1.0f - static_cast<float>(std::pow(o.beta1, t));
  const float bc2 = 1.0f - static_cast<float>(std::pow(o.beta2, t));
  for (const auto& p : layout.params) {
    float* w = weights.at(p);
    const float* g = grads.at(p);
    float* mm = m.at(p);
    float* vv = v.at(p);
    const float decay = p.decay ? o.weight_decay : 0.0f;
    // Captured by value: a float captured by reference could alias the stores and block vectorisation.
    const float beta1 = o.beta1, beta2 = o.beta2, eps = o.eps;
    parallel_elements(static_cast<int64_t>(p.count), [=](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        float gi = g[i] * grad_scale;
        mm[i] = beta1 * mm[i] + (1.0f - beta1) * gi;
        vv[i] = beta2 * vv[i] + (1.0f - beta2) * gi * gi;
        float update = (mm[i] / bc1) / (std::sqrt(vv[i] / bc2) + eps);
        w[i] -= lr * (update + decay * w[i]);
      }
    });
  }
}

}  // namespace sigma::trainer
