// Preflight levels, from none to the strongest burn-in. A job asks for one (--sigma-preflight), the site sets a
// minimum (plugstack.conf min_level) and a default (preflight.default_level); a pass at one level vouches for
// every weaker one. The names are what the site config, the options, the ledger and SIGMA_PREFLIGHT_LEVEL carry.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace sigma {

// In order of strength: compare them with < and >=.
enum class PreflightLevel { off, quick, standard, extended };

// The levels that run a burn-in (all but off), weakest first.
inline constexpr std::array<PreflightLevel, 3> kBurnInLevels = {PreflightLevel::quick, PreflightLevel::standard,
                                                                 PreflightLevel::extended};

std::string level_name(PreflightLevel level);
// nullopt for a name that is not a level.
std::optional<PreflightLevel> parse_level(std::string_view name);
// "off, quick, standard or extended": for messages that say what was expected.
std::string level_choices();

}  // namespace sigma
