// The run configuration: YAML text -> checked, typed Config, and back to YAML (to_yaml).
//
// Parsing goes in three passes so that the error a user sees is the root cause:
//   1. YAML syntax (ConfigError with file:line:column),
//   2. overrides (`--set key.path=value`) are checked against the key schema and applied to the
//      document, then the whole document's structure is checked: unknown keys (with a "did you
//      mean"), duplicate keys, sections that are not mappings. A misspelt key is reported here,
//      before the default that replaced it could cause a confusing value error later.
//   3. every key is read with its type and its value checked.
// yaml-cpp's own conversions are not used for numbers: they guess the base from a leading 0
// ("010" would be 8) and accept YAML 1.1 forms; we follow the YAML 1.2 core schema instead.
#include "tod2map/io/config.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "tod2map/core/error.hpp"

namespace tod2map::io {
namespace {

// ---------------------------------------------------------------------------------------------
// The key schema. Every key the parser reads is listed here; the structure check, the override
// check and the "did you mean" suggestions all use this one list. "[]" stands for the items of
// a list of mappings (the focal plane).

enum class Kind {
  leaf,      // a value (scalar or list of scalars)
  section,   // a mapping with the keys listed under it
  free_map,  // a mapping with any names (solver.petsc_options)
  item_list  // a list of mappings, each with the keys listed under "<path>[]"
};

struct KeyInfo {
  const char* path;
  Kind kind;
};

constexpr KeyInfo kSchema[] = {
    {"input", Kind::section},
    {"input.files", Kind::leaf},
    {"input.detectors", Kind::leaf},
    {"input.columns", Kind::section},
    {"input.columns.time", Kind::leaf},
    {"input.columns.theta", Kind::leaf},
    {"input.columns.phi", Kind::leaf},
    {"input.columns.psi", Kind::leaf},
    {"input.columns.signal", Kind::leaf},
    {"input.columns.flag", Kind::leaf},
    {"input.columns.pixel", Kind::leaf},
    {"input.flag_mask", Kind::leaf},
    {"input.max_rejected_fraction", Kind::leaf},
    {"pixelization", Kind::section},
    {"pixelization.scheme", Kind::leaf},
    {"pixelization.nside", Kind::leaf},
    {"pixelization.ordering", Kind::leaf},
    {"pixelization.stokes", Kind::leaf},
    {"mapmaker", Kind::section},
    {"mapmaker.method", Kind::leaf},
    {"mapmaker.baseline_length", Kind::leaf},
    {"mapmaker.noise_prior", Kind::leaf},
    {"mapmaker.min_hits", Kind::leaf},
    {"mapmaker.min_rcond", Kind::leaf},
    {"mapmaker.nside_cross", Kind::leaf},
    {"solver", Kind::section},
    {"solver.backend", Kind::leaf},
    {"solver.tol", Kind::leaf},
    {"solver.maxiter", Kind::leaf},
    {"solver.cross_check", Kind::leaf},
    {"solver.preconditioner", Kind::leaf},
    {"solver.precond_width", Kind::leaf},
    {"solver.coarse_nside", Kind::leaf},
    {"solver.petsc_options", Kind::free_map},
    {"solver.checkpoint", Kind::section},
    {"solver.checkpoint.path", Kind::leaf},
    {"solver.checkpoint.every", Kind::leaf},
    {"output", Kind::section},
    {"output.path", Kind::leaf},
    {"output.baselines", Kind::leaf},
    {"output.hdf5", Kind::section},
    {"output.hdf5.stripe_size", Kind::leaf},
    {"output.hdf5.stripe_count", Kind::leaf},
    {"simulation", Kind::section},
    {"simulation.seed", Kind::leaf},
    {"simulation.output_dir", Kind::leaf},
    {"simulation.file_prefix", Kind::leaf},
    {"simulation.n_observations", Kind::leaf},
    {"simulation.observation_length", Kind::leaf},
    {"simulation.sample_rate", Kind::leaf},
    {"simulation.precision", Kind::leaf},
    {"simulation.coordsys", Kind::leaf},
    {"simulation.write_pixels", Kind::leaf},
    {"simulation.flag_fraction", Kind::leaf},
    {"simulation.write_sky", Kind::leaf},
    {"simulation.sky", Kind::section},
    {"simulation.sky.type", Kind::leaf},
    {"simulation.sky.path", Kind::leaf},
    {"simulation.sky.nside", Kind::leaf},
    {"simulation.scan", Kind::section},
    {"simulation.scan.type", Kind::leaf},
    {"simulation.scan.spin_period", Kind::leaf},
    {"simulation.scan.spin_angle_deg", Kind::leaf},
    {"simulation.scan.precession_period", Kind::leaf},
    {"simulation.scan.precession_angle_deg", Kind::leaf},
    {"simulation.scan.latitude_deg", Kind::leaf},
    {"simulation.scan.elevation_deg", Kind::leaf},
    {"simulation.scan.azimuth_center_deg", Kind::leaf},
    {"simulation.scan.azimuth_throw_deg", Kind::leaf},
    {"simulation.scan.scan_speed_deg", Kind::leaf},
    {"simulation.focal_plane", Kind::item_list},
    {"simulation.focal_plane[].name", Kind::leaf},
    {"simulation.focal_plane[].polang_deg", Kind::leaf},
    {"simulation.focal_plane[].poleff", Kind::leaf},
    {"simulation.focal_plane[].sigma", Kind::leaf},
    {"simulation.focal_plane[].fknee", Kind::leaf},
    {"simulation.focal_plane[].alpha", Kind::leaf},
    {"simulation.white_noise", Kind::leaf},
    {"simulation.correlated_noise", Kind::leaf},
};

const KeyInfo* find_key(const std::string& path) {
  for (const KeyInfo& k : kSchema)
    if (path == k.path) return &k;
  return nullptr;
}

std::string join_path(const std::string& parent, const std::string& key) {
  return parent.empty() ? key : parent + "." + key;
}

std::string parent_of(const std::string& path) {
  const auto dot = path.rfind('.');
  return dot == std::string::npos ? std::string() : path.substr(0, dot);
}

std::string last_of(const std::string& path) {
  const auto dot = path.rfind('.');
  return dot == std::string::npos ? path : path.substr(dot + 1);
}

/// Names of the keys directly under a schema path ("" = top level).
std::vector<std::string> children_of(const std::string& parent) {
  std::vector<std::string> names;
  for (const KeyInfo& k : kSchema)
    if (parent_of(k.path) == parent) names.push_back(last_of(k.path));
  return names;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

/// Edits (insert, delete, substitute, swap two neighbours) from a to b: a swap is the commonest
/// typo ("sigam"), so it counts as one edit.
std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i)
    for (std::size_t j = 1; j <= b.size(); ++j) {
      d[i][j] = std::min(
          {d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.size()][b.size()];
}

/// How far apart a typed name and a known name may be and still be called a typo: about one
/// edit per four characters, or one name being an abbreviation of the other ("tol" for
/// "tolerance", "baseline" for "baseline_length").
std::optional<std::size_t> typo_distance(const std::string& typed, const std::string& known) {
  const std::string a = lower(typed), b = lower(known);
  // Below three characters every short name is "one edit away": no useful suggestion.
  if (a.size() < 3) return std::nullopt;
  const std::size_t d = edit_distance(a, b);
  const std::size_t limit = std::clamp<std::size_t>(a.size() / 4, 1, 3);
  if (d <= limit) return d;
  const std::size_t shorter = std::min(a.size(), b.size());
  if (shorter >= 3 && (a.compare(0, shorter, b, 0, shorter) == 0)) return limit + 1;
  return std::nullopt;
}

/// The closest of `candidates` to `typed`, if one is close enough.
std::optional<std::string> closest(const std::string& typed,
                                   const std::vector<std::string>& candidates) {
  std::optional<std::string> best;
  std::size_t best_d = std::numeric_limits<std::size_t>::max();
  for (const std::string& c : candidates) {
    const auto d = typo_distance(typed, c);
    if (d && *d < best_d) {
      best = c;
      best_d = *d;
    }
  }
  return best;
}

std::string join_list(const std::vector<std::string>& items) {
  std::string s;
  for (std::size_t i = 0; i < items.size(); ++i) s += (i ? ", " : "") + items[i];
  return s;
}

/// "unknown key (did you mean 'mapmaker.method'?)". `schema_parent` is the schema path of the
/// mapping that holds the key, `display_parent` the same path as the user sees it (with list
/// indices). A key that belongs to another section is suggested there.
std::string unknown_key_problem(const std::string& schema_parent, const std::string& display_parent,
                                const std::string& key) {
  const auto sibling = closest(key, children_of(schema_parent));
  std::vector<std::string> elsewhere;
  for (const KeyInfo& k : kSchema) {
    const std::string path = k.path;
    if (path.find("[]") == std::string::npos && parent_of(path) != schema_parent)
      elsewhere.push_back(path);
  }
  std::optional<std::string> best;
  std::size_t best_d = std::numeric_limits<std::size_t>::max();
  for (const std::string& path : elsewhere) {
    const auto d = typo_distance(key, last_of(path));
    if (d && *d < best_d) {
      best = path;
      best_d = *d;
    }
  }
  // A key of this section is suggested first, unless the name is exactly one of another
  // section ("mapmaker.nside" is pixelization.nside, not a prefix of mapmaker.nside_cross).
  if (sibling && !(best && best_d == 0 && *typo_distance(key, *sibling) > 0))
    return "unknown key (did you mean '" + join_path(display_parent, *sibling) + "'?)";
  if (best) return "unknown key (did you mean '" + *best + "'?)";
  return "unknown key (expected one of: " + join_list(children_of(schema_parent)) + ")";
}

// ---------------------------------------------------------------------------------------------
// Scalars, YAML 1.2 core schema.

bool is_quoted(const YAML::Node& node) {
  // yaml-cpp tags quoted scalars "!" and plain ones "?"; "!!str 5" gets the full string tag.
  return node.Tag() == "!" || node.Tag() == "tag:yaml.org,2002:str";
}

struct ParsedInt {
  bool negative = false;
  bool overflow = false;  // more than 64 bits of magnitude
  std::uint64_t magnitude = 0;
};

/// [-+]?[0-9]+ | 0o[0-7]+ | 0x[0-9a-fA-F]+
std::optional<ParsedInt> parse_integer(const std::string& text) {
  ParsedInt v;
  std::string_view s = text;
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'o')) {
    base = s[1] == 'x' ? 16 : 8;
    s.remove_prefix(2);
  } else if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    v.negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s.empty()) return std::nullopt;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v.magnitude, base);
  if (end != s.data() + s.size()) return std::nullopt;
  if (ec == std::errc::result_out_of_range)
    v.overflow = true;
  else if (ec != std::errc())
    return std::nullopt;
  return v;
}

