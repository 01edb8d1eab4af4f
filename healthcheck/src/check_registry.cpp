// The fixed set of checks. Every name from the command line or the config is looked up here, so nothing
// outside this table can ever run.
#include <fmt/format.h>

#include <utility>

#include "sigma/healthcheck/check.hpp"

namespace sigma::hc {
namespace {

const std::vector<std::pair<std::string, CheckFunction>>& registry() {
  static const std::vector<std::pair<std::string, CheckFunction>> table = {
      {"gemm", &run_gemm_check},
      {"membw", &run_membw_check},
      {"memtest", &run_memtest_check},
      {"interconnect", &run_interconnect_check},
      {"cuda", &run_cuda_check},
  };
  return table;
}

}  // namespace

const std::vector<std::string>& check_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const auto& [name, fn] : registry()) out.push_back(name);
    return out;
  }();
  return names;
}

std::optional<CheckFunction> find_check(const std::string& name) {
  for (const auto& [known, fn] : registry()) {
    if (known == name) return fn;
  }
  return std::nullopt;
}

std::string throughput_verdict(const CheckContext& ctx, const std::string& check, const std::string& metric,
                               double measured, double min_ratio) {
  if (ctx.baseline == nullptr) return "";
  auto it = ctx.baseline->find(check + "." + metric);
  if (it == ctx.baseline->end() || it->second <= 0) return "";
  const double ratio = measured / it->second;
  if (ratio >= min_ratio) return "";
  return fmt::format("{} slow {} {:.0f}%", check, metric, ratio * 100);
}

}  // namespace sigma::hc
