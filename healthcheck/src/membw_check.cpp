// membw: STREAM copy and triad bandwidth, once per NUMA node when hwloc sees several (threads and memory bound
// to that node), compared with the node type's baseline.
#include <hwloc.h>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <thread>
#include <vector>

#include "sigma/healthcheck/check.hpp"
#include "sigma/healthcheck/fault_injector.hpp"

namespace sigma::hc {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int kMaxRepeats = 10;
constexpr double kTriadScalar = 3.0;

struct Domain {
  hwloc_obj_t numa = nullptr;  // null: the whole machine, no binding
  int threads = 1;
};

struct Arrays {
  hwloc_topology_t topology;
  std::size_t bytes;
  double* a;
  double* b;
  double* c;
};

double* allocate(hwloc_topology_t topology, const Domain& d, std::size_t bytes) {
  void* p = d.numa ? hwloc_alloc_membind(topology, bytes, d.numa->nodeset, HWLOC_MEMBIND_BIND,
                                         HWLOC_MEMBIND_BYNODESET)
                   : hwloc_alloc(topology, bytes);
  if (p == nullptr) throw std::runtime_error(fmt::format("cannot allocate {} MiB", bytes >> 20));
  return static_cast<double*>(p);
}

// Runs body(begin, end) on `threads` threads over [0, n), bound to the domain's cores; returns seconds.
double parallel(hwloc_topology_t topology, const Domain& d, std::size_t n,
                const std::function<void(std::size_t, std::size_t)>& body) {
  std::vector<std::thread> pool;
  const auto t0 = Clock::now();
  for (int t = 0; t < d.threads; ++t) {
    const std::size_t begin = n * t / d.threads, end = n * (t + 1) / d.threads;
    pool.emplace_back([&, begin, end] {
      if (d.numa) hwloc_set_cpubind(topology, d.numa->cpuset, HWLOC_CPUBIND_THREAD);
      body(begin, end);
    });
  }
  for (auto& th : pool) th.join();
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Best time of a kernel within the time cap.
double best_of(const std::function<double()>& kernel, double time_cap_s) {
  double best = 1e300;
  const auto start = Clock::now();
  for (int rep = 0; rep < kMaxRepeats; ++rep) {
    best = std::min(best, kernel());
    if (std::chrono::duration<double>(Clock::now() - start).count() > time_cap_s) break;
  }
  return best;
}

std::pair<double, double> stream(hwloc_topology_t topology, const Domain& d, std::size_t bytes, double time_cap_s,
                                 const FaultInjector& faults) {
  const std::size_t n = bytes / sizeof(double);
  double* a = allocate(topology, d, bytes);
  double* b = allocate(topology, d, bytes);
  double* c = allocate(topology, d, bytes);
  // First touch from the bound threads places the pages on the domain's memory.
  parallel(topology, d, n, [&](std::size_t lo, std::size_t hi) {
    for (std::size_t i = lo; i < hi; ++i) a[i] = 1.0, b[i] = 2.0, c[i] = 0.0;
  });
  auto copy = [&] {
    return parallel(topology, d, n, [&](std::size_t lo, std::size_t hi) { std::copy(a + lo, a + hi, c + lo); });
  };
  auto triad = [&] {
    return parallel(topology, d, n, [&](std::size_t lo, std::size_t hi) {
      for (std::size_t i = lo; i < hi; ++i) a[i] = b[i] + kTriadScalar * c[i];
    });
  };
  const double copy_s = faults.slow_down(best_of(copy, time_cap_s / 2));
  const double triad_s = faults.slow_down(best_of(triad, time_cap_s / 2));
  hwloc_free(topology, a, bytes);
  hwloc_free(topology, b, bytes);
  hwloc_free(topology, c, bytes);
  // STREAM's byte counts: copy reads one array and writes one, triad reads two and writes one.
  return {2.0 * bytes / copy_s / 1e9, 3.0 * bytes / triad_s / 1e9};
}

std::vector<Domain> domains(hwloc_topology_t topology) {
  const int numa_nodes = hwloc_get_nbobjs_by_type(topology, HWLOC_OBJ_NUMANODE);
  if (numa_nodes <= 1) {
    return {Domain{nullptr, std::max(1, hwloc_get_nbobjs_by_type(topology, HWLOC_OBJ_CORE))}};
  }
  std::vector<Domain> out;
  for (int i = 0; i < numa_nodes; ++i) {
    hwloc_obj_t numa = hwloc_get_obj_by_type(topology, HWLOC_OBJ_NUMANODE, i);
    const int cores = hwloc_get_nbobjs_inside_cpuset_by_type(topology, numa->cpuset, HWLOC_OBJ_CORE);
    if (cores > 0) out.push_back(Domain{numa, cores});
  }
  return out;
}

}  // namespace

CheckResult run_membw_check(const CheckContext& ctx) {
  CheckResult result;
  result.name = "membw";
  hwloc_topology_t topology;
  hwloc_topology_init(&topology);
  hwloc_topology_load(topology);
  const auto all = domains(topology);
  const std::size_t bytes = static_cast<std::size_t>(ctx.config->membw.size_mib) << 20;
  const double time_cap_s = ctx.budget_s * 0.5 / static_cast<double>(all.size());
  const FaultInjector faults(ctx.config->fault_injection);
  for (std::size_t i = 0; i < all.size(); ++i) {
    const auto [copy, triad] = stream(topology, all[i], bytes, time_cap_s, faults);
    const std::string prefix = all.size() > 1 ? fmt::format("numa{}_", all[i].numa->os_index) : "";
    result.metrics[prefix + "copy_gbs"] = copy;
    result.metrics[prefix + "triad_gbs"] = triad;
  }
  hwloc_topology_destroy(topology);
  for (const auto& [metric, value] : result.metrics) {
    const std::string slow = throughput_verdict(ctx, "membw", metric, value, ctx.config->membw.min_ratio);
    if (!slow.empty() && result.status == CheckStatus::pass) {
      result.status = CheckStatus::fail;
      result.reason = slow;
      result.below_baseline = true;
    }
  }
  return result;
}

}  // namespace sigma::hc