/// [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?, plus the integer forms. Infinity and NaN
/// are YAML floats but no key of ours can take them, so they are rejected by the caller.
std::optional<double> parse_float(const std::string& text) {
  static const char* const infinities[] = {".inf", ".Inf", ".INF"};
  static const char* const nans[] = {".nan", ".NaN", ".NAN"};
  const bool sign = !text.empty() && (text[0] == '-' || text[0] == '+');
  for (const char* w : infinities)
    if (text.compare(sign ? 1 : 0, std::string::npos, w) == 0)
      return text[0] == '-' ? -HUGE_VAL : HUGE_VAL;
  for (const char* w : nans)
    if (text == w) return std::numeric_limits<double>::quiet_NaN();
  if (auto i = parse_integer(text); i && !i->overflow) {
    const double m = static_cast<double>(i->magnitude);
    return i->negative ? -m : m;
  }
  std::size_t p = 0;
  const auto digits = [&] {
    const std::size_t start = p;
    while (p < text.size() && std::isdigit(static_cast<unsigned char>(text[p]))) ++p;
    return p - start;
  };
  if (p < text.size() && (text[p] == '-' || text[p] == '+')) ++p;
  const std::size_t number_start = p;
  std::size_t mantissa_digits = digits();
  if (p < text.size() && text[p] == '.') {
    ++p;
    mantissa_digits += digits();
  }
  if (mantissa_digits == 0) return std::nullopt;
  if (p < text.size() && (text[p] == 'e' || text[p] == 'E')) {
    ++p;
    if (p < text.size() && (text[p] == '-' || text[p] == '+')) ++p;
    if (digits() == 0) return std::nullopt;
  }
  if (p != text.size()) return std::nullopt;
  double value = 0;
  const char* first = text.data() + number_start;
  const auto [end, ec] = std::from_chars(first, text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    // Out of range is overflow (infinity, reported as not finite by the caller) or underflow
    // (a tiny value); strtod tells which. The text is already known to be a plain number.
    if (ec != std::errc::result_out_of_range) return std::nullopt;
    value = std::strtod(std::string(first, text.data() + text.size()).c_str(), nullptr);
  }
  return text[0] == '-' ? -value : value;
}

std::optional<bool> parse_bool(const std::string& s) {
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  return std::nullopt;
}

bool is_yaml_special(const std::string& s) {
  // Strings that a YAML reader (ours, yaml-cpp, or PyYAML's YAML 1.1) would not read back as
  // the same string when written plain: null, booleans (1.1's yes/no/on/off too), numbers.
  static const char* const words[] = {"~",   "null", "Null", "NULL", "y",   "Y",  "yes",
                                      "Yes", "YES",  "n",    "N",    "no",  "No", "NO",
                                      "on",  "On",   "ON",   "off",  "Off", "OFF"};
  if (s.empty()) return true;
  for (const char* w : words)
    if (s == w) return true;
  return parse_bool(s) || parse_float(s) || s.front() == ' ' || s.back() == ' ';
}

