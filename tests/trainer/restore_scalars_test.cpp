// Trainer::restore_scalars cross-checks a checkpoint's step and data position against this run: the guardrails
// skip whole batches forward (a skipped batch, a spike's data window), so a position ahead of step x
// global_batch by whole batches is this run's; one behind, or between batches, is not.
#include <gtest/gtest.h>

#include "sigma/core/error.hpp"
#include "sigma/trainer/trainer.hpp"
#include "tiny_model.hpp"

namespace sigma::trainer::testing {
namespace {

class RestoreScalars : public ::testing::Test {
 protected:
  nlohmann::json at(uint64_t step, uint64_t position) {
    auto scalars = trainer_.scalars();
    scalars["step"] = step;
    scalars["data_position"] = position;
    return scalars;
  }
  void expect_rejected(const nlohmann::json& scalars) {
    try {
      trainer_.restore_scalars(scalars);
      FAIL() << "accepted " << scalars.dump();
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ExitCode::bad_data);
      EXPECT_NE(std::string(e.what()).find("data_position"), std::string::npos) << e.what();
    }
  }
  const uint64_t batch_ = static_cast<uint64_t>(tiny_config().global_batch);
  Trainer trainer_{tiny_config(), MPI_COMM_SELF, synthetic_tokens(32, 4000)};
};

TEST_F(RestoreScalars, PositionAheadByWholeBatchesIsThisRunAfterASkip) {
  trainer_.restore_scalars(at(12, 12 * batch_ + 3 * batch_));
  EXPECT_EQ(trainer_.completed_steps(), 12);
  EXPECT_EQ(trainer_.data_position(), 15 * batch_);
  trainer_.restore_scalars(at(8, 8 * batch_));
  EXPECT_EQ(trainer_.data_position(), 8 * batch_);
}

TEST_F(RestoreScalars, PositionBehindTheStepOrBetweenBatchesIsNot) {
  expect_rejected(at(12, 11 * batch_));
  expect_rejected(at(12, 12 * batch_ + 1));
  EXPECT_EQ(trainer_.completed_steps(), 0);  // a rejected step changes nothing
}

}  // namespace
}  // namespace sigma::trainer::testing
