// The site config's keys, one table per section (config_keys.hpp): load_site_config() reads them from these
// tables and to_yaml() prints the effective config from the same tables, in the same order.
#include "site_config_keys.hpp"

#include <fmt/format.h>
#include <re2/re2.h>

#include "config_keys.hpp"
#include "sigma/contracts/heartbeat.hpp"
#include "sigma/contracts/preflight_level.hpp"
#include "taxonomy_yaml.hpp"

namespace sigma {
namespace {

using namespace config_keys;

const std::vector<std::string> kCheckNames = {"gemm", "membw", "memtest", "interconnect", "cuda"};
// The burn-in levels' names, from the contracts (preflight_level.hpp), weakest first.
const std::vector<std::string> kLevelNames = [] {
  std::vector<std::string> names;
  for (const auto level : kBurnInLevels) names.push_back(level_name(level));
  return names;
}();
constexpr double kMaxSeconds = 30.0 * 86400;
constexpr std::size_t kMaxHostlistLength = 1024;

// A Slurm hostlist expression such as "n[1-3,7],gpu01": checked here for its shape; matched against a node
// name by libslurm where a node applies it (healthcheck/).
std::string hostlist_problem(const std::string& hostlist) {
  static const RE2 shape(R"([A-Za-z0-9._-]+(\[[0-9]+(-[0-9]+)?(,[0-9]+(-[0-9]+)?)*\][A-Za-z0-9._-]*)?)"
                         R"((,[A-Za-z0-9._-]+(\[[0-9]+(-[0-9]+)?(,[0-9]+(-[0-9]+)?)*\][A-Za-z0-9._-]*)?)*)");
  if (hostlist.empty()) return "";
  if (hostlist.size() <= kMaxHostlistLength && RE2::FullMatch(hostlist, shape)) return "";
  return fmt::format("expected a Slurm hostlist such as \"n[1-3,7]\" (at most {} characters), got \"{}\"",
                     kMaxHostlistLength, hostlist);
}

Keys<ClusterConfig> cluster_keys() {
  return {required_text("name", &ClusterConfig::name),
          integer("spare_nodes", &ClusterConfig::spare_nodes, 0, 10'000)};
}

Keys<LevelChecks> level_keys() {
  return {number("budget_s", &LevelChecks::budget_s, 1, kMaxSeconds),
          names("checks", &LevelChecks::checks, kCheckNames, not_empty<std::string>("expected at least one check"))};
}

// quick, standard and extended, each always present: read in that order, printed in the map's.
Key<PreflightConfig> levels_key(const char* name) {
  const Keys<LevelChecks> keys = level_keys();
  return {name,
          [=](yaml::Section& s, PreflightConfig& out, Warnings& warnings) {
            yaml::Section levels = s.section(name);
            for (const auto& level : kLevelNames) read_keys(levels.section(level), out.levels[level], keys, warnings);
            levels.finish();
          },
          [=](YAML::Emitter& out, const PreflightConfig& in) {
            out << YAML::BeginMap;
            for (const auto& [level, config] : in.levels) {
              out << YAML::Key << level << YAML::Value << YAML::BeginMap;
              print_keys(out, config, keys);
              out << YAML::EndMap;
            }
            out << YAML::EndMap;
          }};
}

Keys<GemmCheckConfig> gemm_keys() {
  return {integers("sizes", &GemmCheckConfig::sizes, 16, 16384, not_empty<int>("expected at least one matrix size")),
          retired<GemmCheckConfig>("rel_tolerance",
                                   "the gemm check multiplies exact integer operands and verifies every product "
                                   "exactly, so no tolerance applies"),
          number("min_ratio", &GemmCheckConfig::min_ratio, 0, 1)};
}

Keys<MembwCheckConfig> membw_keys() {
  return {integer("size_mib", &MembwCheckConfig::size_mib, 1, 65536),
          number("min_ratio", &MembwCheckConfig::min_ratio, 0, 1)};
}

Keys<MemtestCheckConfig> memtest_keys() {
  return {number("share", &MemtestCheckConfig::share, 0, 0.9),
          integer("max_mib", &MemtestCheckConfig::max_mib, 1, 1 << 20)};
}

Keys<InterconnectCheckConfig> interconnect_keys() {
  return {integer("size_kib", &InterconnectCheckConfig::size_kib, 1, 1 << 20),
          number("min_ratio", &InterconnectCheckConfig::min_ratio, 0, 1)};
}

Keys<FaultInjectionConfig> fault_injection_keys() {
  using F = FaultInjectionConfig;
  return {flag("enabled", &F::enabled),
          number("gemm_bitflip_rate", &F::gemm_bitflip_rate, 0, 1),
          number("slowdown", &F::slowdown, 1, 1000),
          text("hang_check", &F::hang_check, one_of(kCheckNames, true)),
          text("crash_check", &F::crash_check, one_of(kCheckNames, true)),
          text("nodes", &F::nodes, hostlist_problem)};
}

Keys<RecycleConfig> recycle_keys() {
  return {flag("enabled", &RecycleConfig::enabled),
          number("hold_off_s", &RecycleConfig::hold_off_s, 0, kMaxSeconds),
          text("level", &RecycleConfig::level, one_of(kLevelNames)),
          integer("flap_drains", &RecycleConfig::flap_drains, 0, 1000),
          number("flap_window_s", &RecycleConfig::flap_window_s, 1, kMaxSeconds)};
}

Keys<PreflightConfig> preflight_keys() {
  using P = PreflightConfig;
  return {text("default_level", &P::default_level),
          levels_key("levels"),
          check<P>("default_level",
                   [](const P& p) {
                     return p.levels.count(p.default_level) ? "" : one_of(kLevelNames)(p.default_level);
                   }),
          section("gemm", &P::gemm, gemm_keys()),
          section("membw", &P::membw, membw_keys()),
          section("memtest", &P::memtest, memtest_keys()),
          section("interconnect", &P::interconnect, interconnect_keys()),
          text("baseline_file", &P::baseline_file, absolute_path(true)),
          number("result_ttl_s", &P::result_ttl_s, 0, kMaxSeconds),
          section("fault_injection", &P::fault_injection, fault_injection_keys()),
          section("recycle", &P::recycle, recycle_keys())};
}

Keys<BackoffConfig> backoff_keys() {
  using B = BackoffConfig;
  return {number("initial_s", &B::initial_s, 0, 86400),
          number("max_s", &B::max_s, 0, 86400),
          number("factor", &B::factor, 1, 100),
          check<B>("max_s", [](const B& b) {
            return b.max_s < b.initial_s
                       ? fmt::format("expected a number >= initial_s ({}), got {}", b.initial_s, b.max_s)
                       : "";
          })};
}

// At least two beat periods: one late beat on a busy node must not pass for a lost rank.
std::string liveness_timeout_problem(const double& timeout_s) {
  if (timeout_s >= 2 * kLivenessPeriod_s) return "";
  return fmt::format("expected at least {} (two periods of the ranks' liveness beat, one every {} s), got {}",
                     2 * kLivenessPeriod_s, kLivenessPeriod_s, timeout_s);
}

Keys<PolicyConfig> policy_keys() {
  using P = PolicyConfig;
  return {integer("max_restarts", &P::max_restarts, 0, 1000),
          integer("max_requeues", &P::max_requeues, 0, 1000),
          section("backoff", &P::backoff, backoff_keys()),
          retired<P>("exclude_for_s",
                     "sigma has no timed exclusion; a drained node stays drained until nhc's recycle or an admin "
                     "resumes it"),
          number("heartbeat_timeout_s", &P::heartbeat_timeout_s, 1, kMaxSeconds),
          number("startup_timeout_s", &P::startup_timeout_s, 1, kMaxSeconds),
          number("liveness_timeout_s", &P::liveness_timeout_s, 0, kMaxSeconds, liveness_timeout_problem),
          flag("exclude_stragglers", &P::exclude_stragglers)};
}

Keys<PathsConfig> paths_keys() {
  using P = PathsConfig;
  return {text("state_dir", &P::state_dir, absolute_path(false)),
          text("ledger", &P::ledger, absolute_path(false)),
          text("healthcheck_bin", &P::healthcheck_bin, absolute_path(false)),
          text("metrics_dir", &P::metrics_dir, absolute_path(true))};
}

// The site's rules, then the shipped ones unless include_defaults is false. Printed in full (site rules, then
// defaults) with include_defaults false, so that the printed config reads back the same.
Key<SiteConfig> taxonomy_key(const char* name) {
  static constexpr const char* kIncludeDefaults = "include_defaults";
  static constexpr const char* kRules = "rules";
  return {name,
          [=](yaml::Section& s, SiteConfig& out, Warnings&) {
            yaml::Section section = s.section(name);
            bool include_defaults = true;
            section.read(kIncludeDefaults, include_defaults);
            out.taxonomy = read_taxonomy_rules(section, kRules, kMaxTaxonomyRules);
            section.finish();
            if (include_defaults) {
              const auto defaults = default_taxonomy_rules();
              out.taxonomy.insert(out.taxonomy.end(), defaults.begin(), defaults.end());
            }
          },
          [=](YAML::Emitter& out, const SiteConfig& in) {
            out << YAML::BeginMap;
            out << YAML::Key << kIncludeDefaults << YAML::Value << false;
            out << YAML::Key << kRules << YAML::Value << YAML::BeginSeq;
            for (const auto& rule : in.taxonomy) emit_taxonomy_rule(out, rule);
            out << YAML::EndSeq << YAML::EndMap;
          }};
}

const Keys<SiteConfig>& site_keys() {
  static const Keys<SiteConfig> keys = {section("cluster", &SiteConfig::cluster, cluster_keys()),
                                        section("preflight", &SiteConfig::preflight, preflight_keys()),
                                        section("policy", &SiteConfig::policy, policy_keys()),
                                        section("paths", &SiteConfig::paths, paths_keys()),
                                        taxonomy_key("taxonomy")};
  return keys;
}

}  // namespace

void read_site_config_keys(const yaml::Section& top, SiteConfig& config) {
  read_keys(top, config, site_keys(), config.warnings);
}

std::string to_yaml(const SiteConfig& config) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  print_keys(out, config, site_keys());
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

}  // namespace sigma
