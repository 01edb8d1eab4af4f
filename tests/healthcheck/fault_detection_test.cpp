// Each injected fault is detected with the right reason and exit code, and a healthy node passes every time.
#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <filesystem>

#include "sigma/healthcheck/baseline.hpp"
#include "sigma/healthcheck/calibrate.hpp"
#include "sigma/healthcheck/fault_injector.hpp"
#include "sigma/healthcheck/runner.hpp"
#include "small_config.hpp"

namespace sigma::hc {
namespace {

using testing::small_config;

RunReport run_checks(const PreflightConfig& config, std::vector<std::string> checks, double budget_s = 30) {
  RunPlan plan{"quick", std::move(checks), budget_s};
  return run_plan(plan, config);
}

bool starts_with(const std::string& text, const std::string& prefix) { return text.rfind(prefix, 0) == 0; }

TEST(FaultDetection, HealthyNodePassesTwentyRunsOutOfTwenty) {
  const PreflightConfig config = small_config();
  const RunPlan plan = make_plan(config, "quick", {});
  int passed = 0;
  for (int run = 0; run < 20; ++run) {
    const RunReport report = run_plan(plan, config);
    passed += report.exit_code == ExitCode::ok;
    EXPECT_EQ(report.reason, "") << "run " << run;
  }
  EXPECT_EQ(passed, 20);
}

TEST(FaultDetection, GemmBitFlipsAreSdcWithCount) {
  PreflightConfig config = small_config();
  config.fault_injection.enabled = true;
  config.fault_injection.gemm_bitflip_rate = 1e-3;
  const RunReport report = run_checks(config, {"gemm"});
  ASSERT_EQ(report.results.size(), 1u);
  EXPECT_EQ(report.results[0].status, CheckStatus::fail);
  EXPECT_TRUE(starts_with(report.results[0].reason, "gemm sdc ")) << report.results[0].reason;
  EXPECT_EQ(report.exit_code, ExitCode::node_hardware);
  EXPECT_TRUE(starts_with(report.reason, "sigma: gemm sdc ")) << report.reason;
}

TEST(FaultDetection, InjectionIsInertUnlessEnabled) {
  PreflightConfig config = small_config();
  config.fault_injection.enabled = false;
  config.fault_injection.gemm_bitflip_rate = 1;
  config.fault_injection.crash_check = "gemm";
  EXPECT_EQ(run_checks(config, {"gemm"}).exit_code, ExitCode::ok);
}

// Throughput verdicts are judged against an injected baseline: this node's own figures, measured moments before,
// scaled far out of reach of timing noise. A baseline measured in one run and a check timed in another can differ
// by a few times on a busy machine (a neighbour on the same core, a slower clock), which once hid an injected 3x
// slowdown. How small a slowdown is caught is a benchmark's claim (healthcheck_detection_power), not a test's.
class ThroughputVerdict : public ::testing::Test {
 protected:
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // A gemm-only config whose baseline is `factor` times what a healthy gemm run on this node just measured.
  PreflightConfig with_gemm_baseline(double factor) {
    PreflightConfig config = small_config();
    BaselineMetrics baseline = calibrate(make_plan(config, "quick", {"gemm"}), config, 1);
    for (auto& [metric, value] : baseline) value *= factor;
    std::filesystem::create_directories(dir_);
    config.baseline_file = (dir_ / "baseline.json").string();
    save_baseline(config.baseline_file, node_type(), baseline, 1);
    return config;
  }

