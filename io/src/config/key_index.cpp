// The lookups of the structure pass (KeyIndex) and the docs texts of the generated columns.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <system_error>

#include "tod2map/io/config_table/table.hpp"

namespace tod2map::io::config_table {

namespace {

// `path` lies directly under `parent`.
bool is_child(const std::string& path, const std::string& parent) {
  return parent_of(path) == parent;
}

}  // namespace

Kind KeyIndex::kind_of(const std::string& path) const {
  for (const KeyInfo& k : keys_)
    if (k.path == path) return k.kind;
  return Kind::leaf;
}

bool KeyIndex::is_key(const std::string& path) const {
  return std::any_of(keys_.begin(), keys_.end(), [&](const KeyInfo& k) { return k.path == path; });
}

std::vector<std::string> KeyIndex::children_of(const std::string& parent) const {
  std::vector<std::pair<int, std::string>> ranked;
  for (const KeyInfo& k : keys_)
    if (is_child(k.path, parent)) ranked.emplace_back(k.list_rank, last_of(k.path));
  std::stable_sort(ranked.begin(), ranked.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> names;
  for (auto& r : ranked) names.push_back(std::move(r.second));
  return names;
}

std::vector<std::string> KeyIndex::all_paths() const {
  std::vector<std::string> paths;
  for (const KeyInfo& k : keys_)
    if (k.path.find("[]") == std::string::npos) paths.push_back(k.path);
  return paths;
}

// ---------------------------------------------------------------------------------------------
// Docs texts of the generated columns.

std::string default_text_of(const std::string& v) { return v.empty() ? "`\"\"`" : "`" + v + "`"; }
std::string default_text_of(bool v) { return v ? "`true`" : "`false`"; }
std::string default_text_of(double v) {
  // Small and large values as the docs write them, "1.0e-3" (to_yaml's "0.001" is harder to
  // read at a glance); the value is the same.
  if (v == 0 || (std::fabs(v) >= 1e-2 && std::fabs(v) < 1e6)) return "`" + format_double(v) + "`";
  char buf[64];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  std::string text(buf, ec == std::errc() ? end : buf);
  const auto e = text.find('e');
  std::string mantissa = text.substr(0, e), exponent = text.substr(e + 1);
  if (mantissa.find('.') == std::string::npos) mantissa += ".0";
  const bool negative = exponent[0] == '-';
  exponent.erase(0, exponent.find_first_not_of("+-0"));
  return "`" + mantissa + "e" + (negative ? "-" : "") + exponent + "`";
}
std::string default_text_of(std::int64_t v) { return "`" + std::to_string(v) + "`"; }
std::string default_text_of(int v) { return "`" + std::to_string(v) + "`"; }
std::string default_text_of(std::uint64_t v) { return "`" + std::to_string(v) + "`"; }
std::string default_text_of(const std::vector<std::string>& v) {
  return v.empty() ? "`[]`" : "`[" + join_list(v) + "]`";
}
std::string type_text_of(const std::string*) { return "string"; }
std::string type_text_of(const bool*) { return "boolean"; }
std::string type_text_of(const double*) { return "number"; }
std::string type_text_of(const std::int64_t*) { return "integer"; }
std::string type_text_of(const int*) { return "integer"; }
std::string type_text_of(const std::uint64_t*) { return "integer >= 0"; }
std::string type_text_of(const std::vector<std::string>*) { return "list of strings"; }

std::string choices_text(const std::vector<std::string>& choices) {
  std::string s;
  for (std::size_t i = 0; i < choices.size(); ++i) {
    if (i > 0) s += i + 1 == choices.size() ? " or " : ", ";
    s += "`" + choices[i] + "`";
  }
  return s;
}

std::string number_text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

}  // namespace tod2map::io::config_table
