// The guardrails' decisions without MPI: loss-spike window, re-run classification, majority vote, straggler
// rule, and the run-config keys that switch them on.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

#include "sigma/core/error.hpp"
#include "sigma/trainer/config.hpp"
#include "sigma/trainer/guardrails/rerun_classifier.hpp"
#include "sigma/trainer/guardrails/spike_detector.hpp"
#include "sigma/trainer/guardrails/straggler_tracker.hpp"

namespace sigma::trainer {
namespace {

TEST(SpikeDetector, JudgesOnlyWithAFullWindow) {
  SpikeDetector d(4, 6, 0.1);
  for (int s = 1; s <= 3; ++s) d.accept(s, 2.0);
  EXPECT_FALSE(d.judge(100.0).spike);
  d.accept(4, 2.0);
  EXPECT_TRUE(d.judge(100.0).spike);
}

TEST(SpikeDetector, MedianAndMadIgnoreAnEarlierOutlier) {
  SpikeDetector d(5, 6, 0.05);
  for (double loss : {3.00, 3.01, 2.99, 9.0, 3.02}) d.accept(0, loss);
  const auto verdict = d.judge(3.1);
  EXPECT_DOUBLE_EQ(verdict.median, 3.01);
  EXPECT_FALSE(verdict.spike) << "threshold " << verdict.threshold;
  EXPECT_TRUE(d.judge(4.0).spike);
}

TEST(SpikeDetector, NoiselessLossNeedsTheMinimumRise) {
  SpikeDetector d(3, 6, 0.1);
  for (int s = 1; s <= 3; ++s) d.accept(s, 2.0);  // MAD 0: only spike_min_rise keeps 2.0001 from being a spike
  EXPECT_FALSE(d.judge(2.19).spike);
  EXPECT_TRUE(d.judge(2.21).spike);
}

TEST(SpikeDetector, RollbackForgetsLaterSteps) {
  SpikeDetector d(3, 6, 0.1);
  for (int s = 1; s <= 3; ++s) d.accept(s, 2.0);
  d.forget_after(1);
  EXPECT_FALSE(d.judge(100.0).spike);  // two losses left: the window refills first
}

TEST(SpikeDetector, WindowZeroIsOff) {
  SpikeDetector d(0, 6, 0.1);
  d.accept(1, 1.0);
  EXPECT_FALSE(d.judge(1e9).spike);
}

StepSymptom mismatch(std::vector<uint64_t> norms, int suspect) {
  StepSymptom s;
  s.replicas_agree = false;
  s.norm_bits = std::move(norms);
  s.suspect_rank = suspect;
  return s;
}

TEST(RerunClassifier, CleanRerunIsTransientAndBlamesTheSuspect) {
  StepSymptom clean;
  clean.norm_bits = {7, 7, 7};
  const auto c = classify(mismatch({7, 8, 7}, 1), clean);
  EXPECT_EQ(c.kind, FaultKind::transient);
  EXPECT_EQ(c.blamed_rank, 1);
}

TEST(RerunClassifier, WithoutAMajorityTheRankThatChangedIsBlamed) {
  StepSymptom clean;
  clean.norm_bits = {7, 7};
  const auto c = classify(mismatch({7, 8}, -1), clean);
  EXPECT_EQ(c.kind, FaultKind::transient);
  EXPECT_EQ(c.blamed_rank, 1);
}

TEST(RerunClassifier, SameMismatchIsPersistent) {
  const auto c = classify(mismatch({7, 8, 7}, 1), mismatch({7, 8, 7}, 1));
  EXPECT_EQ(c.kind, FaultKind::persistent);
  EXPECT_EQ(c.blamed_rank, 1);
}

TEST(RerunClassifier, DifferentBadResultIsTransient) {
  EXPECT_EQ(classify(mismatch({7, 8, 7}, 1), mismatch({7, 9, 7}, 1)).kind, FaultKind::transient);
}

TEST(RerunClassifier, SameNonFiniteResultIsDeterministic) {
  StepSymptom nan;
  nan.finite = false;
  nan.loss_bits = 0x7ff8000000000000ull;
  nan.norm_bits = {5, 5, 5};
  nan.suspect_rank = 2;
  const auto c = classify(nan, nan);
  EXPECT_EQ(c.kind, FaultKind::deterministic);
  EXPECT_EQ(c.blamed_rank, 2);
}

TEST(OutvotedIndex, MajorityNoMajorityAndAgreement) {
  EXPECT_EQ(outvoted_index({1, 1, 1}), kAllEqual);
  EXPECT_EQ(outvoted_index({1, 2, 1}), 1);
  EXPECT_EQ(outvoted_index({1, 2}), kNoMajority);
  EXPECT_EQ(outvoted_index({1, 2, 3}), kNoMajority);
}

TEST(StragglerTracker, ConsecutiveSlowStepsFlagAndNormalStepsClear) {
  StragglerTracker t(0.5, 3, 0.001, 3);
  const std::vector<double> slow = {0.010, 0.030, 0.011}, normal = {0.010, 0.010, 0.011};
  EXPECT_TRUE(t.update(slow).empty());
  EXPECT_TRUE(t.update(normal).empty());  // the run of slow steps is broken
  EXPECT_TRUE(t.update(slow).empty());
  EXPECT_TRUE(t.update(slow).empty());
  const auto flagged = t.update(slow);
  ASSERT_EQ(flagged.size(), 1u);
  EXPECT_EQ(flagged[0].rank, 1);
  EXPECT_TRUE(flagged[0].straggler);
  EXPECT_DOUBLE_EQ(flagged[0].others_median, 0.0105);
  EXPECT_TRUE(t.flagged(1));
  t.update(normal);
  t.update(normal);
  const auto cleared = t.update(normal);
  ASSERT_EQ(cleared.size(), 1u);
  EXPECT_FALSE(cleared[0].straggler);
  EXPECT_FALSE(t.flagged(1));
}

TEST(StragglerTracker, TwoRanksCompareWithEachOther) {
  StragglerTracker t(0.5, 1, 0.001, 2);
  const auto changes = t.update({0.010, 0.020});
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].rank, 1);
}

