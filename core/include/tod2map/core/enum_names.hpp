#pragma once
// Names of enumerated values (configuration choices, signals, FITS HDU types): one table of
// (value, name) pairs serves parsing and printing, so that the two directions cannot disagree.
#include <cstddef>
#include <optional>
#include <string>
#include <utility>

namespace tod2map {

template <class E>
using EnumName = std::pair<E, const char*>;

/// The value called `name` in table; nullopt when none is.
template <class E, std::size_t N>
std::optional<E> enum_from_name(const EnumName<E> (&table)[N], const std::string& name) {
  for (const auto& [value, text] : table)
    if (name == text) return value;
  return std::nullopt;
}

/// The name of value in table; `unknown` when the table lacks it.
template <class E, std::size_t N>
const char* enum_name(const EnumName<E> (&table)[N], E value, const char* unknown) {
  for (const auto& [v, text] : table)
    if (v == value) return text;
  return unknown;
}

}  // namespace tod2map
