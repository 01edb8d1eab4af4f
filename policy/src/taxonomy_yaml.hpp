// Reading and printing taxonomy rules as YAML: shared by the site config loader and the compiled-in defaults.
#pragma once

#include <string>
#include <vector>

#include "sigma/policy/taxonomy.hpp"
#include "sigma/core/yaml_section.hpp"

namespace sigma {

// Reads a YAML list of at most `max_rules` rules found at `section`.`key` (each checked strictly; bad regexes
// rejected here; a longer list is refused before any rule is read).
std::vector<TaxonomyRule> read_taxonomy_rules(yaml::Section& section, const std::string& key,
                                              std::size_t max_rules);

// Prints one rule as read_taxonomy_rules reads it back (signals by name, the pattern single-quoted).
void emit_taxonomy_rule(YAML::Emitter& out, const TaxonomyRule& rule);

}  // namespace sigma
