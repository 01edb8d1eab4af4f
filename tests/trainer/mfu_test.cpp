// MFU's two sides: the flops of the work done (dropped expert assignments excluded) and the best measured
// sgemm rate, named by the size it was reached at.
#include <gtest/gtest.h>

#include "sigma/trainer/peak.hpp"
#include "sigma/trainer/sgemm.hpp"
#include "sigma/trainer/trainer.hpp"
#include "tiny_model.hpp"

namespace sigma::trainer {
namespace {

TEST(Mfu, DroppedAssignmentsAreNotCountedAsWork) {
  auto config = testing::tiny_config();
  config.model.capacity_factor = 0.5f;  // half the expected load per expert: drops in every step
  Trainer t(config, MPI_COMM_SELF, testing::synthetic_tokens(32, 4000));
  StepReport r = t.step();
  ASSERT_GT(r.dropped, 0);
  int64_t kept = 0;
  for (const auto& layer : r.tokens_per_expert)
    for (int64_t c : layer) kept += c;
  EXPECT_DOUBLE_EQ(r.flops, dense_flops_per_token(config.model) * r.tokens +
                                expert_flops_per_assignment(config.model) * static_cast<double>(kept));
  EXPECT_LT(r.flops, t.flops_per_token() * r.tokens) << "nominal flops assume every assignment ran";
  EXPECT_NEAR(r.mfu, r.flops / r.seconds / (r.peak_gflops * 1e9), 1e-12);
  EXPECT_EQ(r.peak_source, "peak_gflops from the config, summed over 1 rank");
}

TEST(Mfu, PeakIsTheBestSizeAndNamesIt) {
  const std::vector<GemmShape> shapes = {{8, 8, 8}, {256, 256, 256}};
  PeakRate peak = measure_peak(shapes, 0.02);
  EXPECT_GT(peak.gflops, 0);
  EXPECT_EQ(peak.shapes_tried, 2);
  EXPECT_EQ(peak.at.m, 256) << "an 8x8x8 sgemm is call overhead, far below a 256^3 one";
  EXPECT_NE(peak.source().find("sgemm 256x256x256, best of 2 sizes x"), std::string::npos) << peak.source();
  EXPECT_EQ(peak.openblas_rates.size(), 2u) << "OpenBLAS is measured at every size";
  EXPECT_EQ(peak.sigma_rates.size(), own_sgemm_available() ? 2u : 0u);
  for (size_t i = 0; i < peak.openblas_rates.size(); ++i) {
    EXPECT_LE(peak.openblas_rates[i], peak.gflops);
    if (!peak.sigma_rates.empty()) {
      EXPECT_LE(peak.sigma_rates[i], peak.gflops);
    }
  }
  auto step = step_gemm_shapes(testing::tiny_config().model, 24);
  EXPECT_EQ(step.back().m, 2048) << "one large size after the step's own";
}

}  // namespace
}  // namespace sigma::trainer
