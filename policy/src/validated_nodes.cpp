#include "sigma/policy/validated_nodes.hpp"

#include <fstream>

#include "sigma/policy/site_config.hpp"

namespace sigma {
namespace {
constexpr const char* kArea = "validated";
}

void record_node_passed(StateDir& state, const std::string& node, const std::string& level, double now) {
  state.write(kArea, node, {{"node", node}, {"level", level}, {"passed_at", now}, {"boot_id", current_boot_id()}});
}

void forget_node(StateDir& state, const std::string& node) { state.remove(kArea, node); }

std::optional<NodeValidation> node_validation(const StateDir& state, const std::string& node) {
  const auto record = state.read(kArea, node);
  if (!record) return std::nullopt;
  NodeValidation v;
  v.level = record->value("level", "");
  v.passed_at = record->value("passed_at", 0.0);
  v.boot_id = record->value("boot_id", "");
  return v;
}

bool validation_covers(const std::optional<NodeValidation>& validation, PreflightLevel level, double ttl_s,
                       double now, const std::string& boot_id) {
  if (!validation || ttl_s <= 0) return false;
  const auto have = parse_level(validation->level);
  if (!have || *have == PreflightLevel::off || *have < level) return false;
  if (validation->boot_id != boot_id) return false;
  const double age = now - validation->passed_at;
  return age >= 0 && age < ttl_s;  // a record from the future (clock stepped back) is not trusted
}

std::string current_boot_id() {
  std::ifstream in("/proc/sys/kernel/random/boot_id");
  std::string id;
  std::getline(in, id);
  return id;
}

}  // namespace sigma
