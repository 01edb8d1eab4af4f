// An enum's names on the wire: one table of (value, name) pairs per enum, read both ways.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace sigma {

template <typename Enum, std::size_t N>
using NameTable = std::array<std::pair<Enum, std::string_view>, N>;

template <typename Enum, std::size_t N>
std::string name_in(const NameTable<Enum, N>& table, Enum value) {
  for (const auto& [known, name] : table)
    if (known == value) return std::string(name);
  return std::string(table.front().second);  // unreachable for a table that lists every value
}

template <typename Enum, std::size_t N>
std::optional<Enum> value_in(const NameTable<Enum, N>& table, std::string_view name) {
  for (const auto& [value, known] : table)
    if (known == name) return value;
  return std::nullopt;
}

}  // namespace sigma
