#include "sigma/core/site_config.hpp"

#include <fmt/format.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <regex>

#include "sigma/core/error.hpp"
#include "sigma/core/heartbeat.hpp"
#include "sigma/core/trusted_path.hpp"
#include "taxonomy_yaml.hpp"
#include "sigma/core/yaml_section.hpp"

namespace sigma {

extern const char kDefaultTaxonomyYaml[];  // site-configs/taxonomy.yaml, compiled in by CMake

namespace {

const std::vector<std::string> kCheckNames = {"gemm", "membw", "memtest", "interconnect", "cuda"};
const std::vector<std::string> kLevelNames = {"quick", "standard", "extended"};
constexpr int kMaxInt = 1'000'000;
constexpr double kMaxSeconds = 30.0 * 86400;
constexpr std::size_t kMaxHostlistLength = 1024;

void read_cluster(yaml::Section s, ClusterConfig& out) {
  s.read_required("name", out.name);
  s.read("spare_nodes", out.spare_nodes, 0, 10'000);
  s.finish();
}

void read_level(yaml::Section s, PreflightLevel& out) {
  s.read("budget_s", out.budget_s, 1, kMaxSeconds);
  s.read("checks", out.checks, kCheckNames);
  if (out.checks.empty()) s.fail_at("checks", "expected at least one check");
  s.finish();
}

void read_levels(yaml::Section s, std::map<std::string, PreflightLevel>& out) {
  for (const auto& name : kLevelNames) {
    read_level(s.section(name), out[name]);
  }
  s.finish();
}

void read_gemm(yaml::Section s, GemmCheckConfig& out) {
  s.read("sizes", out.sizes, 16, 16384);
  if (out.sizes.empty()) s.fail_at("sizes", "expected at least one matrix size");
  s.read("rel_tolerance", out.rel_tolerance, 1e-9, 1e-1);
  s.read("min_ratio", out.min_ratio, 0, 1);
  s.finish();
}

void read_membw(yaml::Section s, MembwCheckConfig& out) {
  s.read("size_mib", out.size_mib, 1, 65536);
  s.read("min_ratio", out.min_ratio, 0, 1);
  s.finish();
}

void read_memtest(yaml::Section s, MemtestCheckConfig& out) {
  s.read("share", out.share, 0, 0.9);
  s.read("max_mib", out.max_mib, 1, 1 << 20);
  s.finish();
}

void read_interconnect(yaml::Section s, InterconnectCheckConfig& out) {
  s.read("size_kib", out.size_kib, 1, 1 << 20);
  s.read("min_ratio", out.min_ratio, 0, 1);
  s.finish();
}

void read_check_name(yaml::Section& s, const std::string& key, std::string& out) {
  s.read(key, out);
  if (out.empty()) return;
  for (const auto& name : kCheckNames) {
    if (name == out) return;
  }
  s.fail_at(key, fmt::format("expected one of {}, got \"{}\"", fmt::join(kCheckNames, ", "), out));
}

// A Slurm hostlist expression such as "n[1-3,7],gpu01": checked here for its shape; matched against a node
// name by libslurm where a node applies it (healthcheck/).
void read_hostlist(yaml::Section& s, const std::string& key, std::string& out) {
  s.read(key, out);
  static const std::regex shape(R"(^[A-Za-z0-9._-]+(\[[0-9]+(-[0-9]+)?(,[0-9]+(-[0-9]+)?)*\][A-Za-z0-9._-]*)?)"
                                R"((,[A-Za-z0-9._-]+(\[[0-9]+(-[0-9]+)?(,[0-9]+(-[0-9]+)?)*\][A-Za-z0-9._-]*)?)*$)");
  if (out.empty()) return;
  if (out.size() > kMaxHostlistLength || !std::regex_match(out, shape)) {
    s.fail_at(key, fmt::format("expected a Slurm hostlist such as \"n[1-3,7]\" (at most {} characters), got \"{}\"",
                               kMaxHostlistLength, out));
  }
}

void read_fault_injection(yaml::Section s, FaultInjectionConfig& out) {
  s.read("enabled", out.enabled);
  s.read("gemm_bitflip_rate", out.gemm_bitflip_rate, 0, 1);
  s.read("slowdown", out.slowdown, 1, 1000);
  read_check_name(s, "hang_check", out.hang_check);
  read_check_name(s, "crash_check", out.crash_check);
  read_hostlist(s, "nodes", out.nodes);
  s.finish();
}

void read_recycle(yaml::Section s, RecycleConfig& out) {
  s.read("enabled", out.enabled);
  s.read("hold_off_s", out.hold_off_s, 0, kMaxSeconds);
  s.read("level", out.level);
  if (preflight_level_rank(out.level) < 1) {
    s.fail_at("level", fmt::format("expected one of {}, got \"{}\"", fmt::join(kLevelNames, ", "), out.level));
  }
  s.read("flap_drains", out.flap_drains, 0, 1000);
  s.read("flap_window_s", out.flap_window_s, 1, kMaxSeconds);
  s.finish();
}

void require_absolute(yaml::Section& s, const std::string& key, const std::string& path, bool may_be_empty) {
  if (path.empty() && may_be_empty) return;
  if (path.empty() || path.front() != '/') {
    s.fail_at(key, fmt::format("expected an absolute path, got \"{}\"", path));
  }
}

void read_preflight(yaml::Section s, PreflightConfig& out) {
  s.read("default_level", out.default_level);
  read_levels(s.section("levels"), out.levels);
  if (!out.levels.count(out.default_level)) {
    s.fail_at("default_level", fmt::format("expected one of {}, got \"{}\"", fmt::join(kLevelNames, ", "),
                                           out.default_level));
  }
  read_gemm(s.section("gemm"), out.gemm);
  read_membw(s.section("membw"), out.membw);
  read_memtest(s.section("memtest"), out.memtest);
  read_interconnect(s.section("interconnect"), out.interconnect);
  s.read("baseline_file", out.baseline_file);
  require_absolute(s, "baseline_file", out.baseline_file, true);
  s.read("result_ttl_s", out.result_ttl_s, 0, kMaxSeconds);
  read_fault_injection(s.section("fault_injection"), out.fault_injection);
  read_recycle(s.section("recycle"), out.recycle);
  s.finish();
}

void read_backoff(yaml::Section s, BackoffConfig& out) {
  s.read("initial_s", out.initial_s, 0, 86400);
  s.read("max_s", out.max_s, 0, 86400);
  s.read("factor", out.factor, 1, 100);
  if (out.max_s < out.initial_s) {
    s.fail_at("max_s", fmt::format("expected a number >= initial_s ({}), got {}", out.initial_s, out.max_s));
  }
  s.finish();
}

void read_policy(yaml::Section s, PolicyConfig& out) {
  s.read("max_restarts", out.max_restarts, 0, 1000);
  s.read("max_requeues", out.max_requeues, 0, 1000);
  read_backoff(s.section("backoff"), out.backoff);
  s.read("exclude_for_s", out.exclude_for_s, 0, 365.0 * 86400);
  s.read("heartbeat_timeout_s", out.heartbeat_timeout_s, 1, kMaxSeconds);
  s.read("startup_timeout_s", out.startup_timeout_s, 1, kMaxSeconds);
  s.read("liveness_timeout_s", out.liveness_timeout_s, 0, kMaxSeconds);
  // At least two beat periods: one late beat on a busy node must not pass for a lost rank.
  if (out.liveness_timeout_s < 2 * kLivenessPeriod_s) {
    s.fail_at("liveness_timeout_s", fmt::format("expected at least {} (two periods of the ranks' liveness beat, "
                                                "one every {} s), got {}",
                                                2 * kLivenessPeriod_s, kLivenessPeriod_s, out.liveness_timeout_s));
  }
  s.read("exclude_stragglers", out.exclude_stragglers);
  s.finish();
}

void read_paths(yaml::Section s, PathsConfig& out) {
  const std::pair<const char*, std::string*> fields[] = {
      {"state_dir", &out.state_dir}, {"ledger", &out.ledger}, {"healthcheck_bin", &out.healthcheck_bin}};
  for (const auto& [key, value] : fields) {
    s.read(key, *value);
    require_absolute(s, key, *value, false);
  }
  s.read("metrics_dir", out.metrics_dir);
  require_absolute(s, "metrics_dir", out.metrics_dir, true);
  s.finish();
}

std::vector<TaxonomyRule> read_taxonomy(yaml::Section s) {
  bool include_defaults = true;
  s.read("include_defaults", include_defaults);
  std::vector<TaxonomyRule> rules = read_taxonomy_rules(s, "rules", kMaxTaxonomyRules);
  s.finish();
  if (include_defaults) {
    auto defaults = default_taxonomy_rules();
    rules.insert(rules.end(), defaults.begin(), defaults.end());
  }
  return rules;
}

}  // namespace

SiteConfig default_site_config() {
  SiteConfig config;
  config.preflight.levels["quick"] = {30, {"gemm", "membw", "memtest"}};
  config.preflight.levels["standard"] = {120, {"gemm", "membw", "memtest", "interconnect"}};
  config.preflight.levels["extended"] = {900, {"gemm", "membw", "memtest", "interconnect", "cuda"}};
  config.taxonomy = default_taxonomy_rules();
  return config;
}

SiteConfig parse_site_config(const std::string& yaml_text, const std::string& name) {
  if (yaml_text.size() > kMaxSiteConfigBytes) {
    throw Error(ExitCode::config, fmt::format("{}: site config of {} bytes, more than the limit of {}", name,
                                              yaml_text.size(), kMaxSiteConfigBytes));
  }
  YAML::Node root = yaml::parse(yaml_text, name);
  if (!yaml::expanded_size_at_most(root, kMaxSiteConfigNodes)) {
    throw Error(ExitCode::config, fmt::format("{}: site config of more than {} YAML nodes, the limit (each use "
                                              "of an alias counts its anchor's nodes again)",
                                              name, kMaxSiteConfigNodes));
  }
  if (!root.IsDefined() || root.IsNull()) {
    yaml::fail(name, YAML::Mark(), "", "the file is empty (expected a mapping with at least cluster.name)");
  }
  try {
    SiteConfig config = default_site_config();
    config.source = name;
    yaml::Section top(root, "", name, root.Mark());
    read_cluster(top.section("cluster"), config.cluster);
    read_preflight(top.section("preflight"), config.preflight);
    read_policy(top.section("policy"), config.policy);
    read_paths(top.section("paths"), config.paths);
    config.taxonomy = read_taxonomy(top.section("taxonomy"));
    top.finish();
    return config;
  } catch (const YAML::Exception& e) {
    yaml::fail(name, e.mark, "", "YAML error: " + e.msg);
  }
}

SiteConfig load_site_config(const std::string& path) {
  return parse_site_config(yaml::read_file(path, "site config"), path);
}

SiteConfig load_site_config_as_admin(const std::string& path) {
  // One descriptor, opened below directories only root can change, is checked and read (trusted_path.hpp).
  return parse_site_config(read_regular_file(path, kMaxConfigBytes, "site config", true), path);
}

int preflight_level_rank(const std::string& level) {
  if (level == "off") return 0;
  for (std::size_t i = 0; i < kLevelNames.size(); ++i) {
    if (kLevelNames[i] == level) return static_cast<int>(i) + 1;
  }
  return -1;
}

std::vector<TaxonomyRule> default_taxonomy_rules() {
  static const std::vector<TaxonomyRule> rules = [] {
    const std::string name = "site-configs/taxonomy.yaml";
    YAML::Node root = yaml::parse(kDefaultTaxonomyYaml, name);
    yaml::Section top(root, "", name, root.Mark());
    auto parsed = read_taxonomy_rules(top, "rules", kMaxTaxonomyRules);
    top.finish();
    return parsed;
  }();
  return rules;
}

}  // namespace sigma
