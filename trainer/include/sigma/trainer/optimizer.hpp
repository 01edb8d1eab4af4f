// AdamW with decoupled weight decay on matrices only, fp32 master weights, and the learning-rate schedule
// (linear warm-up, then cosine decay to min_lr).
#pragma once

#include "sigma/trainer/config.hpp"
#include "sigma/trainer/params.hpp"

namespace sigma::trainer {

// Learning rate for the 0-based step `step` of a run of `total_steps`.
float learning_rate(const OptimConfig& optim, int step, int total_steps);

// One AdamW update; `t` is the 1-based step count for bias correction; gradients are multiplied by
// grad_scale first (global-norm clipping).
void adamw_update(const ParamLayout& layout, const OptimConfig& optim, float lr, int t, float grad_scale,
                  Arena& weights, const Arena& grads, Arena& m, Arena& v);

}  // namespace sigma::trainer
