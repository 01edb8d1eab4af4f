// Threads within a rank: a model large enough that every kernel and sgemm is split over 2 threads gives
// bitwise the same weights run after run, and the same weights as 1 thread: bit for bit where sigma's own
// sgemm runs, to float rounding with OpenBLAS's.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "sigma/trainer/parallel.hpp"
#include "sigma/trainer/sgemm.hpp"
#include "sigma/trainer/trainer.hpp"
#include "tiny_model.hpp"

namespace sigma::trainer {
namespace {

TrainConfig split_config(int threads) {
  TrainConfig c = testing::tiny_config();
  c.model.d_model = 128;
  c.model.n_heads = 4;
  c.model.seq_len = 64;
  c.model.d_ff = 128;
  c.model.capacity_factor = 1.0f;
  c.global_batch = 8;  // 512 tokens: rows, attention pairs and matmuls all above the split sizes
  c.threads = threads;
  return c;
}

std::vector<float> weights_after(int threads, int steps, int64_t* dropped) {
  auto data = testing::synthetic_tokens(32, 20000);
  Trainer t(split_config(threads), MPI_COMM_SELF, data);
  EXPECT_EQ(compute_threads(), threads);
  for (int i = 0; i < steps; ++i) *dropped += t.step().dropped;
  std::vector<float> w(t.weights().dense.begin(), t.weights().dense.end());
  w.insert(w.end(), t.weights().expert.begin(), t.weights().expert.end());
  return w;
}

TEST(Threads, TwoThreadsAreBitwiseDeterministicAndMatchOneThread) {
  int64_t dropped = 0;
  const auto a = weights_after(2, 3, &dropped), b = weights_after(2, 3, &dropped);
  const auto one = weights_after(1, 3, &dropped);
  set_compute_threads(1);
  ASSERT_EQ(a.size(), b.size());
  EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0) << "2 threads, two runs";
  float worst = 0;
  for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::fabs(a[i] - one[i]));
  EXPECT_LT(worst, 1e-4f) << "2 threads vs 1 thread";
  if (own_sgemm_available()) {  // every matmul element one chain, every other sum in a fixed order
    EXPECT_EQ(std::memcmp(a.data(), one.data(), a.size() * sizeof(float)), 0) << "2 threads vs 1, sigma's sgemm";
  }
  EXPECT_GT(dropped, 0) << "capacity drops take part";
}

}  // namespace
}  // namespace sigma::trainer
