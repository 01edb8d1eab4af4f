// Reading the site config through its key table (site_config_keys.cpp); to_yaml() prints from the same table.
#pragma once

#include "sigma/policy/site_config.hpp"
#include "sigma/core/yaml_section.hpp"

namespace sigma {

// Reads every section of the file's top mapping into `config` (which holds the defaults), refusing unknown keys;
// retired keys land in config.warnings. Throws sigma::Error(ExitCode::config) with one line.
void read_site_config_keys(const yaml::Section& top, SiteConfig& config);

}  // namespace sigma
