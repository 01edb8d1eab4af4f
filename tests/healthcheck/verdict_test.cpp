// Verdict rules, plan validation and the one-line node reason.
#include <gtest/gtest.h>

#include "sigma/core/error.hpp"
#include "sigma/healthcheck/runner.hpp"
#include "small_config.hpp"

namespace sigma::hc {
namespace {

CheckResult result(const std::string& name, CheckStatus status, const std::string& reason, bool timed_out = false) {
  CheckResult r;
  r.name = name;
  r.status = status;
  r.reason = reason;
  r.timed_out = timed_out;
  return r;
}

RunReport decided(std::vector<CheckResult> results) {
  RunReport report;
  report.results = std::move(results);
  decide_verdict(report);
  return report;
}

TEST(Verdict, AllPassOrSkippedIsOk) {
  const auto r = decided({result("gemm", CheckStatus::pass, ""), result("cuda", CheckStatus::skip, "cuda: skipped")});
  EXPECT_EQ(r.exit_code, ExitCode::ok);
  EXPECT_EQ(r.reason, "");
}

TEST(Verdict, TimeoutAloneIsHang) {
  const auto r = decided({result("memtest", CheckStatus::fail, "memtest timeout", true)});
  EXPECT_EQ(r.exit_code, ExitCode::hang);
  EXPECT_EQ(r.reason, "sigma: memtest timeout");
}

TEST(Verdict, HardwareFailureWinsAndCountsTheRest) {
  const auto r = decided({result("memtest", CheckStatus::fail, "memtest timeout", true),
                          result("gemm", CheckStatus::fail, "gemm sdc 3/4096"),
                          result("membw", CheckStatus::fail, "membw slow copy_gbs 50%")});
  EXPECT_EQ(r.exit_code, ExitCode::node_hardware);
  EXPECT_EQ(r.reason, "sigma: gemm sdc 3/4096 +2");
}

TEST(Verdict, ReasonFitsASlurmNodeReason) {
  const auto r = decided({result("interconnect", CheckStatus::fail, "interconnect slow link " + std::string(200, 'n')),
                          result("gemm", CheckStatus::fail, "gemm sdc 1/1")});
  EXPECT_LE(r.reason.size(), kMaxReasonLength);
  EXPECT_TRUE(r.reason.ends_with(" +1")) << r.reason;
}

CheckResult slow(const std::string& name, const std::string& reason) {
  CheckResult r = result(name, CheckStatus::fail, reason);
  r.below_baseline = true;
  return r;
}

TEST(Verdict, ThroughputAloneDoesNotFailASharedNode) {
  RunReport report;
  report.results = {result("gemm", CheckStatus::pass, ""), slow("membw", "membw slow copy_gbs 39%")};
  decide_verdict(report, Throughput::shared_node);
  EXPECT_EQ(report.exit_code, ExitCode::ok);
  EXPECT_EQ(report.reason, "");
  EXPECT_EQ(report.unjudged, std::vector<std::string>{"membw slow copy_gbs 39%"});
  decide_verdict(report);  // a node nobody else uses: the same numbers fail it
  EXPECT_EQ(report.exit_code, ExitCode::node_hardware);
  EXPECT_EQ(report.reason, "sigma: membw slow copy_gbs 39%");
  EXPECT_TRUE(report.unjudged.empty());
}

TEST(Verdict, WrongResultsFailASharedNodeToo) {
  RunReport report;
  report.results = {slow("membw", "membw slow copy_gbs 39%"), result("gemm", CheckStatus::fail, "gemm sdc 3/4096"),
                    result("memtest", CheckStatus::fail, "memtest 2 bad words")};
  decide_verdict(report, Throughput::shared_node);
  EXPECT_EQ(report.exit_code, ExitCode::node_hardware);
  EXPECT_EQ(report.reason, "sigma: gemm sdc 3/4096 +1");
  // A timed-out check is not a throughput verdict: still a hang.
  report.results = {result("membw", CheckStatus::fail, "membw timeout", true)};
  decide_verdict(report, Throughput::shared_node);
  EXPECT_EQ(report.exit_code, ExitCode::hang);
}

TEST(Plan, LevelChecksAndBudgetComeFromConfig) {
  const auto config = testing::small_config();
  const RunPlan plan = make_plan(config, "quick", {});
  EXPECT_EQ(plan.checks, (std::vector<std::string>{"gemm", "membw", "memtest"}));
  EXPECT_DOUBLE_EQ(plan.check_budget(0), 10);
}

TEST(Plan, UnknownCheckOrLevelIsAUsageError) {
  const auto config = testing::small_config();
  try {
    make_plan(config, "quick", {"/bin/sh"});
    FAIL() << "accepted an unknown check";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::usage);
    EXPECT_NE(std::string(e.what()).find("--check"), std::string::npos);
  }
  EXPECT_THROW(make_plan(config, "paranoid", {}), Error);
}

}  // namespace
}  // namespace sigma::hc
