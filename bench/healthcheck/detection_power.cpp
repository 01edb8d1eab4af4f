// Detection power of the healthcheck, measured rather than claimed:
//  1. the share of single-bit flips in GEMM output that the quick level's verification catches
//     (every product size of the config, fp32 and fp64, random element and bit per trial);
//  2. the smallest GEMM slowdown the quick level flags in every run, against a baseline calibrated on this node;
//  3. the wall time of each level with the given site config.
// Usage: healthcheck_detection_power [--config FILE] [--flips N] [--runs N]
#include <cblas.h>
#include <fmt/format.h>

#include <boost/program_options.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <vector>

#include "sigma/core/cli.hpp"
#include "sigma/healthcheck/baseline.hpp"
#include "sigma/healthcheck/calibrate.hpp"
#include "sigma/healthcheck/fault_injector.hpp"
#include "sigma/healthcheck/gemm_verify.hpp"
#include "sigma/healthcheck/runner.hpp"

namespace po = boost::program_options;
using namespace sigma;
using namespace sigma::hc;

namespace {

double load_average() {
  double one_minute = 0;
  return getloadavg(&one_minute, 1) == 1 ? one_minute : -1;
}

struct FlipTally {
  int trials = 0, detected = 0, by_checksums = 0, benign = 0;
};

template <typename T>
void gemm(std::size_t n, const std::vector<T>& a, const std::vector<T>& b, std::vector<T>& c) {
  const int d = static_cast<int>(n);
  if constexpr (sizeof(T) == 4) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, d, d, d, 1, a.data(), d, b.data(), d, 0, c.data(), d);
  } else {
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, d, d, d, 1, a.data(), d, b.data(), d, 0, c.data(), d);
  }
}

template <typename T>
FlipTally single_bit_flips(std::size_t n, int trials, std::mt19937_64& rng) {
  const long range = exact_operand_range(n, sizeof(T) == 4 ? 24 : 41, 1L << 20);  // as gemm_check.cpp does
  const auto a = random_integer_matrix<T>(n, n, range, rng), b = random_integer_matrix<T>(n, n, range, rng);
  std::vector<T> c(n * n);
  gemm(n, a, b, c);
  std::uniform_int_distribution<std::size_t> element(0, n * n - 1);
  std::uniform_int_distribution<unsigned> bit(0, sizeof(T) * 8 - 1);
  FlipTally tally;
  for (int t = 0; t < trials; ++t) {
    const std::size_t i = element(rng);
    const T original = c[i];
    flip_bit(std::span<T>(c), i, bit(rng));
    ++tally.trials;
    if (c[i] == original) {
      ++tally.benign;  // -0.0 for 0.0: the same number, no computation can tell them apart or be hurt by it
    } else {
      const ProductVerdict v = verify_product(GemmView<T>{a, b, c, n, n, n}, range, rng());
      tally.detected += v.bad_elements > 0;
      tally.by_checksums += !v.abft.clean();
    }
    c[i] = original;
  }
  return tally;
}

void report_flips(const PreflightConfig& config, int trials) {
  fmt::print("1. single-bit flips in GEMM output ({} per product)\n", trials);
  fmt::print("   {:<8} {:>6} {:>9} {:>10} {:>14} {:>7}\n", "type", "n", "flips", "detected", "by checksums", "benign");
  std::mt19937_64 rng(2024);
  for (int size : config.gemm.sizes) {
    const auto n = static_cast<std::size_t>(size);
    for (const auto& [name, tally] : {std::pair{"fp32", single_bit_flips<float>(n, trials, rng)},
                                      std::pair{"fp64", single_bit_flips<double>(n, trials, rng)}}) {
      const int harmful = tally.trials - tally.benign;
      fmt::print("   {:<8} {:>6} {:>9} {:>9.2f}% {:>13.2f}% {:>7}\n", name, n, tally.trials,
                 100.0 * tally.detected / harmful, 100.0 * tally.by_checksums / harmful, tally.benign);
    }
  }
}