/// Shortest text that reads back as the same double, written so that YAML 1.1 readers
/// (PyYAML) also see a float: a dot in the mantissa ("1.0e-10", not "1e-10").
std::string format_double(double v) {
  char buf[64];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  std::string s(buf, ec == std::errc() ? end : buf);
  if (s.find_first_of(".n") != std::string::npos) return s;  // has a dot, or inf/nan
  const auto e = s.find('e');
  s.insert(e == std::string::npos ? s.size() : e, ".0");
  return s;
}

std::string describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
      return "no value";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a mapping";
    default:
      return is_quoted(node) ? "the string '" + node.Scalar() + "'" : "'" + node.Scalar() + "'";
  }
}

bool is_power_of_two(std::int64_t n) { return n > 0 && (n & (n - 1)) == 0; }

constexpr std::int64_t kMaxNside = std::int64_t{1} << 29;

// ---------------------------------------------------------------------------------------------
// Error context: which text a key came from.

class Context {
 public:
  explicit Context(std::string source) : source_(std::move(source)) {}

  /// Records that `path` was set by `--set <text>`; replaces earlier overrides below it.
  void add_override(const std::string& path, const std::string& text) {
    overrides_.erase(std::remove_if(overrides_.begin(), overrides_.end(),
                                    [&](const auto& o) { return is_within(o.first, path); }),
                     overrides_.end());
    overrides_.emplace_back(path, text);
  }

  /// "<source>: key <path>: <problem>", where source is the override that set the key, if any.
  [[noreturn]] void fail(const std::string& path, const std::string& problem) const {
    throw ConfigError(source_for(path) + ": key " + path + ": " + problem);
  }

  [[noreturn]] void fail_override(const std::string& text, const std::string& path,
                                  const std::string& problem) const {
    throw ConfigError("--set " + text + ": key " + path + ": " + problem);
  }

 private:
  // `path` is `prefix` or lies below it (prefix.x, prefix[3]).
  static bool is_within(const std::string& path, const std::string& prefix) {
    if (path.compare(0, prefix.size(), prefix) != 0) return false;
    return path.size() == prefix.size() || path[prefix.size()] == '.' || path[prefix.size()] == '[';
  }

  std::string source_for(const std::string& path) const {
    const std::pair<std::string, std::string>* best = nullptr;
    for (const auto& o : overrides_)
      if (is_within(path, o.first) && (!best || o.first.size() > best->first.size())) best = &o;
    return best ? "--set " + best->second : source_;
  }

  std::string source_;
  std::vector<std::pair<std::string, std::string>> overrides_;
};

// ---------------------------------------------------------------------------------------------
// Pass 2: structure.

void check_structure(const Context& ctx, const YAML::Node& node, const std::string& schema_path,
                     const std::string& display_path);

void check_mapping_keys(const Context& ctx, const YAML::Node& node, const std::string& display) {
  std::set<std::string> seen;
  for (auto it = node.begin(); it != node.end(); ++it) {
    if (!it->first.IsScalar())
      ctx.fail(display.empty() ? "(top level)" : display,
               "keys must be plain names, got " + describe(it->first));
    const std::string key = it->first.Scalar();
    if (!seen.insert(key).second) ctx.fail(join_path(display, key), "given more than once");
  }
}

