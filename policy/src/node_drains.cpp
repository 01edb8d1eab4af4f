#include "sigma/policy/node_drains.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace sigma {
namespace {
constexpr const char* kArea = "drains";
constexpr const char* kFlappingPrefix = "sigma: flapping ";
}  // namespace

std::vector<double> node_drain_times(const StateDir& state, const std::string& node) {
  const auto record = state.read(kArea, node);
  std::vector<double> times;
  if (!record || !record->contains("drains") || !record->at("drains").is_array()) return times;
  for (const auto& t : record->at("drains")) {
    if (t.is_number()) times.push_back(t.get<double>());
  }
  std::sort(times.begin(), times.end());
  return times;
}

void record_node_drain(StateDir& state, const std::string& node, double at) {
  std::vector<double> times = node_drain_times(state, node);
  times.push_back(at);
  std::sort(times.begin(), times.end());
  if (times.size() > kMaxDrainTimes) times.erase(times.begin(), times.end() - kMaxDrainTimes);
  state.write(kArea, node, {{"node", node}, {"drains", times}});
}

std::size_t drains_within(const std::vector<double>& times, double now, double window_s) {
  return static_cast<std::size_t>(std::count_if(times.begin(), times.end(), [&](double t) { return t > now - window_s; }));
}

bool recently_drained(const StateDir& state, const std::string& node, const RecycleConfig& recycle, double now) {
  return drains_within(node_drain_times(state, node), now, recycle.flap_window_s) > 0;
}

double last_drain(const std::vector<double>& times) { return times.empty() ? 0 : times.back(); }

bool is_flapping(std::size_t drains, const RecycleConfig& recycle) {
  return recycle.flap_drains > 0 && drains >= static_cast<std::size_t>(recycle.flap_drains);
}

std::string flapping_reason(std::size_t drains, const RecycleConfig& recycle) {
  return fmt::format("{}{} drains in {:.0f} s", kFlappingPrefix, drains, recycle.flap_window_s);
}

bool is_flapping_reason(const std::string& reason) { return reason.rfind(kFlappingPrefix, 0) == 0; }

}  // namespace sigma
