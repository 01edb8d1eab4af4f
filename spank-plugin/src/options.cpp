#include "sigma/spank/options.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <string_view>

#include "sigma/core/error.hpp"

namespace sigma::spank {
namespace {

constexpr std::size_t kMaxPathLength = 4096;

bool printable_ascii(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c >= 0x20 && c <= 0x7e; });
}

// Hostile values (huge, control bytes, non-ASCII) are never echoed back, only described.
std::string shown(std::string_view value) {
  if (value.size() > kMaxOptionLength) return fmt::format("a {}-character value", value.size());
  if (!printable_ascii(value)) return "a value with non-ASCII or control characters";
  return fmt::format("\"{}\"", value);
}

[[noreturn]] void bad_option(const std::string& option, std::string_view value, const std::string& expected) {
  throw Error(ExitCode::usage, fmt::format("{}: expected {}, got {}", option, expected, shown(value)));
}

}  // namespace

std::optional<PreflightLevel> parse_preflight_option(const char* value) {
  if (value == nullptr) return std::nullopt;
  const std::string_view text(value);
  const auto level = parse_level(text);
  if (!level) bad_option("--sigma-preflight", text, level_choices());
  return level;
}

int parse_max_requeues_option(const char* value) {
  const std::string expected = fmt::format("a whole number from 0 to {}", kMaxRequeuesLimit);
  const std::string_view text(value == nullptr ? "" : value);
  int n = -1;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (text.empty() || error != std::errc() || end != text.data() + text.size() || n < 0 || n > kMaxRequeuesLimit) {
    bad_option("--sigma-max-requeues", text, expected);
  }
  return n;
}

JobRequest parse_job_request(const RawOptions& raw) {
  JobRequest request;
  if (raw.preflight) {
    request.preflight = true;
    request.preflight_level = parse_preflight_option(raw.preflight->empty() ? nullptr : raw.preflight->c_str());
  }
  if (raw.max_requeues) request.max_requeues = parse_max_requeues_option(raw.max_requeues->c_str());
  request.fresh = raw.fresh;
  return request;
}

std::vector<std::string> plugin_arg_list(int argc, const char* const* argv) {
  std::vector<std::string> list;
  for (int i = 0; i < argc; ++i) list.emplace_back(argv[i] == nullptr ? "" : argv[i]);
  return list;
}

PluginArgs parse_plugin_args(int argc, const char* const* argv) { return parse_plugin_args(plugin_arg_list(argc, argv)); }

PluginArgs parse_plugin_args(const std::vector<std::string>& list) {
  PluginArgs args;
  for (const std::string& given : list) {
    const std::string_view arg(given);
    const auto fail = [&](const std::string& expected) {
      throw Error(ExitCode::config, fmt::format("plugstack.conf: sigma: {}: expected {}", shown(arg), expected));
    };
    if (arg.starts_with("config=")) {
      args.config = std::string(arg.substr(7));
      if (args.config.empty() || args.config.front() != '/' || args.config.size() > kMaxPathLength ||
          !printable_ascii(args.config)) {
        fail("config=ABSOLUTE_PATH");
      }
    } else if (arg.starts_with("min_level=")) {
      const auto level = parse_level(arg.substr(10));
      if (!level) fail(fmt::format("min_level={}", level_choices()));
      args.min_level = *level;
    } else {
      fail("config=PATH or min_level=LEVEL");
    }
  }
  return args;
}

PreflightLevel resolve_level(const JobRequest& request, const PluginArgs& args, const SiteConfig& config) {
  PreflightLevel asked = PreflightLevel::off;
  // The site config was validated: its default level is a level.
  if (request.preflight) asked = request.preflight_level.value_or(*parse_level(config.preflight.default_level));
  return std::max(asked, args.min_level);
}

bool wants_preflight(const JobRequest& request, const std::vector<std::string>& plugin_args) {
  const bool site_minimum = std::any_of(plugin_args.begin(), plugin_args.end(), [](const std::string& arg) {
    return arg.starts_with("min_level=") && arg != "min_level=off";
  });
  return (request.preflight && request.preflight_level != PreflightLevel::off) || site_minimum;
}

int requeue_cap(const JobRequest& request, const SiteConfig& config) {
  const int site = config.policy.max_requeues;
  return request.max_requeues ? std::min(*request.max_requeues, site) : site;
}

}  // namespace sigma::spank