void check_structure(const Context& ctx, const YAML::Node& node, const std::string& schema_path,
                     const std::string& display_path) {
  if (node.IsNull()) return;  // "simulation:" with nothing under it: all defaults
  if (!node.IsMap())
    ctx.fail(display_path, "expected a mapping of keys (" + join_list(children_of(schema_path)) +
                               "), got " + describe(node));
  check_mapping_keys(ctx, node, display_path);
  for (auto it = node.begin(); it != node.end(); ++it) {
    const std::string key = it->first.Scalar();
    const std::string schema_child = join_path(schema_path, key);
    const std::string display_child = join_path(display_path, key);
    const KeyInfo* info = find_key(schema_child);
    if (!info) ctx.fail(display_child, unknown_key_problem(schema_path, display_path, key));
    const YAML::Node value = it->second;  // a copy: `it->` yields a temporary
    switch (info->kind) {
      case Kind::leaf:
        break;  // types are checked when the value is read
      case Kind::section:
        check_structure(ctx, value, schema_child, display_child);
        break;
      case Kind::free_map:
        if (!value.IsNull() && !value.IsMap())
          ctx.fail(display_child, "expected a mapping of names to values, got " + describe(value));
        if (value.IsMap()) check_mapping_keys(ctx, value, display_child);
        break;
      case Kind::item_list:
        if (!value.IsSequence())
          ctx.fail(display_child, "expected a list of mappings, got " + describe(value));
        for (std::size_t i = 0; i < value.size(); ++i) {
          const std::string item = display_child + "[" + std::to_string(i) + "]";
          if (!value[i].IsMap())
            ctx.fail(item, "expected a mapping of keys (" +
                               join_list(children_of(schema_child + "[]")) + "), got " +
                               describe(value[i]));
          check_structure(ctx, value[i], schema_child + "[]", item);
        }
        break;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Pass 3: typed values.

/// One mapping of the document (possibly absent or null) and its key path.
class Section {
 public:
  Section(const Context& ctx, YAML::Node node, std::string path)
      : ctx_(&ctx), node_(std::move(node)), path_(std::move(path)) {}

  bool has(const std::string& key) const { return node_.IsMap() && node_[key].IsDefined(); }
  YAML::Node value(const std::string& key) const { return node_[key]; }
  std::string path(const std::string& key) const { return join_path(path_, key); }
  Section sub(const std::string& key) const {
    return Section(*ctx_, has(key) ? value(key) : YAML::Node(), path(key));
  }
  /// Item `i` of the list of mappings under `key`.
  Section item(const std::string& key, std::size_t i) const {
    return Section(*ctx_, value(key)[i], path(key) + "[" + std::to_string(i) + "]");
  }
  [[noreturn]] void fail(const std::string& key, const std::string& problem) const {
    ctx_->fail(path(key), problem);
  }

  void get(const std::string& key, std::string& out) const {
    if (!has(key)) return;
    out = scalar_text(value(key), path(key), "a string");
  }

  void get(const std::string& key, bool& out) const {
    if (!has(key)) return;
    const YAML::Node v = value(key);
    const auto b = v.IsScalar() && !is_quoted(v) ? parse_bool(v.Scalar()) : std::nullopt;
    if (!b) fail(key, "expected true or false, got " + describe(v));
    out = *b;
  }

  void get(const std::string& key, double& out) const {
    if (!has(key)) return;
    const YAML::Node v = value(key);
    const auto d = v.IsScalar() && !is_quoted(v) ? parse_float(v.Scalar()) : std::nullopt;
    if (!d) fail(key, "expected a number, got " + describe(v));
    if (!std::isfinite(*d)) fail(key, "expected a finite number, got " + describe(v));
    out = *d;
  }

  void get(const std::string& key, std::int64_t& out) const {
    if (!has(key)) return;
    const ParsedInt i = integer(key);
    constexpr auto max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    if (i.overflow || i.magnitude > max + (i.negative ? 1 : 0))
      fail(key, "integer " + value(key).Scalar() + " is out of range");
    out = i.negative ? static_cast<std::int64_t>(~i.magnitude + 1)  // two's complement
                     : static_cast<std::int64_t>(i.magnitude);
  }

  void get(const std::string& key, int& out) const {
    if (!has(key)) return;
    std::int64_t wide = out;
    get(key, wide);
    if (wide < std::numeric_limits<int>::min() || wide > std::numeric_limits<int>::max())
      fail(key, "integer " + value(key).Scalar() + " is out of range (at most " +
                    std::to_string(std::numeric_limits<int>::max()) + ")");
    out = static_cast<int>(wide);
  }

  void get(const std::string& key, std::uint64_t& out) const {
    if (!has(key)) return;
    const ParsedInt i = integer(key);
    if (i.negative && i.magnitude != 0)
      fail(key, "expected a non-negative integer, got " + describe(value(key)));
    if (i.overflow) fail(key, "integer " + value(key).Scalar() + " is out of range");
    out = i.magnitude;
  }

  /// A string, or a list of strings; an explicitly empty list is refused (say `all`, or give
  /// files).
  void get_list(const std::string& key, std::vector<std::string>& out, bool allow_scalar) const {
    if (!has(key)) return;
    const YAML::Node v = value(key);
    std::vector<std::string> items;
    if (v.IsScalar() && allow_scalar) {
      items.push_back(scalar_text(v, path(key), "a string or a list of strings"));
    } else if (v.IsSequence()) {
      if (v.size() == 0) fail(key, "empty list (expected at least one entry)");
      for (std::size_t i = 0; i < v.size(); ++i) {
        const std::string item = path(key) + "[" + std::to_string(i) + "]";
        items.push_back(scalar_text(v[i], item, "a string"));
      }
    } else {
      fail(key, std::string("expected ") +
                    (allow_scalar ? "a string or a list of strings" : "a list of strings") +
                    ", got " + describe(v));
    }
    for (std::size_t i = 0; i < items.size(); ++i)
      if (items[i].empty())
        ctx_->fail(v.IsSequence() ? path(key) + "[" + std::to_string(i) + "]" : path(key),
                   "empty string (expected a name)");
    out = std::move(items);
  }

 private:
  std::string scalar_text(const YAML::Node& v, const std::string& where,
                          const std::string& expected) const {
    if (!v.IsScalar()) ctx_->fail(where, "expected " + expected + ", got " + describe(v));
    // A NUL would end the text where C APIs (open, CFITSIO, HDF5) read it: "out/ma\0p.h5"
    // would write "out/ma".
    if (v.Scalar().find('\0') != std::string::npos)
      ctx_->fail(where, "contains a NUL character (\\0), which no path or name can hold");
    return v.Scalar();
  }

  ParsedInt integer(const std::string& key) const {
    const YAML::Node v = value(key);
    const auto i = v.IsScalar() && !is_quoted(v) ? parse_integer(v.Scalar()) : std::nullopt;
    if (!i) fail(key, "expected an integer, got " + describe(v));
    return *i;
  }

  const Context* ctx_;
  YAML::Node node_;
  std::string path_;
};

/// Accepts one of `choices` (compared case-insensitively), stores it as spelled in `choices`.
void check_choice(const Section& s, const std::string& key, std::string& value,
                  const std::vector<std::string>& choices, const std::string& what) {
  for (const std::string& c : choices)
    if (lower(value) == lower(c)) {
      value = c;
      return;
    }
  std::string problem =
      "'" + value + "' is not a valid " + what + " (expected one of: " + join_list(choices) + ")";
  if (auto near = closest(value, choices)) problem += "; did you mean '" + *near + "'?";
  s.fail(key, problem);
}

void check_nside(const Section& s, const std::string& key, std::int64_t nside, bool allow_zero) {
  if (allow_zero && nside == 0) return;
  const std::string expected = std::string("(expected ") + (allow_zero ? "0, " : "") +
                               "1, 2, 4, ..., " + std::to_string(kMaxNside) + ")";
  if (nside < 1 || nside > kMaxNside)
    s.fail(key, std::to_string(nside) + " is out of range " + expected);
  if (!is_power_of_two(nside))
    s.fail(key, std::to_string(nside) + " is not a power of two " + expected);
}

void check_positive(const Section& s, const std::string& key, double v, const char* unit = "") {
  if (!(v > 0))
    s.fail(key, std::string("expected a value > 0") + unit + ", got " + format_double(v));
}

void check_non_negative(const Section& s, const std::string& key, double v) {
  if (!(v >= 0)) s.fail(key, "expected a value >= 0, got " + format_double(v));
}

void check_at_least(const Section& s, const std::string& key, std::int64_t v, std::int64_t min) {
  if (v < min)
    s.fail(key, "expected an integer >= " + std::to_string(min) + ", got " + std::to_string(v));
}

/// lo <= v (< or <=) hi.
void check_interval(const Section& s, const std::string& key, double v, double lo, double hi,
                    bool hi_open) {
  const bool ok = v >= lo && (hi_open ? v < hi : v <= hi);
  if (!ok)
    s.fail(key, "expected a value in [" + format_double(lo) + ", " + format_double(hi) +
                    (hi_open ? ")" : "]") + ", got " + format_double(v));
}

void read_input(const Section& s, InputConfig& c, const SimulationConfig& sim) {
  // The files `tod2map sim` writes, when the config has a simulation section: with the plain
  // data/*.fits, its sky.fits (written beside the timelines) would be read as a timeline.
  c.files = {sim.present ? sim.output_dir + "/" + sim.file_prefix + "_*.fits"
                         : std::string("data/*.fits")};
  s.get_list("files", c.files, true);
  if (s.has("detectors")) {
    const YAML::Node v = s.value("detectors");
    if (v.IsScalar() && !is_quoted(v) && lower(v.Scalar()) == "all") {
      c.detectors.clear();
    } else if (v.IsSequence()) {
      s.get_list("detectors", c.detectors, false);
      std::set<std::string> seen;
      for (std::size_t i = 0; i < c.detectors.size(); ++i)
        if (!seen.insert(c.detectors[i]).second)
          s.fail("detectors", "detector '" + c.detectors[i] + "' is listed twice");
    } else {
      s.fail("detectors", "expected 'all' or a list of detector names, got " + describe(v));
    }
  }
  const Section cols = s.sub("columns");
  const std::pair<const char*, std::string*> columns[] = {
      {"time", &c.columns.time},  {"theta", &c.columns.theta},   {"phi", &c.columns.phi},
      {"psi", &c.columns.psi},    {"signal", &c.columns.signal}, {"flag", &c.columns.flag},
      {"pixel", &c.columns.pixel}};
  for (const auto& [key, field] : columns) {
    cols.get(key, *field);
    if (field->empty()) cols.fail(key, "empty column name");
  }
  s.get("flag_mask", c.flag_mask);
  if (c.flag_mask < 0)
    s.fail("flag_mask", "expected a non-negative bit mask, got " + std::to_string(c.flag_mask));
  s.get("max_rejected_fraction", c.max_rejected_fraction);
  check_interval(s, "max_rejected_fraction", c.max_rejected_fraction, 0.0, 1.0, false);
}

void read_pixelization(const Section& s, PixelizationConfig& c) {
  s.get("scheme", c.scheme);
  check_choice(s, "scheme", c.scheme, {"healpix"}, "pixelization scheme");
  s.get("nside", c.nside);
  check_nside(s, "nside", c.nside, false);
  s.get("ordering", c.ordering);
  check_choice(s, "ordering", c.ordering, {"RING", "NEST"}, "ordering");
  s.get("stokes", c.stokes);
  check_choice(s, "stokes", c.stokes, {"I", "IQU"}, "set of Stokes parameters");
}

void read_mapmaker(const Section& s, MapmakerConfig& c) {
  s.get("method", c.method);
  check_choice(s, "method", c.method, {"binned", "destripe", "gls"}, "method");
  s.get("baseline_length", c.baseline_length);
  check_positive(s, "baseline_length", c.baseline_length, " (seconds)");
  s.get("noise_prior", c.noise_prior);
  s.get("min_hits", c.min_hits);
  check_at_least(s, "min_hits", c.min_hits, 0);
  s.get("min_rcond", c.min_rcond);
  check_interval(s, "min_rcond", c.min_rcond, 0.0, 1.0, true);
  s.get("nside_cross", c.nside_cross);
  check_nside(s, "nside_cross", c.nside_cross, true);
}

// nside_cross is a resolution of the destriping system below the map's, and the two-level
// preconditioner's coarse grid one at or below that.
void check_resolutions(const Section& top, const Config& c) {
  if (c.mapmaker.nside_cross > c.pixelization.nside)
    top.sub("mapmaker").fail("nside_cross", std::to_string(c.mapmaker.nside_cross) +
                                                " is above pixelization.nside (" +
                                                std::to_string(c.pixelization.nside) +
                                                "): destriping runs at nside_cross <= nside "
                                                "(0 = nside)");
  const std::int64_t z = c.mapmaker.nside_cross > 0 ? c.mapmaker.nside_cross : c.pixelization.nside;
  if (c.solver.preconditioner == "two_level" && c.solver.coarse_nside > z)
    top.sub("solver").fail("coarse_nside", std::to_string(c.solver.coarse_nside) +
                                               " is above the destriping resolution (" +
                                               std::to_string(z) + ")");
}

void read_solver(const Section& s, SolverConfig& c) {
  s.get("backend", c.backend);
  check_choice(s, "backend", c.backend, {"tpetra", "petsc", "native"}, "backend");
  s.get("tol", c.tol);
  if (!(c.tol > 0 && c.tol < 1))
    s.fail("tol", "expected a value in (0, 1), got " + format_double(c.tol));
  s.get("maxiter", c.maxiter);
  check_at_least(s, "maxiter", c.maxiter, 1);
  s.get("cross_check", c.cross_check);
  check_choice(s, "cross_check", c.cross_check, {"none", "belos", "ksp"}, "cross-check solver");
  s.get("preconditioner", c.preconditioner);
  check_choice(s, "preconditioner", c.preconditioner, {"diagonal", "banded", "two_level"}, "preconditioner");
  s.get("precond_width", c.precond_width);
  check_at_least(s, "precond_width", c.precond_width, 1);
  s.get("coarse_nside", c.coarse_nside);
  check_nside(s, "coarse_nside", c.coarse_nside, false);
  const Section cp = s.sub("checkpoint");
  cp.get("path", c.checkpoint.path);
  cp.get("every", c.checkpoint.every);
  check_at_least(cp, "every", c.checkpoint.every, 0);
  if (s.has("petsc_options") && s.value("petsc_options").IsMap()) {
    const Section opts = s.sub("petsc_options");
    const YAML::Node map = s.value("petsc_options");
    for (auto it = map.begin(); it != map.end(); ++it) {
      const std::string given = it->first.Scalar();
      // PETSc spells options with a leading dash; both "ksp_type" and "-ksp_type" are accepted
      // and stored without it, so that both spellings mean the same key.
      const std::string name = given.size() > 1 && given[0] == '-' ? given.substr(1) : given;
      if (name.empty() || name == "-") opts.fail(given, "empty option name");
      const YAML::Node v = it->second;
      if (!v.IsNull() && !v.IsScalar())
        opts.fail(given,
                  "expected a single value (text, number or true/false), got " + describe(v));
      if (!c.petsc_options.emplace(name, v.IsNull() ? std::string() : v.Scalar()).second)
        opts.fail(given, "option '" + name + "' given more than once");
    }
  }
}

// A path the file system can hold, with room for the ".partial" suffix of atomic writes: a
// 100000-character output.path crashed Open MPI's MPI_File_open (fuzzing, issue 14).
void check_path_length(const Section& s, const std::string& key, const std::string& path) {
  constexpr std::size_t kMaxName = 255 - 8, kMaxPath = 4095 - 8;  // NAME_MAX, PATH_MAX - ".partial"
  const std::string shown = path.size() > 60 ? path.substr(0, 57) + "..." : path;
  if (path.size() > kMaxPath)
    s.fail(key, "'" + shown + "' is " + std::to_string(path.size()) + " bytes long (expected at most " +
                    std::to_string(kMaxPath) + ")");
  for (std::size_t start = 0; start <= path.size();) {
    std::size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    if (end - start > kMaxName)
      s.fail(key, "'" + shown + "' has a file or folder name of " + std::to_string(end - start) +
                      " bytes (expected at most " + std::to_string(kMaxName) + ")");
    start = end + 1;
  }
}

void read_output(const Section& s, OutputConfig& c) {
  s.get("path", c.path);
  check_path_length(s, "path", c.path);
  const auto ends_with = [&](const std::string& ext) {
    const std::string name = std::filesystem::path(c.path).filename().string();
    return name.size() > ext.size() && name.compare(name.size() - ext.size(), ext.size(), ext) == 0;
  };
  if (!ends_with(".h5") && !ends_with(".hdf5") && !ends_with(".fits"))
    s.fail("path", "'" + c.path +
                       "' has no known map format (expected a file name ending in "
                       ".h5, .hdf5 or .fits)");
  s.get("baselines", c.baselines);
  const Section h = s.sub("hdf5");
  h.get("stripe_size", c.hdf5.stripe_size);
  check_at_least(h, "stripe_size", c.hdf5.stripe_size, 1);
  h.get("stripe_count", c.hdf5.stripe_count);
  check_at_least(h, "stripe_count", c.hdf5.stripe_count, 1);
}

std::vector<SimDetector> default_focal_plane() {
  std::vector<SimDetector> dets(4);
  for (int i = 0; i < 4; ++i) {
    dets[i].name = "det" + std::to_string(i);
    dets[i].polang_deg = 45.0 * i;
    dets[i].sigma = 1.0e-3;
    dets[i].fknee = 0.1;
    dets[i].alpha = 1.0;
  }
  return dets;
}

void read_simulation(const Section& s, bool present, SimulationConfig& c) {
  c.present = present;
  if (!present) return;
  s.get("seed", c.seed);
  s.get("output_dir", c.output_dir);
  if (c.output_dir.empty()) s.fail("output_dir", "empty path (use '.' for the config's folder)");
  s.get("file_prefix", c.file_prefix);
  if (c.file_prefix.empty() || c.file_prefix.find('/') != std::string::npos)
    s.fail("file_prefix", "'" + c.file_prefix +
                              "' is not a file name prefix (expected a "
                              "non-empty name without '/')");
  s.get("n_observations", c.n_observations);
  check_at_least(s, "n_observations", c.n_observations, 1);
  s.get("observation_length", c.observation_length);
  check_positive(s, "observation_length", c.observation_length, " (seconds)");
  s.get("sample_rate", c.sample_rate);
  check_positive(s, "sample_rate", c.sample_rate, " (Hz)");
  s.get("precision", c.precision);
  check_choice(s, "precision", c.precision, {"float32", "float64"}, "precision");
  s.get("coordsys", c.coordsys);
  check_choice(s, "coordsys", c.coordsys, {"G", "E", "C"}, "coordinate system");
  s.get("write_pixels", c.write_pixels);
  s.get("flag_fraction", c.flag_fraction);
  check_interval(s, "flag_fraction", c.flag_fraction, 0.0, 1.0, true);
  s.get("write_sky", c.write_sky);

  const Section sky = s.sub("sky");
  sky.get("type", c.sky.type);
  check_choice(sky, "type", c.sky.type, {"synthetic", "file"}, "sky type");
  sky.get("path", c.sky.path);
  if (c.sky.type == "file" && c.sky.path.empty())
    sky.fail("path", "required when simulation.sky.type is 'file' (a healpy map file)");
  sky.get("nside", c.sky.nside);
  check_nside(sky, "nside", c.sky.nside, true);

  const Section scan = s.sub("scan");
  auto& sc = c.scan;
  scan.get("type", sc.type);
  check_choice(scan, "type", sc.type, {"satellite", "ground"}, "scan type");
  scan.get("spin_period", sc.spin_period);
  check_positive(scan, "spin_period", sc.spin_period, " (seconds)");
  scan.get("spin_angle_deg", sc.spin_angle_deg);
  check_interval(scan, "spin_angle_deg", sc.spin_angle_deg, 0.0, 180.0, false);
  scan.get("precession_period", sc.precession_period);
  check_positive(scan, "precession_period", sc.precession_period, " (seconds)");
  scan.get("precession_angle_deg", sc.precession_angle_deg);
  check_interval(scan, "precession_angle_deg", sc.precession_angle_deg, 0.0, 180.0, false);
  scan.get("latitude_deg", sc.latitude_deg);
  check_interval(scan, "latitude_deg", sc.latitude_deg, -90.0, 90.0, false);
  scan.get("elevation_deg", sc.elevation_deg);
  check_interval(scan, "elevation_deg", sc.elevation_deg, 0.0, 90.0, false);
  scan.get("azimuth_center_deg", sc.azimuth_center_deg);
  scan.get("azimuth_throw_deg", sc.azimuth_throw_deg);
  check_interval(scan, "azimuth_throw_deg", sc.azimuth_throw_deg, 0.0, 360.0, false);
  scan.get("scan_speed_deg", sc.scan_speed_deg);
  check_positive(scan, "scan_speed_deg", sc.scan_speed_deg, " (deg/s)");

  if (!s.has("focal_plane")) {
    c.focal_plane = default_focal_plane();
  } else {
    const YAML::Node list = s.value("focal_plane");  // a list of mappings (pass 2)
    if (list.size() == 0) s.fail("focal_plane", "empty list (expected at least one detector)");
    c.focal_plane.clear();
    std::set<std::string> names;
    for (std::size_t i = 0; i < list.size(); ++i) {
      const Section d = s.item("focal_plane", i);
      SimDetector det;
      if (!d.has("name")) d.fail("name", "missing (every detector needs a name)");
      d.get("name", det.name);
      if (det.name.empty()) d.fail("name", "empty string (expected a detector name)");
      if (!names.insert(det.name).second)
        d.fail("name", "detector name '" + det.name + "' is used twice");
      d.get("polang_deg", det.polang_deg);
      d.get("poleff", det.poleff);
      check_interval(d, "poleff", det.poleff, 0.0, 1.0, false);
      d.get("sigma", det.sigma);
      // SIGMA weights samples by 1/sigma^2 in the map-maker, so 0 is impossible even for
      // noiseless data (made with white_noise and correlated_noise false instead).
      if (!(det.sigma > 0))
        d.fail("sigma", "expected a value > 0, got " + format_double(det.sigma) +
                            " (for noiseless data set simulation.white_noise and "
                            "simulation.correlated_noise to false)");
      d.get("fknee", det.fknee);
      check_non_negative(d, "fknee", det.fknee);
      d.get("alpha", det.alpha);
      c.focal_plane.push_back(std::move(det));
    }
  }
  s.get("white_noise", c.white_noise);
  s.get("correlated_noise", c.correlated_noise);
}

// The checkpoint and the map are different files: a checkpoint written over the map (or over
// the map's .partial) would destroy one with the other.
void check_checkpoint_path(const Section& s, const Config& c) {
  const std::string& path = c.solver.checkpoint.path;
  if (path.empty()) return;
  check_path_length(s, "path", path);
  namespace fs = std::filesystem;
  const auto same = [](const std::string& a, const std::string& b) {
    return fs::path(a).lexically_normal() == fs::path(b).lexically_normal();
  };
  if (same(path, c.output.path) || same(path, c.output.path + ".partial"))
    s.fail("path", "'" + path +
                       "' is the map file output.path (or its .partial): give the "
                       "checkpoint its own file");
  if (path.back() == '/' || fs::path(path).filename() == "." || fs::path(path).filename() == "..")
    s.fail("path", "'" + path + "' names a folder, expected a file name (e.g. out/checkpoint.h5)");
}

// ---------------------------------------------------------------------------------------------
// Overrides.

std::vector<std::string> split_dots(const std::string& path) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    const auto dot = path.find('.', start);
    parts.push_back(path.substr(start, dot == std::string::npos ? dot : dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return parts;
}

/// Checks `--set key.path=value` against the schema and writes the value into the document.
void apply_override(Context& ctx, YAML::Node& root, const std::string& text) {
  const auto eq = text.find('=');
  if (eq == std::string::npos)
    throw ConfigError("--set " + text + ": expected key.path=value (e.g. --set solver.tol=1e-8)");
  const std::string path = text.substr(0, eq);
  const std::string value_text = text.substr(eq + 1);
  const std::vector<std::string> parts = split_dots(path);
  if (std::any_of(parts.begin(), parts.end(), [](const std::string& p) { return p.empty(); }))
    throw ConfigError("--set " + text + ": '" + path +
                      "' is not a key path (expected names separated by dots, e.g. solver.tol)");

  // Walk the schema: sections may be descended into, petsc_options takes one free name, a leaf
  // or a list of detectors ends the path (lists are replaced whole).
  std::string schema;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const std::string parent = schema;
    const KeyInfo* parent_info = parent.empty() ? nullptr : find_key(parent);
    if (parent_info && parent_info->kind == Kind::free_map) {
      if (i + 1 != parts.size())
        ctx.fail_override(text, path, "an option of " + parent + " takes a single value");
      break;
    }
    if (parent_info && parent_info->kind != Kind::section)
      ctx.fail_override(text, path, parent + " is not a section (it holds a value)");
    schema = join_path(parent, parts[i]);
    if (!find_key(schema))
      ctx.fail_override(text, schema, unknown_key_problem(parent, parent, parts[i]));
  }

  YAML::Node value;
  try {
    // A leading '*' is a YAML alias, which means nothing in a one-value document; it is a glob
    // (--set input.files=*.fits), so it is taken as text.
    value = value_text.rfind('*', 0) == 0 ? YAML::Node(value_text) : YAML::Load(value_text);
  } catch (const YAML::ParserException& e) {
    throw ConfigError("--set " + text + ": value is not valid YAML (" + e.msg + ")");
  }

  // yaml-cpp's Node::operator= assigns through to the node it refers to; reset() rebinds the
  // handle itself, which is what walking down the document needs.
  if (root.IsNull()) root.reset(YAML::Node(YAML::NodeType::Map));
  YAML::Node cur;
  cur.reset(root);
  std::string prefix;
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    prefix = join_path(prefix, parts[i]);
    YAML::Node next = cur[parts[i]];
    if (!next.IsMap()) {
      // An absent or empty section is created. A value where a section belongs is the file's
      // error, reported as pass 2 would report it.
      if (next.IsDefined() && !next.IsNull())
        ctx.fail(prefix, "expected a mapping of keys (" + join_list(children_of(prefix)) +
                             "), got " + describe(next));
      cur[parts[i]] = YAML::Node(YAML::NodeType::Map);
      next.reset(cur[parts[i]]);
    }
    cur.reset(next);
  }
  if (find_key(parent_of(path)) && find_key(parent_of(path))->kind == Kind::free_map) {
    // "ksp_type" and "-ksp_type" name the same PETSc option: the override replaces either.
    const std::string name = parts.back()[0] == '-' ? parts.back().substr(1) : parts.back();
    cur.remove(name);
    cur.remove("-" + name);
  }
  cur[parts.back()] = value;
  ctx.add_override(path, text);
}

// ---------------------------------------------------------------------------------------------

std::string source_label(const std::string& source) {
  return source.empty() ? "(config text)" : source;
}

Config parse_document(const std::string& yaml_text, const std::string& source,
                      const std::string& base_dir, const std::vector<std::string>& overrides) {
  const std::string label = source_label(source);
  const auto where = [&](const YAML::Mark& m) {
    return label + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1) + ": ";
  };
  // yaml-cpp reads a raw NUL byte as the start of an escape ("unknown escape character: p").
  if (const auto nul = yaml_text.find('\0'); nul != std::string::npos) {
    const auto line_start = yaml_text.rfind('\n', nul);
    const auto column = nul - (line_start == std::string::npos ? 0 : line_start + 1);
    const auto line = std::count(yaml_text.begin(), yaml_text.begin() + nul, '\n');
    throw ConfigError(label + ":" + std::to_string(line + 1) + ":" + std::to_string(column + 1) +
                      ": holds a NUL byte (a config file is text)");
  }
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAll(yaml_text);
  } catch (const YAML::ParserException& e) {
    throw ConfigError(where(e.mark) + "not valid YAML: " + e.msg);
  }
  if (docs.size() > 1)
    throw ConfigError(label + ": holds " + std::to_string(docs.size()) +
                      " YAML documents (expected one)");
  YAML::Node root = docs.empty() ? YAML::Node() : docs[0];
  if (!root.IsNull() && !root.IsMap())
    throw ConfigError(where(root.Mark()) + "the top level must be a mapping of sections (" +
                      join_list(children_of("")) + "), got " + describe(root));

  Context ctx(label);
  for (const std::string& o : overrides) apply_override(ctx, root, o);
  check_structure(ctx, root, "", "");

  Config config;
  config.source = source;
  config.base_dir = base_dir.empty() ? "." : base_dir;
  const Section top(ctx, root, "");
  // The simulation section first: the default input files are the ones it writes.
  read_simulation(top.sub("simulation"), top.has("simulation"), config.simulation);
  read_input(top.sub("input"), config.input, config.simulation);
  read_pixelization(top.sub("pixelization"), config.pixelization);
  read_mapmaker(top.sub("mapmaker"), config.mapmaker);
  read_solver(top.sub("solver"), config.solver);
  read_output(top.sub("output"), config.output);
  check_checkpoint_path(top.sub("solver").sub("checkpoint"), config);
  check_resolutions(top, config);
  return config;
}

