#pragma once
// The config reader's reading side: which text a key came from (Context), and one mapping of
// the document read key by key, each value's type checked (Section). Every message has the form
// "<source>: key <path>: <problem>", where source is the file or the `--set` that set the key.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "tod2map/core/error.hpp"
#include "tod2map/io/config_table/text.hpp"

namespace tod2map::io::config_table {

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

/// One mapping of the document (possibly absent or null) and its key path.
class Section {
 public:
  /// `present`: the document holds the mapping's key (perhaps with no value under it).
  Section(const Context& ctx, YAML::Node node, std::string path, bool present = true)
      : ctx_(&ctx), node_(std::move(node)), path_(std::move(path)), present_(present) {}

  bool present() const { return present_; }

  bool has(const std::string& key) const { return node_.IsMap() && node_[key].IsDefined(); }
  YAML::Node value(const std::string& key) const { return node_[key]; }
  std::string path(const std::string& key) const { return join_path(path_, key); }
  Section sub(const std::string& key) const {
    return Section(*ctx_, has(key) ? value(key) : YAML::Node(), path(key), has(key));
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

  /// A list of strings (a leaf of that type): get_list without a scalar.
  void get(const std::string& key, std::vector<std::string>& out) const {
    get_list(key, out, false);
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
  bool present_;
};

}  // namespace tod2map::io::config_table
