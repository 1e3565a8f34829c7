#pragma once
// The run configuration's key table (config/src/table.cpp) by key path: what the docs generator
// and the table-driven round-trip test need, without the YAML machinery.
#include <string>
#include <vector>

#include "tod2map/config/config.hpp"

namespace tod2map {

/// Every key that holds a value, in table order; keys of the focal-plane items are written
/// "simulation.focal_plane[].sigma".
std::vector<std::string> config_value_keys();

/// The keys the Python MapMaker offers as keyword options, in table order (their last names
/// are unique).
std::vector<std::string> config_shortcut_keys();

/// Sets `key` to a valid value other than its default (an item key: in the first detector).
/// Returns false, changing nothing, for a key that accepts one value only. Throws
/// InvalidArgument for an unknown key or one the table gives no example for.
bool set_config_example(Config& config, const std::string& key);

/// Whether `key` has the same value in `a` and `b`.
bool same_config_value(const Config& a, const Config& b, const std::string& key);

/// `markdown` (docs/config.md) with the key tables between the markers
/// "<!-- keys: SECTION -->" and "<!-- end keys -->" generated from the table; the prose around
/// them is kept. Throws InvalidArgument for a marker without its end or an unknown section.
std::string generate_config_docs(const std::string& markdown);

}  // namespace tod2map
