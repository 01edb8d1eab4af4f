#include "sigma/contracts/preflight_level.hpp"

#include <utility>

namespace sigma {
namespace {

constexpr std::array<std::pair<PreflightLevel, std::string_view>, 4> kNames = {{
    {PreflightLevel::off, "off"},
    {PreflightLevel::quick, "quick"},
    {PreflightLevel::standard, "standard"},
    {PreflightLevel::extended, "extended"},
}};

}  // namespace

std::string level_name(PreflightLevel level) {
  for (const auto& [value, name] : kNames)
    if (value == level) return std::string(name);
  return "off";
}

std::optional<PreflightLevel> parse_level(std::string_view name) {
  for (const auto& [value, known] : kNames)
    if (known == name) return value;
  return std::nullopt;
}

std::string level_choices() { return "off, quick, standard or extended"; }

}  // namespace sigma
