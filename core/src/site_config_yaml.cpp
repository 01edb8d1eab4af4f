// Emits the effective site config (defaults filled in) as YAML that load_site_config() reads back unchanged.
#include <yaml-cpp/yaml.h>

#include <csignal>
#include <cstring>

#include "sigma/core/site_config.hpp"

namespace sigma {
namespace {

void emit_levels(YAML::Emitter& out, const std::map<std::string, PreflightLevel>& levels) {
  out << YAML::Key << "levels" << YAML::Value << YAML::BeginMap;
  for (const auto& [name, level] : levels) {
    out << YAML::Key << name << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "budget_s" << YAML::Value << level.budget_s;
    out << YAML::Key << "checks" << YAML::Value << YAML::Flow << level.checks;
    out << YAML::EndMap;
  }
  out << YAML::EndMap;
}

void emit_preflight(YAML::Emitter& out, const PreflightConfig& p) {
  out << YAML::Key << "preflight" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "default_level" << YAML::Value << p.default_level;
  emit_levels(out, p.levels);
  out << YAML::Key << "gemm" << YAML::Value << YAML::BeginMap << YAML::Key << "sizes" << YAML::Value << YAML::Flow
      << p.gemm.sizes << YAML::Key << "rel_tolerance" << YAML::Value << p.gemm.rel_tolerance << YAML::Key
      << "min_ratio" << YAML::Value << p.gemm.min_ratio << YAML::EndMap;
  out << YAML::Key << "membw" << YAML::Value << YAML::BeginMap << YAML::Key << "size_mib" << YAML::Value
      << p.membw.size_mib << YAML::Key << "min_ratio" << YAML::Value << p.membw.min_ratio << YAML::EndMap;
  out << YAML::Key << "memtest" << YAML::Value << YAML::BeginMap << YAML::Key << "share" << YAML::Value
      << p.memtest.share << YAML::Key << "max_mib" << YAML::Value << p.memtest.max_mib << YAML::EndMap;
  out << YAML::Key << "interconnect" << YAML::Value << YAML::BeginMap << YAML::Key << "size_kib" << YAML::Value
      << p.interconnect.size_kib << YAML::Key << "min_ratio" << YAML::Value << p.interconnect.min_ratio
      << YAML::EndMap;
  out << YAML::Key << "baseline_file" << YAML::Value << p.baseline_file;
  out << YAML::Key << "result_ttl_s" << YAML::Value << p.result_ttl_s;
  const auto& f = p.fault_injection;
  out << YAML::Key << "fault_injection" << YAML::Value << YAML::BeginMap << YAML::Key << "enabled" << YAML::Value
      << f.enabled << YAML::Key << "gemm_bitflip_rate" << YAML::Value << f.gemm_bitflip_rate << YAML::Key
      << "slowdown" << YAML::Value << f.slowdown << YAML::Key << "hang_check" << YAML::Value << f.hang_check
      << YAML::Key << "crash_check" << YAML::Value << f.crash_check << YAML::Key << "nodes" << YAML::Value
      << f.nodes << YAML::EndMap;
  out << YAML::Key << "recycle" << YAML::Value << YAML::BeginMap << YAML::Key << "enabled" << YAML::Value
      << p.recycle.enabled << YAML::Key << "hold_off_s" << YAML::Value << p.recycle.hold_off_s << YAML::Key
      << "level" << YAML::Value << p.recycle.level << YAML::Key << "flap_drains" << YAML::Value
      << p.recycle.flap_drains << YAML::Key << "flap_window_s" << YAML::Value << p.recycle.flap_window_s << YAML::EndMap;
  out << YAML::EndMap;
}

void emit_policy(YAML::Emitter& out, const PolicyConfig& p) {
  out << YAML::Key << "policy" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "max_restarts" << YAML::Value << p.max_restarts;
  out << YAML::Key << "max_requeues" << YAML::Value << p.max_requeues;
  out << YAML::Key << "backoff" << YAML::Value << YAML::BeginMap << YAML::Key << "initial_s" << YAML::Value
      << p.backoff.initial_s << YAML::Key << "max_s" << YAML::Value << p.backoff.max_s << YAML::Key << "factor"
      << YAML::Value << p.backoff.factor << YAML::EndMap;
  out << YAML::Key << "exclude_for_s" << YAML::Value << p.exclude_for_s;
  out << YAML::Key << "heartbeat_timeout_s" << YAML::Value << p.heartbeat_timeout_s;
  out << YAML::Key << "startup_timeout_s" << YAML::Value << p.startup_timeout_s;
  out << YAML::Key << "liveness_timeout_s" << YAML::Value << p.liveness_timeout_s;
  out << YAML::Key << "exclude_stragglers" << YAML::Value << p.exclude_stragglers;
  out << YAML::EndMap;
}

void emit_paths(YAML::Emitter& out, const PathsConfig& p) {
  out << YAML::Key << "paths" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "state_dir" << YAML::Value << p.state_dir;
  out << YAML::Key << "ledger" << YAML::Value << p.ledger;
  out << YAML::Key << "healthcheck_bin" << YAML::Value << p.healthcheck_bin;
  out << YAML::Key << "metrics_dir" << YAML::Value << p.metrics_dir;
  out << YAML::EndMap;
}

std::vector<std::string> signal_names(const std::vector<int>& signals) {
  std::vector<std::string> names;
  for (int s : signals) {
    const char* abbrev = sigabbrev_np(s);
    names.push_back(abbrev ? std::string("SIG") + abbrev : std::to_string(s));
  }
  return names;
}

void emit_rule(YAML::Emitter& out, const TaxonomyRule& rule) {
  out << YAML::BeginMap;
  out << YAML::Key << "name" << YAML::Value << rule.name;
  if (!rule.exit_codes.empty()) out << YAML::Key << "exit_codes" << YAML::Value << YAML::Flow << rule.exit_codes;
  if (!rule.signals.empty()) {
    out << YAML::Key << "signals" << YAML::Value << YAML::Flow << signal_names(rule.signals);
  }
  if (!rule.pattern.empty()) out << YAML::Key << "pattern" << YAML::Value << YAML::SingleQuoted << rule.pattern;
  out << YAML::Key << "class" << YAML::Value << std::string(to_string(rule.failure_class));
  out << YAML::Key << "action" << YAML::Value << std::string(to_string(rule.action));
  out << YAML::Key << "fault_code" << YAML::Value << rule.fault_code;
  out << YAML::EndMap;
}

}  // namespace

std::string to_yaml(const SiteConfig& config) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  out << YAML::Key << "cluster" << YAML::Value << YAML::BeginMap << YAML::Key << "name" << YAML::Value
      << config.cluster.name << YAML::Key << "spare_nodes" << YAML::Value << config.cluster.spare_nodes
      << YAML::EndMap;
  emit_preflight(out, config.preflight);
  emit_policy(out, config.policy);
  emit_paths(out, config.paths);
  // The rules are printed in full (site rules, then defaults), so include_defaults is false on re-read.
  out << YAML::Key << "taxonomy" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "include_defaults" << YAML::Value << false;
  out << YAML::Key << "rules" << YAML::Value << YAML::BeginSeq;
  for (const auto& rule : config.taxonomy) emit_rule(out, rule);
  out << YAML::EndSeq << YAML::EndMap;
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

}  // namespace sigma