// ---------------------------------------------------------------------------------------------
// to_yaml.

class Writer {
 public:
  Writer() { out_ << YAML::BeginMap; }
  void begin(const char* key) { out_ << YAML::Key << key << YAML::Value << YAML::BeginMap; }
  void end() { out_ << YAML::EndMap; }
  void put(const std::string& key, const std::string& v) {
    out_ << YAML::Key << key << YAML::Value;
    str(v);
  }
  void put(const std::string& key, const char* v) { put(key, std::string(v)); }
  void put(const std::string& key, bool v) {
    out_ << YAML::Key << key << YAML::Value << (v ? "true" : "false");
  }
  void put(const std::string& key, double v) {
    out_ << YAML::Key << key << YAML::Value << format_double(v);
  }
  void put(const std::string& key, std::int64_t v) {
    out_ << YAML::Key << key << YAML::Value << std::to_string(v);
  }
  void put(const std::string& key, int v) { put(key, static_cast<std::int64_t>(v)); }
  void put(const std::string& key, std::uint64_t v) {
    out_ << YAML::Key << key << YAML::Value << std::to_string(v);
  }
  void put_list(const std::string& key, const std::vector<std::string>& items) {
    // Short lists on one line; long ones (input.files of a survey) one item per line, so no
    // line grows with the list (the FITS map stores one line per row).
    std::size_t chars = 0;
    for (const auto& s : items) chars += s.size() + 2;
    out_ << YAML::Key << key << YAML::Value << (chars > 200 ? YAML::Block : YAML::Flow)
         << YAML::BeginSeq;
    for (const auto& s : items) str(s);
    out_ << YAML::EndSeq;
  }
  YAML::Emitter& raw() { return out_; }
  std::string text() {
    out_ << YAML::EndMap;
    return std::string(out_.c_str()) + "\n";
  }
  /// A string value, quoted when it would otherwise read back as something else.
  void str(const std::string& v) {
    if (is_yaml_special(v)) out_ << YAML::DoubleQuoted;
    out_ << v;
  }

