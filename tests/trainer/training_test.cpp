// Single-rank training behaviour: bitwise determinism, bitwise resume through the state view, learning on
// real text, and the balancing loss evening out the experts.
#include <gtest/gtest.h>

#include <cstring>
#include <numeric>

#include "sigma/core/error.hpp"
#include "sigma/trainer/trainer.hpp"
#include "tiny_model.hpp"

namespace sigma::trainer {
namespace {

bool same_bits(const Arena& a, const Arena& b) {
  return a.dense.size() == b.dense.size() && a.expert.size() == b.expert.size() &&
         std::memcmp(a.dense.data(), b.dense.data(), a.dense.size() * sizeof(float)) == 0 &&
         std::memcmp(a.expert.data(), b.expert.data(), a.expert.size() * sizeof(float)) == 0;
}

void train_steps(Trainer& t, int n) {
  for (int i = 0; i < n; ++i) t.step();
}

TEST(Training, SameSeedAndDataGiveBitwiseIdenticalWeights) {
  auto data = testing::synthetic_tokens(32, 4000);
  Trainer a(testing::tiny_config(), MPI_COMM_SELF, data), b(testing::tiny_config(), MPI_COMM_SELF, data);
  train_steps(a, 6);
  train_steps(b, 6);
  EXPECT_TRUE(same_bits(a.weights(), b.weights()));
  auto other = testing::tiny_config();
  other.seed = 99;
  Trainer c(other, MPI_COMM_SELF, data);
  train_steps(c, 6);
  EXPECT_FALSE(same_bits(a.weights(), c.weights())) << "the seed must matter";
}

TEST(Training, ResumeThroughStateViewIsBitwiseIdentical) {
  auto data = testing::synthetic_tokens(32, 4000);
  auto config = testing::tiny_config();
  Trainer uninterrupted(config, MPI_COMM_SELF, data), first_half(config, MPI_COMM_SELF, data);
  train_steps(uninterrupted, 8);
  train_steps(first_half, 4);

  // What a checkpoint library does: copy every slice and the scalars out, then fill a fresh trainer.
  auto saved_view = first_half.state();
  std::vector<std::vector<float>> saved;
  for (const auto& s : saved_view.tensors) {
    size_t n = static_cast<size_t>(std::accumulate(s.local_shape.begin(), s.local_shape.end(), int64_t{1},
                                                   std::multiplies<>()));
    saved.emplace_back(s.data, s.data + n);
  }
  std::string scalars = saved_view.scalars.dump();

  Trainer resumed(config, MPI_COMM_SELF, data);
  auto view = resumed.state();
  ASSERT_EQ(view.tensors.size(), saved.size());
  for (size_t i = 0; i < saved.size(); ++i) {
    ASSERT_EQ(view.tensors[i].name, saved_view.tensors[i].name);
    std::copy(saved[i].begin(), saved[i].end(), view.tensors[i].data);
  }
  resumed.restore_scalars(nlohmann::json::parse(scalars));
  EXPECT_EQ(resumed.completed_steps(), 4);
  train_steps(resumed, 4);
  EXPECT_TRUE(same_bits(uninterrupted.weights(), resumed.weights()));
}

TEST(Training, StateViewNamesShapesAndMoments) {
  auto config = testing::tiny_config();
  Trainer t(config, MPI_COMM_SELF, testing::synthetic_tokens(32, 4000));
  auto view = t.state();
  const size_t params = t.layout().params.size();
  ASSERT_EQ(view.tensors.size(), 3 * params);
  EXPECT_EQ(view.tensors[0].name, "embed");
  EXPECT_EQ(view.tensors[params].name, "adam.m.embed");
  EXPECT_EQ(view.tensors[2 * params].name, "adam.v.embed");
  bool found = false;
  for (const auto& s : view.tensors)
    if (s.name == "layers.1.moe.experts.w2") {
      found = true;
      EXPECT_EQ(s.global_shape, (std::vector<int64_t>{4, 6, 8}));
      EXPECT_EQ(s.local_shape, s.global_shape);
      EXPECT_EQ(s.offset0, 0);
    }
  EXPECT_TRUE(found);
  for (const char* key : {"step", "data_position", "rng", "config_hash"}) EXPECT_TRUE(view.scalars.contains(key)) << key;
}

TEST(Training, RestoreRejectsAnotherRunsScalars) {
  Trainer t(testing::tiny_config(), MPI_COMM_SELF, testing::synthetic_tokens(32, 4000));
  auto scalars = t.scalars();
  scalars["config_hash"] = "0000000000000000";
  try {
    t.restore_scalars(scalars);
    FAIL() << "expected a bad_data error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::bad_data);
    EXPECT_NE(std::string(e.what()).find("config_hash"), std::string::npos) << e.what();
  }
  scalars.erase("config_hash");
  EXPECT_THROW(t.restore_scalars(scalars), Error);
}

TrainConfig text_config() {
  auto c = testing::tiny_config();
  c.model.vocab_size = 256;
  c.model.d_model = 32;
  c.model.n_heads = 4;
  c.model.seq_len = 32;
  c.model.d_ff = 32;
  c.model.top_k = {2};
  c.model.z_loss_coef = 0;
  c.global_batch = 8;
  c.steps = 60;
  c.optim.warmup_steps = 5;
  c.optim.lr = 1e-2f;
  c.optim.min_lr = 1e-3f;
  return c;
}

TEST(Training, LossGoesDownOnRealText) {
  auto data = testing::licence_text_tokens();
  Trainer t(text_config(), MPI_COMM_SELF, data);
  double first = t.step().loss.ce, last = 0;
  for (int i = 1; i < 60; ++i) last = t.step().loss.ce;
  EXPECT_GT(first, 5.0);  // about ln(256) = 5.55 at init
  EXPECT_LT(last, first - 2.0) << "cross-entropy " << first << " -> " << last;
}

// (max - min) / mean of the tokens each expert got, averaged over layers and the last steps.
double expert_spread(TrainConfig config, const std::shared_ptr<const TokenData>& data) {
  Trainer t(config, MPI_COMM_SELF, data);
  double spread = 0;
  int counted = 0;
  for (int i = 0; i < config.steps; ++i) {
    StepReport r = t.step();
    if (i < config.steps - 10) continue;
    for (const auto& layer : r.tokens_per_expert) {
      auto [lo, hi] = std::minmax_element(layer.begin(), layer.end());
      double mean = std::accumulate(layer.begin(), layer.end(), 0.0) / static_cast<double>(layer.size());
      spread += static_cast<double>(*hi - *lo) / mean;
      ++counted;
    }
  }
  return spread / counted;
}

TEST(Training, BalancingLossEvensOutTokensPerExpert) {
  auto data = testing::licence_text_tokens();
  auto config = text_config();
  config.steps = 80;
  config.model.aux_loss_coef = 0;
  double unbalanced = expert_spread(config, data);
  config.model.aux_loss_coef = 2.0f;  // strong, so 80 tiny steps show the effect
  double balanced = expert_spread(config, data);
  EXPECT_LT(balanced, 0.5 * unbalanced) << "spread without balancing " << unbalanced << ", with " << balanced;
}

}  // namespace
}  // namespace sigma::trainer
