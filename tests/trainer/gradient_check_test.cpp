// The hand-written backward pass against central finite differences, for every parameter of a tiny model:
// embedding, norms, attention, router, experts and output projection.
#include <gtest/gtest.h>

#include <cmath>

#include "sigma/trainer/model.hpp"
#include "tiny_model.hpp"

namespace sigma::trainer {
namespace {

struct GradientCheck {
  TrainConfig config = testing::tiny_config();
  std::unique_ptr<Comm> comm;
  std::unique_ptr<ParamLayout> layout;
  std::unique_ptr<Arena> weights, grads;
  std::unique_ptr<Model> model;
  Batch batch;
  double tokens = 0;

  explicit GradientCheck(float capacity_factor) {
    config.model.capacity_factor = capacity_factor;
    config.model.init_std = 0.3f;  // large enough that every path carries a visible gradient
    comm = std::make_unique<Comm>(MPI_COMM_SELF, 1);
    layout = std::make_unique<ParamLayout>(config.model, config.model.n_experts, 0);
    weights = std::make_unique<Arena>(*layout);
    grads = std::make_unique<Arena>(*layout);
    init_params(*layout, config.model, 7, *weights);
    // Norm gains away from 1 so their gradients are not special.
    for (const auto& p : layout->params)
      if (p.local_shape.size() == 1)
        for (size_t i = 0; i < p.count; ++i) weights->at(p)[i] = 1.0f + 0.1f * std::sin(static_cast<float>(i));
    int sequences = 2;
    model = std::make_unique<Model>(config.model, *layout, *comm, sequences);
    auto data = testing::synthetic_tokens(32, 64);
    for (int i = 0; i < sequences * config.model.seq_len; ++i) {
      batch.inputs.push_back(data->tokens[static_cast<size_t>(i)]);
      batch.targets.push_back(data->tokens[static_cast<size_t>(i) + 1]);
    }
    tokens = static_cast<double>(batch.inputs.size());
  }

  double loss() { return model->forward(*weights, batch, tokens).total(); }

  void check_all(int64_t* dropped) {
    model->forward_backward(*weights, *grads, batch, tokens, [](int) {});
    *dropped = 0;
    for (int l = 0; l < config.model.n_layers; ++l) *dropped += model->moe(l).stats().dropped;
    const float h = 1e-3f;
    for (const auto& p : layout->params) {
      float* w = weights->at(p);
      const float* g = grads->at(p);
      double err2 = 0, ref2 = 0, worst = 0;
      for (size_t i = 0; i < p.count; ++i) {
        const float saved = w[i];
        w[i] = saved + h;
        double up = loss();
        w[i] = saved - h;
        double down = loss();
        w[i] = saved;
        double numeric = (up - down) / (2.0 * h);
        err2 += (numeric - g[i]) * (numeric - g[i]);
        ref2 += numeric * numeric;
        worst = std::max(worst, std::abs(numeric - g[i]));
      }
      double relative = std::sqrt(err2 / std::max(ref2, 1e-30));
      EXPECT_GT(ref2, 0.0) << p.name << " has no gradient at all";
      EXPECT_LT(relative, 5e-3) << p.name << ": relative error of the gradient vs finite differences";
      EXPECT_LT(worst, 2e-3) << p.name << ": worst absolute error";
    }
  }
};

TEST(GradientCheck, EveryParameterMatchesFiniteDifferences) {
  GradientCheck check(0.0f);
  int64_t dropped = 0;
  check.check_all(&dropped);
  EXPECT_EQ(dropped, 0);
}

TEST(GradientCheck, WithCapacityDropsStillMatches) {
  GradientCheck check(0.5f);
  int64_t dropped = 0;
  check.check_all(&dropped);
  EXPECT_GT(dropped, 0) << "capacity factor 0.5 should drop some tokens";
}

}  // namespace
}  // namespace sigma::trainer