 private:
  YAML::Emitter out_;
};

}  // namespace

Config load_config(const std::string& path, const std::vector<std::string>& overrides) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw IoError(path + ": cannot read config file (it is a directory)");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(path + ": cannot read config file (" + std::strerror(errno) + ")");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw IoError(path + ": cannot read config file (read error)");
  std::string base = std::filesystem::path(path).parent_path().string();
  return parse_document(text.str(), path, base.empty() ? "." : base, overrides);
}

Config parse_config(const std::string& yaml_text, const std::string& base_dir,
                    const std::vector<std::string>& overrides) {
  return parse_document(yaml_text, "", base_dir, overrides);
}

std::string to_yaml(const Config& c) {
  Writer w;
  w.begin("input");
  w.put_list("files", c.input.files);
  if (c.input.detectors.empty())
    w.put("detectors", "all");
  else
    w.put_list("detectors", c.input.detectors);
  w.raw() << YAML::Key << "columns" << YAML::Value << YAML::Flow << YAML::BeginMap;
  w.put("time", c.input.columns.time);
  w.put("theta", c.input.columns.theta);
  w.put("phi", c.input.columns.phi);
  w.put("psi", c.input.columns.psi);
  w.put("signal", c.input.columns.signal);
  w.put("flag", c.input.columns.flag);
  w.put("pixel", c.input.columns.pixel);
  w.end();
  w.put("flag_mask", c.input.flag_mask);
  w.put("max_rejected_fraction", c.input.max_rejected_fraction);
  w.end();

  w.begin("pixelization");
  w.put("scheme", c.pixelization.scheme);
  w.put("nside", c.pixelization.nside);
  w.put("ordering", c.pixelization.ordering);
  w.put("stokes", c.pixelization.stokes);
  w.end();

  w.begin("mapmaker");
  w.put("method", c.mapmaker.method);
  w.put("baseline_length", c.mapmaker.baseline_length);
  w.put("noise_prior", c.mapmaker.noise_prior);
  w.put("min_hits", c.mapmaker.min_hits);
  w.put("min_rcond", c.mapmaker.min_rcond);
  w.put("nside_cross", c.mapmaker.nside_cross);
  w.end();

  w.begin("solver");
  w.put("backend", c.solver.backend);
  w.put("tol", c.solver.tol);
  w.put("maxiter", c.solver.maxiter);
  w.put("cross_check", c.solver.cross_check);
  w.put("preconditioner", c.solver.preconditioner);
  w.put("precond_width", c.solver.precond_width);
  w.put("coarse_nside", c.solver.coarse_nside);
  w.raw() << YAML::Key << "checkpoint" << YAML::Value << YAML::Flow << YAML::BeginMap;
  w.put("path", c.solver.checkpoint.path);
  w.put("every", c.solver.checkpoint.every);
  w.end();
  w.raw() << YAML::Key << "petsc_options" << YAML::Value;
  if (c.solver.petsc_options.empty()) w.raw() << YAML::Flow;
  w.raw() << YAML::BeginMap;
  for (const auto& [name, value] : c.solver.petsc_options) {
    w.raw() << YAML::Key;
    w.str(name);
    w.raw() << YAML::Value;
    w.str(value);
  }
  w.end();
  w.end();

  w.begin("output");
  w.put("path", c.output.path);
  w.put("baselines", c.output.baselines);
  w.raw() << YAML::Key << "hdf5" << YAML::Value << YAML::Flow << YAML::BeginMap;
  w.put("stripe_size", c.output.hdf5.stripe_size);
  w.put("stripe_count", c.output.hdf5.stripe_count);
  w.end();
  w.end();

  // Written only when present: its presence is what `tod2map sim` looks for.
  if (c.simulation.present) {
    const SimulationConfig& s = c.simulation;
    w.begin("simulation");
    w.put("seed", s.seed);
    w.put("output_dir", s.output_dir);
    w.put("file_prefix", s.file_prefix);
    w.put("n_observations", s.n_observations);
    w.put("observation_length", s.observation_length);
    w.put("sample_rate", s.sample_rate);
    w.put("precision", s.precision);
    w.put("coordsys", s.coordsys);
    w.put("write_pixels", s.write_pixels);
    w.put("flag_fraction", s.flag_fraction);
    w.put("write_sky", s.write_sky);
    w.raw() << YAML::Key << "sky" << YAML::Value << YAML::Flow << YAML::BeginMap;
    w.put("type", s.sky.type);
    w.put("path", s.sky.path);
    w.put("nside", s.sky.nside);
    w.end();
    w.begin("scan");
    w.put("type", s.scan.type);
    w.put("spin_period", s.scan.spin_period);
    w.put("spin_angle_deg", s.scan.spin_angle_deg);
    w.put("precession_period", s.scan.precession_period);
    w.put("precession_angle_deg", s.scan.precession_angle_deg);
    w.put("latitude_deg", s.scan.latitude_deg);
    w.put("elevation_deg", s.scan.elevation_deg);
    w.put("azimuth_center_deg", s.scan.azimuth_center_deg);
    w.put("azimuth_throw_deg", s.scan.azimuth_throw_deg);
    w.put("scan_speed_deg", s.scan.scan_speed_deg);
    w.end();
    w.raw() << YAML::Key << "focal_plane" << YAML::Value << YAML::BeginSeq;
    for (const SimDetector& d : s.focal_plane) {
      w.raw() << YAML::Flow << YAML::BeginMap;
      w.put("name", d.name);
      w.put("polang_deg", d.polang_deg);
      w.put("poleff", d.poleff);
      w.put("sigma", d.sigma);
      w.put("fknee", d.fknee);
      w.put("alpha", d.alpha);
      w.end();
    }
    w.raw() << YAML::EndSeq;
    w.put("white_noise", s.white_noise);
    w.put("correlated_noise", s.correlated_noise);
    w.end();
  }
  return "# tod2map configuration, every key resolved" +
         (c.source.empty() ? std::string() : " (from " + c.source + ")") + "\n" + w.text();
}

}  // namespace tod2map::io
