// The key table assembled from the sections' declarations, and the walks over it: reading,
// writing, and the lookups of the structure pass.
#include "config/schema.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <system_error>

namespace tod2map::io::config_detail {

const Table& table() {
  // The document's order: to_yaml writes, and docs list, the sections in this order.
  static const Table t = [] {
    Table t;
    declare_input(t);
    declare_pixelization(t);
    declare_mapmaker(t);
    declare_solver(t);
    declare_output(t);
    declare_simulation(t);
    return t;
  }();
  return t;
}

// ---------------------------------------------------------------------------------------------
// Lookups.

namespace {

// `path` lies directly under `parent`.
bool is_child(const std::string& path, const std::string& parent) {
  return parent_of(path) == parent;
}

}  // namespace

Kind kind_of(const std::string& path) {
  for (const Key& k : table().keys)
    if (k.path == path) return k.kind;
  return Kind::leaf;  // the items' keys are all values
}

bool is_key(const std::string& path) {
  const Table& t = table();
  return std::any_of(t.keys.begin(), t.keys.end(), [&](const Key& k) { return k.path == path; }) ||
         std::any_of(t.items.begin(), t.items.end(),
                     [&](const ItemKey& k) { return k.path == path; });
}

std::vector<std::string> children_of(const std::string& parent) {
  std::vector<std::pair<int, std::string>> ranked;
  for (const Key& k : table().keys)
    if (is_child(k.path, parent)) ranked.emplace_back(k.list_rank, last_of(k.path));
  for (const ItemKey& k : table().items)
    if (is_child(k.path, parent)) ranked.emplace_back(k.list_rank, last_of(k.path));
  std::stable_sort(ranked.begin(), ranked.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> names;
  for (auto& r : ranked) names.push_back(std::move(r.second));
  return names;
}

std::vector<std::string> all_paths() {
  std::vector<std::string> paths;
  for (const Key& k : table().keys) paths.push_back(k.path);
  return paths;
}

// ---------------------------------------------------------------------------------------------
// Reading and writing.

namespace {

// The mapping at `path` of the document (absent sections read as empty).
Section section_at(const Section& top, const std::string& path) {
  if (path.empty()) return top;
  return section_at(top, parent_of(path)).sub(last_of(path));
}

void read_tree(const Section& top, const Key& section, Config& c) {
  const Section self = section_at(top, section.path);
  if (section.read) section.read(section_at(top, parent_of(section.path)), c);
  if (section.enabled && !section.enabled(c)) return;
  for (const Key& k : table().keys) {
    if (!is_child(k.path, section.path)) continue;
    if (k.kind == Kind::section)
      read_tree(top, k, c);
    else
      k.read(self, c);
  }
}

void write_tree(Writer& w, const std::string& parent, const Config& c) {
  for (const Key& k : table().keys) {
    if (!is_child(k.path, parent)) continue;
    if (k.kind != Kind::section) {
      k.write(w, c);
      continue;
    }
    if (k.enabled && !k.enabled(c)) continue;
    const std::string name = last_of(k.path);
    if (k.style == Style::flow)
      w.raw() << YAML::Key << name << YAML::Value << YAML::Flow << YAML::BeginMap;
    else
      w.begin(name.c_str());
    write_tree(w, k.path, c);
    w.end();
  }
}

}  // namespace

void read_config(const Section& top, Config& config) {
  for (const bool first : {true, false})
    for (const Key& k : table().keys)
      if (is_child(k.path, "") && k.read_first == first) read_tree(top, k, config);
  for (const auto& check : table().final_checks) check(top, config);
}

void write_config(Writer& w, const Config& config) { write_tree(w, "", config); }

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

}  // namespace tod2map::io::config_detail
