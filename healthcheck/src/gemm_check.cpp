// gemm: sgemm and dgemm (OpenBLAS) and bf16 (oneDNN) at each configured size; every product verified
// (gemm_verify.hpp) and its GFLOP/s compared with the node type's baseline.
//
// Throughput is measured on one core in that thread's CPU time. Wall-clock, all-core timing on a node with any
// other load (a leftover process, a neighbour's build on a shared test machine) swings by whole multiples
// (healthcheck/README.md, "Checks"), because every
// BLAS barrier waits for whichever thread the scheduler preempted; per-core CPU time does not see the neighbours
// and still drops with a core that is throttled, capped or slow.
#include <cblas.h>
#include <fmt/format.h>

#include <time.h>

#include <chrono>
#include <functional>

#include "sigma/healthcheck/bf16_gemm.hpp"
#include "sigma/healthcheck/check.hpp"
#include "sigma/healthcheck/fault_injector.hpp"
#include "sigma/healthcheck/gemm_verify.hpp"

namespace sigma::hc {
namespace {

using Clock = std::chrono::steady_clock;

// Repeat each product until the best time is stable: at least kMinRepeats and kMinTimingSeconds (a 256^3 product
// takes well under a millisecond, and one preempted repeat must not decide the verdict), at most the time cap
// (a share of the check's budget) or kMaxRepeats.
constexpr int kMinRepeats = 3;
constexpr int kMaxRepeats = 200;
constexpr double kMinTimingSeconds = 0.15;
constexpr double kTimingShareOfBudget = 0.5;

struct GemmTotals {
  std::size_t bad = 0;
  std::size_t elements = 0;
  std::string slow_reason;
};

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Times `product` (best of up to kMaxRepeats, in this thread's CPU seconds) within `time_cap_s` of wall time.
double best_time(const std::function<void()>& product, double time_cap_s) {
  double best = 1e300;
  const auto start = Clock::now();
  for (int rep = 0; rep < kMaxRepeats; ++rep) {
    const double t0 = thread_cpu_seconds();
    product();
    best = std::min(best, thread_cpu_seconds() - t0);
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    if (elapsed > time_cap_s || (rep + 1 >= kMinRepeats && elapsed > kMinTimingSeconds)) break;
  }
  return best;
}

template <typename T>
void judge(const std::string& metric, std::size_t n, long range, double seconds, std::vector<T>& a,
           std::vector<T>& b, std::vector<T>& c, const CheckContext& ctx, CheckResult& result, GemmTotals& totals,
           std::mt19937_64& rng) {
  FaultInjector(ctx.config->fault_injection).corrupt_gemm_output(std::span<T>(c), rng);
  GemmView<T> view{a, b, c, n, n, n};
  const ProductVerdict verdict = verify_product(view, range, rng());
  totals.bad += verdict.bad_elements;
  totals.elements += verdict.elements;
  const double gflops = 2.0 * n * n * n / seconds / 1e9;
  result.metrics[metric] = gflops;
  if (totals.slow_reason.empty()) {
    totals.slow_reason = throughput_verdict(ctx, "gemm", metric, gflops, ctx.config->gemm.min_ratio);
  }
}

template <typename T>
void run_blas(std::size_t n, const CheckContext& ctx, double time_cap_s, CheckResult& result, GemmTotals& totals,
              std::mt19937_64& rng) {
  constexpr bool single = sizeof(T) == 4;
  const long range = exact_operand_range(n, single ? 24 : 41, 1L << 20);
  auto a = random_integer_matrix<T>(n, n, range, rng);
  auto b = random_integer_matrix<T>(n, n, range, rng);
  std::vector<T> c(n * n);
  const int dim = static_cast<int>(n);
  auto product = [&] {
    if constexpr (single) {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, dim, dim, dim, 1, a.data(), dim, b.data(), dim, 0,
                  c.data(), dim);
    } else {
      cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, dim, dim, dim, 1, a.data(), dim, b.data(), dim, 0,
                  c.data(), dim);
    }
  };
  product();  // warm-up: thread pool start and page faults are not the node's GEMM speed
  const double seconds = FaultInjector(ctx.config->fault_injection).slow_down(best_time(product, time_cap_s));
  judge(fmt::format("{}gemm_n{}_core_gflops", single ? 's' : 'd', n), n, range, seconds, a, b, c, ctx, result,
        totals, rng);
}

void run_bf16(std::size_t n, const CheckContext& ctx, double time_cap_s, CheckResult& result, GemmTotals& totals,
              std::mt19937_64& rng) {
  const long range = exact_operand_range(n, 24, 255);  // bf16 holds integers up to 256 exactly
  auto a = random_integer_matrix<float>(n, n, range, rng);
  auto b = random_integer_matrix<float>(n, n, range, rng);
  std::vector<float> c(n * n);
  Bf16Matmul matmul(n, a, b);
  auto product = [&] { matmul.run(c); };
  product();
  const double seconds = FaultInjector(ctx.config->fault_injection).slow_down(best_time(product, time_cap_s));
  judge(fmt::format("bf16gemm_n{}_core_gflops", n), n, range, seconds, a, b, c, ctx, result, totals, rng);
}

}  // namespace

CheckResult run_gemm_check(const CheckContext& ctx) {
  CheckResult result;
  result.name = "gemm";
  GemmTotals totals;
  openblas_set_num_threads(1);  // one core, timed in CPU time: see the top of this file
  std::mt19937_64 rng(std::random_device{}());  // fresh data each run: a fault must not hide behind one pattern
  const std::string bf16_missing = bf16_gemm_unavailable();
  if (!bf16_missing.empty()) result.notes.push_back("bf16: skipped (" + bf16_missing + ")");
  const std::size_t products = ctx.config->gemm.sizes.size() * (bf16_missing.empty() ? 3 : 2);
  const double time_cap_s = ctx.budget_s * kTimingShareOfBudget / static_cast<double>(products);
  // OpenBLAS products first, then oneDNN's: each library's worker threads spin for a while after a call, and
  // interleaving the two on few cores would time one library against the other's spinning threads.
  for (int size : ctx.config->gemm.sizes) {
    run_blas<float>(static_cast<std::size_t>(size), ctx, time_cap_s, result, totals, rng);
    run_blas<double>(static_cast<std::size_t>(size), ctx, time_cap_s, result, totals, rng);
  }
  for (int size : ctx.config->gemm.sizes) {
    if (bf16_missing.empty()) run_bf16(static_cast<std::size_t>(size), ctx, time_cap_s, result, totals, rng);
  }
  if (totals.bad > 0) {
    result.status = CheckStatus::fail;
    result.reason = fmt::format("gemm sdc {}/{}", totals.bad, totals.elements);
  } else if (!totals.slow_reason.empty()) {
    result.status = CheckStatus::fail;
    result.reason = totals.slow_reason;
    result.below_baseline = true;
  }
  result.metrics["bad_elements"] = static_cast<double>(totals.bad);
  return result;
}

}  // namespace sigma::hc
