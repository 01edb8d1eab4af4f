#include "sigma/contracts/ledger_event.hpp"

#include <array>

namespace sigma {
namespace {

#define SIGMA_EVENT_NAME(name) #name,
constexpr std::array kEventNames = {SIGMA_LEDGER_EVENTS(SIGMA_EVENT_NAME)};
#undef SIGMA_EVENT_NAME

constexpr std::array kComponentNames = {"healthcheck", "spank", "launcher", "trainer", "ckpt"};

}  // namespace

std::string event_name(LedgerEvent event) { return kEventNames.at(static_cast<std::size_t>(event)); }

std::optional<LedgerEvent> parse_event(std::string_view name) {
  for (std::size_t i = 0; i < kEventNames.size(); ++i)
    if (name == kEventNames[i]) return static_cast<LedgerEvent>(i);
  return std::nullopt;
}

std::vector<std::string> all_event_names() { return {kEventNames.begin(), kEventNames.end()}; }

std::string component_name(Component component) { return kComponentNames.at(static_cast<std::size_t>(component)); }

}  // namespace sigma
