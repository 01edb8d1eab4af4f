#include "sigma/contracts/preflight_level.hpp"

#include "name_table.hpp"

namespace sigma {
namespace {

constexpr NameTable<PreflightLevel, 4> kNames = {{
    {PreflightLevel::off, "off"},
    {PreflightLevel::quick, "quick"},
    {PreflightLevel::standard, "standard"},
    {PreflightLevel::extended, "extended"},
}};

}  // namespace

std::string level_name(PreflightLevel level) { return name_in(kNames, level); }

std::optional<PreflightLevel> parse_level(std::string_view name) { return value_in(kNames, name); }

std::string level_choices() { return "off, quick, standard or extended"; }

}  // namespace sigma
