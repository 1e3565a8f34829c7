#pragma once
// Text helpers shared by the config reader, writer and key tables (io/src/config/text.cpp).
#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tod2map::io::config_table {

// Key paths: "solver.checkpoint.path" has parent "solver.checkpoint" and last "path".
std::string join_path(const std::string& parent, const std::string& key);
std::string parent_of(const std::string& path);
std::string last_of(const std::string& path);

std::string lower(std::string s);
/// "a, b, c".
std::string join_list(const std::vector<std::string>& items);

/// How far apart a typed name and a known name may be and still be called a typo.
std::optional<std::size_t> typo_distance(const std::string& typed, const std::string& known);
/// The closest of `candidates` to `typed`, if one is close enough.
std::optional<std::string> closest(const std::string& typed,
                                   const std::vector<std::string>& candidates);

// Scalars, YAML 1.2 core schema.
bool is_quoted(const YAML::Node& node);
struct ParsedInt {
  bool negative = false;
  bool overflow = false;  // more than 64 bits of magnitude
  std::uint64_t magnitude = 0;
};
std::optional<ParsedInt> parse_integer(const std::string& text);
std::optional<double> parse_float(const std::string& text);
std::optional<bool> parse_bool(const std::string& s);
/// A string that would not read back as the same string when written plain.
bool is_yaml_special(const std::string& s);
/// Shortest text that reads back as the same double, with a dot in the mantissa.
std::string format_double(double v);
/// A node as a message names it: "no value", "a list", "'abc'", "the string '5'".
std::string describe(const YAML::Node& node);

}  // namespace tod2map::io::config_table
