// The memory footprint sigma-train checks before allocating (memory_footprint.hpp) against what a Trainer really
// takes, and the refusal when a limit is below it. ctest runs each test in a process of its own, so the peak
// resident size before the trainer exists is the process's baseline.
#include <gtest/gtest.h>

#include <sys/resource.h>

#include <iostream>

#include "sigma/core/error.hpp"
#include "sigma/trainer/memory_footprint.hpp"
#include "sigma/trainer/trainer.hpp"
#include "tiny_model.hpp"

namespace sigma::trainer::testing {
namespace {

uint64_t peak_resident_bytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<uint64_t>(usage.ru_maxrss) * 1024;
}

TrainConfig mid_config(float capacity_factor) {
  TrainConfig c = tiny_config();
  c.model.vocab_size = 256;
  c.model.d_model = 128;
  c.model.n_layers = 2;
  c.model.n_heads = 4;
  c.model.seq_len = 128;
  c.model.n_experts = 4;
  c.model.d_ff = 256;
  c.model.top_k = {2};
  c.model.capacity_factor = capacity_factor;
  c.global_batch = 16;
  return c;
}

// The estimate counts what the code allocates: a trainer that took two steps holds within 25% of it (a
// capacity factor bounds the expert rows from above; with balanced routing fewer are used).
void expect_estimate_matches(const TrainConfig& config) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "AddressSanitizer's redzones and quarantine change what the process holds";
#endif
  const auto data = synthetic_tokens(256, 100000);
  const MemoryFootprint estimate = estimate_memory_footprint(config, 1, false);
  const uint64_t before = peak_resident_bytes();
  {
    Trainer trainer(config, MPI_COMM_WORLD, data);
    trainer.step();
    trainer.step();
  }
  const double measured = static_cast<double>(peak_resident_bytes() - before);
  const double ratio = measured / static_cast<double>(estimate.total());
  std::cout << "peak resident growth " << format_bytes(static_cast<uint64_t>(measured)) << ", estimated "
            << format_bytes(estimate.total()) << " (" << estimate.breakdown() << ")\n";
  EXPECT_GT(ratio, 0.75) << "measured " << measured << " bytes, estimated " << estimate.breakdown();
  EXPECT_LT(ratio, 1.25) << "measured " << measured << " bytes, estimated " << estimate.breakdown();
}

TEST(MemoryFootprint, EstimateMatchesATrainerWithoutCapacity) { expect_estimate_matches(mid_config(0)); }

TEST(MemoryFootprint, EstimateMatchesATrainerWithCapacity) { expect_estimate_matches(mid_config(1.25f)); }

TEST(MemoryFootprint, CheckpointsAddACopyOfTheSavedState) {
  const TrainConfig config = mid_config(0);
  const auto without = estimate_memory_footprint(config, 1, false), with = estimate_memory_footprint(config, 1, true);
  EXPECT_EQ(without.checkpoint_copy, 0u);
  EXPECT_EQ(with.checkpoint_copy * 4, with.model_state * 3);  // weights and both moments, not the gradients
}

TEST(MemoryFootprint, MoreRanksHoldLessEach) {
  TrainConfig config = mid_config(0);
  config.ep_size = 2;
  EXPECT_LT(estimate_memory_footprint(config, 2, false).total(), estimate_memory_footprint(mid_config(0), 1, false).total());
}

TEST(MemoryFootprint, RefusedWithBothFiguresWhenTheRanksOfANodeDoNotFit) {
  const MemoryFootprint f = estimate_memory_footprint(mid_config(0), 1, false);
  const std::vector<MemoryHeadroom> shared = {{f.total() * 3, "MemAvailable (/proc/meminfo)", false}};
  EXPECT_NO_THROW(check_memory_fits(f, 3, shared));
  try {
    check_memory_fits(f, 4, shared);
    FAIL() << "4 ranks fit in the memory of 3";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::config);
    const std::string line = e.what();
    EXPECT_NE(line.find("4 ranks on this node"), std::string::npos) << line;
    EXPECT_NE(line.find("MemAvailable (/proc/meminfo) has " + format_bytes(f.total() * 3) + " left"),
              std::string::npos) << line;
    EXPECT_EQ(line.find('\n'), std::string::npos);
  }
}

TEST(MemoryFootprint, AProcessLimitCountsOneRankAndItsReservedAddressSpace) {
  const MemoryFootprint f = estimate_memory_footprint(mid_config(0), 1, false);
  EXPECT_NO_THROW(check_memory_fits(f, 8, {{f.total() + (256u << 20), "RLIMIT_AS (ulimit -v)", true}}));
  EXPECT_THROW(check_memory_fits(f, 1, {{f.total() + (255u << 20), "RLIMIT_AS (ulimit -v)", true}}), Error);
}

}  // namespace
}  // namespace sigma::trainer::testing
