// What users and admins can say to the plugin, validated the same way where they type it (sbatch/srun/salloc)
// and again on the node, where the values arrive through Slurm and are not trusted:
//   --sigma-preflight[=off|quick|standard|extended]  (no value: the site's preflight.default_level)
//   --sigma-max-requeues=N                           (0..1000; the site's policy.max_requeues caps it)
//   --sigma-fresh                                    (burn in even where a recent pass is cached)
// and the plugstack.conf arguments: config=PATH (default: the build's default_site_config_path()),
// min_level=off|quick|standard|extended.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "sigma/contracts/preflight_level.hpp"
#include "sigma/policy/site_config.hpp"

namespace sigma::spank {

inline constexpr std::size_t kMaxOptionLength = 32;
inline constexpr int kMaxRequeuesLimit = 1000;

// What one job asked for. Absent options are nullopt.
struct JobRequest {
  bool preflight = false;                        // --sigma-preflight was given
  std::optional<PreflightLevel> preflight_level;  // its value; nullopt: the site's preflight.default_level
  std::optional<int> max_requeues;
  bool fresh = false;
};

// The option values as they reached the node, before validation. A value is "" for an option given without
// one; an absent option is nullopt.
struct RawOptions {
  std::optional<std::string> preflight;
  std::optional<std::string> max_requeues;
  bool fresh = false;
};

// Validates every value; throws sigma::Error(usage) naming the first bad option.
JobRequest parse_job_request(const RawOptions& raw);

// Each throws sigma::Error(usage) with one line naming the option, the value and what was expected. A null
// value is an option given without a value.
// parse_preflight_option returns nullopt for the option given without a value (the site's default level).
std::optional<PreflightLevel> parse_preflight_option(const char* value);
int parse_max_requeues_option(const char* value);

struct PluginArgs {
  std::string config = default_site_config_path();  // the root-owned site config
  PreflightLevel min_level = PreflightLevel::off;     // every job gets at least this level
};

// Throws sigma::Error(config) "plugstack.conf: sigma: ARG: expected ...". On the node they are parsed where a
// failure is handled like a broken site config (never failing a prolog, which would drain the node).
PluginArgs parse_plugin_args(int argc, const char* const* argv);
PluginArgs parse_plugin_args(const std::vector<std::string>& args);
// The plugstack.conf arguments as strings (argv may hold nulls: read as "").
std::vector<std::string> plugin_arg_list(int argc, const char* const* argv);

// The level a job's nodes are burned in at: what it asked for (off when it did not ask), raised to min_level.
PreflightLevel resolve_level(const JobRequest& request, const PluginArgs& args, const SiteConfig& config);
// True when the job will be burned in whatever the site config says (for failing closed without one): it asked
// for a level other than off, or plugstack.conf names a min_level other than off (read from the raw arguments,
// so that a misspelt one such as "min_level=Quick" fails closed too).
bool wants_preflight(const JobRequest& request, const std::vector<std::string>& plugin_args);

// How many times the job may be requeued: the smaller of the user's value and policy.max_requeues.
int requeue_cap(const JobRequest& request, const SiteConfig& config);

}  // namespace sigma::spank