int flagged_runs(PreflightConfig config, double slowdown, int runs) {
  config.fault_injection.enabled = slowdown > 1.0;
  config.fault_injection.slowdown = slowdown;
  const RunPlan plan{"quick", {"gemm"}, config.levels.at("quick").budget_s};
  int flagged = 0;
  std::string last_reason;
  for (int r = 0; r < runs; ++r) {
    const RunReport report = run_plan(plan, config);
    if (report.exit_code == ExitCode::ok) continue;
    ++flagged;
    last_reason = report.reason;
  }
  if (std::getenv("SIGMA_BENCH_VERBOSE")) fmt::print(stderr, "slowdown {}: last reason {}\n", slowdown, last_reason);
  return flagged;
}

void report_slowdowns(PreflightConfig config, int runs) {
  const auto dir = std::filesystem::temp_directory_path() / fmt::format("sigma-hc-bench-{}", getpid());
  std::filesystem::create_directories(dir);
  config.baseline_file = (dir / "baseline.json").string();
  const RunPlan gemm_only{"quick", {"gemm"}, config.levels.at("quick").budget_s};
  save_baseline(config.baseline_file, node_type(), calibrate(gemm_only, config, 5), 5);
  const std::vector<double> floors = {config.gemm.min_ratio, 0.9, 0.95};  // the shipped floor and two tighter ones
  fmt::print("2. GEMM slowdown flagged by quick (baseline: median of 5 runs on this node; {} runs each)\n", runs);
  fmt::print("   {:>9}", "slowdown");
  for (double ratio : floors) fmt::print("   flagged (min_ratio {:.2f})", ratio);
  fmt::print("\n");
  for (double slowdown : {1.0, 1.05, 1.1, 1.15, 1.2, 1.25, 1.33, 1.5, 2.0}) {
    fmt::print("   {:>8.2f}x", slowdown);
    for (double ratio : floors) {
      config.gemm.min_ratio = ratio;
      fmt::print("   {:>15}/{:<9}", flagged_runs(config, slowdown, runs), runs);
    }
    fmt::print("\n");
  }
  std::filesystem::remove_all(dir);
}

void report_levels(const PreflightConfig& config) {
  fmt::print("3. wall time per level (one run each; single process, so interconnect skips)\n");
  for (const char* level : {"quick", "standard", "extended"}) {
    const RunReport report = run_plan(make_plan(config, level, {}), config);
    fmt::print("   {:<9} {:6.1f}s of {:6.0f}s budget  exit {}  checks:", level, report.seconds,
               config.levels.at(level).budget_s, to_int(report.exit_code));
    for (const auto& r : report.results) fmt::print(" {}={}({:.1f}s)", r.name, to_string(r.status), r.seconds);
    fmt::print("\n");
  }
}

ExitCode run(int argc, char** argv) {
  po::options_description options("options");
  options.add_options()("config", po::value<std::string>(), "site config (default: built-in defaults)")(
      "flips", po::value<int>()->default_value(2000), "single-bit flips per product")(
      "runs", po::value<int>()->default_value(10), "runs per slowdown factor");
  po::variables_map vm;
  po::store(po::parse_command_line(argc, argv, options), vm);
  po::notify(vm);
  const SiteConfig site = vm.count("config") ? load_site_config(vm["config"].as<std::string>()) : default_site_config();
  PreflightConfig config = site.preflight;
  config.fault_injection = {};
  config.baseline_file.clear();
  fmt::print("node type {}; gemm sizes {}; min_ratio {}; load average {:.2f}\n", node_type(),
             fmt::join(config.gemm.sizes, ","), config.gemm.min_ratio, load_average());
  report_flips(config, vm["flips"].as<int>());
  report_slowdowns(config, vm["runs"].as<int>());
  report_levels(config);
  // Timing figures mean little on a loaded machine; the load says how much to trust them.
  fmt::print("load average at the end {:.2f}\n", load_average());
  return ExitCode::ok;
}

}  // namespace

int main(int argc, char** argv) {
  return sigma::run_main("healthcheck_detection_power", [&] { return run(argc, argv); });
}
