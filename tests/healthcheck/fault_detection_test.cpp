// Each injected fault is detected with the right reason and exit code, and a healthy node passes every time.
#include <gtest/gtest.h>

#include <filesystem>

#include "sigma/healthcheck/baseline.hpp"
#include "sigma/healthcheck/calibrate.hpp"
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

TEST(FaultDetection, SlowdownBelowBaselineFailsAsSlow) {
  const auto dir = std::filesystem::temp_directory_path() / ("sigma-hc-slow-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  PreflightConfig config = small_config();
  config.baseline_file = (dir / "baseline.json").string();
  save_baseline(config.baseline_file, node_type(), calibrate(make_plan(config, "quick", {"gemm"}), config, 3), 3);
  config.fault_injection.enabled = true;
  config.fault_injection.slowdown = 3.0;
  const RunReport report = run_checks(config, {"gemm"});
  EXPECT_EQ(report.exit_code, ExitCode::node_hardware);
  EXPECT_TRUE(starts_with(report.results[0].reason, "gemm slow ")) << report.results[0].reason;
  EXPECT_TRUE(report.results[0].below_baseline);
  ASSERT_FALSE(report.results[0].notes.empty());
  EXPECT_TRUE(starts_with(report.results[0].notes.back(), "confirmed by a re-run")) << report.results[0].notes.back();
  std::filesystem::remove_all(dir);
}

TEST(FaultDetection, HangIsKilledAtItsBudgetAndReportedAsTimeout) {
  PreflightConfig config = small_config();
  config.fault_injection.enabled = true;
  config.fault_injection.hang_check = "memtest";
  const RunReport report = run_checks(config, {"memtest"}, 1.5);
  const CheckResult& r = report.results.at(0);
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.reason, "memtest timeout");
  EXPECT_LT(r.seconds, 5.0);
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
