// Reading taxonomy rules from YAML: shared by the site config loader and the compiled-in defaults.
#pragma once

#include <string>
#include <vector>

#include "sigma/core/taxonomy.hpp"
#include "sigma/core/yaml_section.hpp"

namespace sigma {

// Reads a YAML list of rules found at `section`.`key` (each checked strictly; bad regexes rejected here).
std::vector<TaxonomyRule> read_taxonomy_rules(yaml::Section& section, const std::string& key);

}  // namespace sigma
