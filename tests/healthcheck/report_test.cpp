// Output formats: JSON round trip, Prometheus textfile written atomically, ledger event.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "sigma/core/error.hpp"
#include "sigma/contracts/ledger.hpp"
#include "sigma/healthcheck/baseline.hpp"
#include "sigma/healthcheck/report.hpp"

namespace sigma::hc {
namespace {

namespace fs = std::filesystem;

RunReport failing_report() {
  RunReport report;
  report.level = "quick";
  report.node_type = "cpu/2c/24g";
  CheckResult gemm;
  gemm.name = "gemm";
  gemm.status = CheckStatus::fail;
  gemm.reason = "gemm sdc 3/4096";
  gemm.seconds = 0.5;
  gemm.metrics = {{"sgemm_n512_gflops", 100.5}};
  gemm.notes = {"bf16: skipped (CPU lacks avx512_bf16)"};
  report.results.push_back(gemm);
  decide_verdict(report);
  return report;
}

struct TempDir {
  fs::path path = fs::temp_directory_path() / ("sigma-hc-report-" + std::to_string(getpid()));
  TempDir() { fs::create_directories(path); }
  ~TempDir() { fs::remove_all(path); }
};

TEST(Report, CheckResultSurvivesJson) {
  const CheckResult original = failing_report().results[0];
  const CheckResult back = check_result_from_json(to_json(original));
  EXPECT_EQ(back.name, original.name);
  EXPECT_EQ(back.status, original.status);
  EXPECT_EQ(back.reason, original.reason);
  EXPECT_EQ(back.metrics, original.metrics);
  EXPECT_EQ(back.notes, original.notes);
}

TEST(Report, JsonHasVerdictAndChecks) {
  const auto j = to_json(failing_report());
  EXPECT_EQ(j["exit_code"], 10);
  EXPECT_EQ(j["passed"], false);
  EXPECT_EQ(j["reason"], "sigma: gemm sdc 3/4096");
  EXPECT_EQ(j["checks"][0]["metrics"]["sgemm_n512_gflops"], 100.5);
}

TEST(Report, PrometheusTextHasTypedSeries) {
  const std::string text = format_prometheus(failing_report());
  EXPECT_NE(text.find("sigma_healthcheck_passed{level=\"quick\"} 0\n"), std::string::npos);
  EXPECT_NE(text.find("sigma_healthcheck_exit_code{level=\"quick\"} 10\n"), std::string::npos);
  EXPECT_NE(text.find("sigma_healthcheck_check_status{level=\"quick\",check=\"gemm\"} 0\n"), std::string::npos);
  EXPECT_NE(text.find("metric=\"sgemm_n512_gflops\"} 100.5\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE sigma_healthcheck_metric gauge\n"), std::string::npos);
}

TEST(Report, TextfileIsWrittenWholeWithNoTempLeft) {
  TempDir dir;
  write_prometheus_textfile(dir.path.string(), failing_report());
  write_prometheus_textfile(dir.path.string(), failing_report());
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir.path)) names.push_back(entry.path().filename().string());
  EXPECT_EQ(names, std::vector<std::string>{"sigma_healthcheck.prom"});
}

// Root writes the textfile: a link planted at its temp name (anyone who can write metrics_dir could) must not
// make root truncate or overwrite the link's target.
TEST(Report, APlantedLinkAtTheTempNameIsNotFollowed) {
  TempDir dir;
  const fs::path victim = dir.path / "victim";
  std::ofstream(victim) << "precious\n";
  fs::create_directory(dir.path / "metrics");
  fs::create_symlink(victim, dir.path / "metrics" / (".sigma_healthcheck.prom." + std::to_string(getpid()) + ".tmp"));
  write_prometheus_textfile((dir.path / "metrics").string(), failing_report());
  std::ifstream in(victim);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), "precious\n");
  EXPECT_TRUE(fs::is_regular_file(dir.path / "metrics" / "sigma_healthcheck.prom"));
}

TEST(Report, RootRefusesAMetricsOrBaselineDirectoryOthersCanWrite) {
  if (geteuid() != 0) GTEST_SKIP() << "the ownership rules apply to root";
  TempDir dir;
  fs::permissions(dir.path, fs::perms::all);  // 0777
  EXPECT_THROW(write_prometheus_textfile(dir.path.string(), failing_report()), Error);
  EXPECT_THROW(save_baseline((dir.path / "baseline.json").string(), "a", {{"gemm.x", 1.5}}, 3), Error);
  EXPECT_FALSE(fs::exists(dir.path / "sigma_healthcheck.prom"));
  EXPECT_FALSE(fs::exists(dir.path / "baseline.json"));
}

TEST(Report, LedgerGetsAPreflightFailEvent) {
  TempDir dir;
  const std::string ledger = (dir.path / "events.jsonl").string();
  record_report(LedgerWriter(ledger, Component::healthcheck, "test"), failing_report());
  const auto contents = read_ledger(ledger);
  ASSERT_EQ(contents.events.size(), 1u);
  EXPECT_EQ(contents.events[0]["component"], "healthcheck");
  EXPECT_EQ(contents.events[0]["event"], "preflight_fail");
  EXPECT_EQ(contents.events[0]["details"]["reason"], "sigma: gemm sdc 3/4096");
}

TEST(Baseline, SavedMediansLoadBackPerNodeType) {
  TempDir dir;
  const std::string file = (dir.path / "baseline.json").string();
  EXPECT_FALSE(load_baseline(file, "a").has_value());
  save_baseline(file, "a", {{"gemm.x", 1.5}}, 3);
  save_baseline(file, "b", {{"gemm.x", 2.5}}, 3);
  EXPECT_EQ(load_baseline(file, "a")->at("gemm.x"), 1.5);
  EXPECT_EQ(load_baseline(file, "b")->at("gemm.x"), 2.5);
  EXPECT_FALSE(load_baseline(file, "c").has_value());
}

TEST(Baseline, MalformedFileIsAConfigError) {
  TempDir dir;
  const std::string file = (dir.path / "baseline.json").string();
  std::ofstream(file) << "{not json";
  EXPECT_THROW(load_baseline(file, "a"), Error);
}

}  // namespace
}  // namespace sigma::hc