TEST(StragglerTracker, TinyDifferencesAreNoise) {
  StragglerTracker t(0.5, 1, 0.005, 2);
  EXPECT_TRUE(t.update({0.001, 0.004}).empty());  // 4x slower, but by 3 ms only
}

// One file per test process: ctest runs each test case in its own process, several at once.
struct TempYaml {
  std::filesystem::path path =
      std::filesystem::temp_directory_path() / ("sigma-guard-config-test-" + std::to_string(getpid()) + ".yaml");
  explicit TempYaml(const std::string& text) { std::ofstream(path) << text; }
  ~TempYaml() { std::filesystem::remove(path); }
};

TEST(GuardConfigKeys, YamlSetsGuardrailsAndFaults) {
  TempYaml yaml(
      "spike_window: 20\nspike_mads: 5\nskip_numerical_faults: true\nstraggler_margin: 0.3\n"
      "inject_bitflip: grad\ninject_bitflip_rank: 2\ninject_repeat: false\ninject_slow_factor: 3\n");
  TrainConfig c;
  load_yaml_config(yaml.path.string(), c);
  EXPECT_EQ(c.guard.spike_window, 20);
  EXPECT_DOUBLE_EQ(c.guard.spike_mads, 5);
  EXPECT_TRUE(c.guard.skip_numerical_faults);
  EXPECT_DOUBLE_EQ(c.guard.straggler_margin, 0.3);
  EXPECT_EQ(c.fault.bitflip, FaultTarget::grad);
  EXPECT_EQ(c.fault.bitflip_rank, 2);
  EXPECT_FALSE(c.fault.repeat);
  EXPECT_DOUBLE_EQ(c.fault.slow_factor, 3);
  EXPECT_NE(config_to_yaml(c).find("inject_bitflip: grad\n"), std::string::npos);
}

TEST(GuardConfigKeys, BadValuesNameTheKeyAndWhatWasExpected) {
  TempYaml yaml("inject_bitflip: weights\n");
  TrainConfig c;
  try {
    load_yaml_config(yaml.path.string(), c);
    FAIL() << "expected a config error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::config);
    EXPECT_NE(std::string(e.what()).find(":1:17: inject_bitflip: expected one of none, param, grad, got \"weights\""),
              std::string::npos)
        << e.what();
  }
  TempYaml flag("spike_skip_data: yes\n");
  try {
    load_yaml_config(flag.path.string(), c);
    FAIL() << "expected a config error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(":1:18: spike_skip_data: expected true or false, got \"yes\""), std::string::npos)
        << e.what();
  }
}

TEST(GuardConfigKeys, GuardrailsAndFaultsAreNotPartOfTheResumeContract) {
  TrainConfig a, b;
  b.guard.spike_window = 50;
  b.fault.nan_at_step = 3;
  EXPECT_EQ(config_hash(a), config_hash(b));
}

}  // namespace
}  // namespace sigma::trainer