 private:
  std::filesystem::path dir_ =
      std::filesystem::temp_directory_path() / ("sigma-hc-baseline-" + std::to_string(getpid()));
};

TEST_F(ThroughputVerdict, FarBelowBaselineFailsAsSlowConfirmedByARerun) {
  const RunReport report = run_checks(with_gemm_baseline(1e6), {"gemm"});
  ASSERT_EQ(report.results.size(), 1u);
  const CheckResult& r = report.results[0];
  EXPECT_EQ(report.exit_code, ExitCode::node_hardware);
  EXPECT_TRUE(starts_with(r.reason, "gemm slow ")) << r.reason;
  EXPECT_TRUE(r.below_baseline);
  ASSERT_FALSE(r.notes.empty());
  EXPECT_TRUE(starts_with(r.notes.back(), "confirmed by a re-run")) << r.notes.back();
}

TEST_F(ThroughputVerdict, FarAboveBaselinePassesWithoutARerun) {
  const RunReport report = run_checks(with_gemm_baseline(1e-6), {"gemm"});
  ASSERT_EQ(report.results.size(), 1u);
  EXPECT_EQ(report.exit_code, ExitCode::ok) << report.reason;
  EXPECT_FALSE(report.results[0].below_baseline);
  for (const auto& note : report.results[0].notes) EXPECT_EQ(note.find("re-run"), std::string::npos) << note;
}

// The injected slowdown reaches the gemm figures: 100x against a baseline of this node's own speed is below
// min_ratio (0.75) unless the baseline run was 75x slower than the check, which no neighbour causes.
TEST_F(ThroughputVerdict, SlowdownBelowBaselineFailsAsSlow) {
  PreflightConfig config = with_gemm_baseline(1.0);
  config.fault_injection.enabled = true;
  config.fault_injection.slowdown = 100.0;
  const RunReport report = run_checks(config, {"gemm"});
  ASSERT_EQ(report.results.size(), 1u);
  EXPECT_EQ(report.exit_code, ExitCode::node_hardware);
  EXPECT_TRUE(starts_with(report.results[0].reason, "gemm slow ")) << report.results[0].reason;
  EXPECT_TRUE(report.results[0].below_baseline);
  ASSERT_FALSE(report.results[0].notes.empty());
  EXPECT_TRUE(starts_with(report.results[0].notes.back(), "confirmed by a re-run")) << report.results[0].notes.back();
}

TEST(FaultInjector, SlowdownMultipliesTheMeasuredTimeAndSleepsTheDifference) {
  FaultInjectionConfig faults;
  faults.slowdown = 3.0;
  EXPECT_EQ(FaultInjector(faults).slow_down(0.01), 0.01) << "inert unless enabled";
  faults.enabled = true;
  const auto start = std::chrono::steady_clock::now();
  EXPECT_DOUBLE_EQ(FaultInjector(faults).slow_down(0.01), 0.03);
  // Only a lower bound: a sleep can overrun on a busy machine but never ends early.
  EXPECT_GE(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 0.02);
}

TEST(FaultDetection, HangIsKilledAtItsBudgetAndReportedAsTimeout) {
  PreflightConfig config = small_config();
  config.fault_injection.enabled = true;
  config.fault_injection.hang_check = "memtest";
  constexpr double budget_s = 1.5;
  const RunReport report = run_checks(config, {"memtest"}, budget_s);
  const CheckResult& r = report.results.at(0);
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.reason, "memtest timeout");
  // Killed at its budget: not before it (less a millisecond of rounding in the wait) and not long after it. Past
  // the budget the parent only wakes from poll() and reaps the child; 5 s covers any delay a busy machine adds.
  EXPECT_GE(r.seconds, budget_s - 0.01);
  EXPECT_LT(r.seconds, budget_s + 5);
  EXPECT_EQ(report.exit_code, ExitCode::hang);
  EXPECT_EQ(report.reason, "sigma: memtest timeout");
}

TEST(FaultDetection, CrashIsReportedWithItsSignal) {
  PreflightConfig config = small_config();
  config.fault_injection.enabled = true;
  config.fault_injection.crash_check = "membw";
  const RunReport report = run_checks(config, {"gemm", "membw"});
  EXPECT_EQ(report.results.at(0).status, CheckStatus::pass);
  EXPECT_EQ(report.results.at(1).reason, "membw crash SIGSEGV");
  EXPECT_EQ(report.exit_code, ExitCode::node_hardware);
}

TEST(FaultDetection, FailureOutranksTimeoutInTheVerdict) {
  PreflightConfig config = small_config();
  config.fault_injection.enabled = true;
  config.fault_injection.hang_check = "memtest";
  config.fault_injection.crash_check = "membw";
  const RunReport report = run_checks(config, {"memtest", "membw"}, 3);
  EXPECT_EQ(report.exit_code, ExitCode::node_hardware);
  EXPECT_EQ(report.reason, "sigma: membw crash SIGSEGV +1");
}

}  // namespace
}  // namespace sigma::hc
