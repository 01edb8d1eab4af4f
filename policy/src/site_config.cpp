#include "sigma/policy/site_config.hpp"

#include <fmt/format.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "sigma/core/error.hpp"
#include "sigma/core/trusted_path.hpp"
#include "sigma/core/yaml_section.hpp"
#include "site_config_keys.hpp"
#include "taxonomy_yaml.hpp"

namespace sigma {

extern const char kDefaultTaxonomyYaml[];  // site-configs/taxonomy.yaml, compiled in by CMake

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
    read_site_config_keys(yaml::Section(root, "", name, root.Mark()), config);
    return config;
  } catch (const YAML::Exception& e) {
    yaml::fail(name, e.mark, "", "YAML error: " + e.msg);
  }
}

const char* default_site_config_path() { return SIGMA_DEFAULT_SITE_CONFIG; }

SiteConfig load_site_config(const std::string& path) {
  return parse_site_config(yaml::read_file(path, "site config"), path);
}

SiteConfig load_site_config_as_admin(const std::string& path) {
  // One descriptor, opened below directories only root can change, is checked and read (trusted_path.hpp).
  return parse_site_config(read_regular_file(path, kMaxConfigBytes, "site config", true), path);
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
