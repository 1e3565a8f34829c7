// Reading a config document, whatever its keys: YAML text -> a checked document for a key
// table to read.
//
// Parsing goes in three passes so that the error a user sees is the root cause:
//   1. YAML syntax (ConfigError with file:line:column),
//   2. overrides (`--set key.path=value`) are checked against the key table and applied to the
//      document, then the whole document's structure is checked: unknown keys (with a "did you
//      mean"), duplicate keys, sections that are not mappings. A misspelt key is reported here,
//      before the default that replaced it could cause a confusing value error later.
//   3. every key is read with its type and its value checked (Table::read, by the caller).
#include "tod2map/io/config_table/document.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
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
#include "tod2map/io/config_table/reader.hpp"
#include "tod2map/io/config_table/text.hpp"
#include "tod2map/io/config_table/writer.hpp"

namespace tod2map::io::config_table {
namespace {

/// "unknown key (did you mean 'mapmaker.method'?)". `schema_parent` is the schema path of the
/// mapping that holds the key, `display_parent` the same path as the user sees it (with list
/// indices). A key that belongs to another section is suggested there.
std::string unknown_key_problem(const KeyIndex& keys, const std::string& schema_parent,
                                const std::string& display_parent, const std::string& key) {
  const auto sibling = closest(key, keys.children_of(schema_parent));
  std::vector<std::string> elsewhere;
  for (const std::string& path : keys.all_paths()) {
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
  return "unknown key (expected one of: " + join_list(keys.children_of(schema_parent)) + ")";
}

// ---------------------------------------------------------------------------------------------
// Pass 2: structure.

void check_structure(const Context& ctx, const KeyIndex& keys, const YAML::Node& node,
                     const std::string& schema_path, const std::string& display_path);

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

void check_structure(const Context& ctx, const KeyIndex& keys, const YAML::Node& node,
                     const std::string& schema_path, const std::string& display_path) {
  if (node.IsNull()) return;  // "simulation:" with nothing under it: all defaults
  if (!node.IsMap())
    ctx.fail(display_path, "expected a mapping of keys (" +
                               join_list(keys.children_of(schema_path)) + "), got " +
                               describe(node));
  check_mapping_keys(ctx, node, display_path);
  for (auto it = node.begin(); it != node.end(); ++it) {
    const std::string key = it->first.Scalar();
    const std::string schema_child = join_path(schema_path, key);
    const std::string display_child = join_path(display_path, key);
    if (!keys.is_key(schema_child))
      ctx.fail(display_child, unknown_key_problem(keys, schema_path, display_path, key));
    const YAML::Node value = it->second;  // a copy: `it->` yields a temporary
    switch (keys.kind_of(schema_child)) {
      case Kind::leaf:
        break;  // types are checked when the value is read
      case Kind::section:
        check_structure(ctx, keys, value, schema_child, display_child);
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
                               join_list(keys.children_of(schema_child + "[]")) + "), got " +
                               describe(value[i]));
          check_structure(ctx, keys, value[i], schema_child + "[]", item);
        }
        break;
    }
  }
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
void apply_override(Context& ctx, const KeyIndex& keys, YAML::Node& root, const std::string& text) {
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
    const std::optional<Kind> parent_kind =
        parent.empty() ? std::nullopt : std::optional<Kind>(keys.kind_of(parent));
    if (parent_kind == Kind::free_map) {
      if (i + 1 != parts.size())
        ctx.fail_override(text, path, "an option of " + parent + " takes a single value");
      break;
    }
    if (parent_kind && *parent_kind != Kind::section)
      ctx.fail_override(text, path, parent + " is not a section (it holds a value)");
    schema = join_path(parent, parts[i]);
    if (!keys.is_key(schema))
      ctx.fail_override(text, schema, unknown_key_problem(keys, parent, parent, parts[i]));
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
        ctx.fail(prefix, "expected a mapping of keys (" + join_list(keys.children_of(prefix)) +
                             "), got " + describe(next));
      cur[parts[i]] = YAML::Node(YAML::NodeType::Map);
      next.reset(cur[parts[i]]);
    }
    cur.reset(next);
  }
  if (keys.is_key(parent_of(path)) && keys.kind_of(parent_of(path)) == Kind::free_map) {
    // "ksp_type" and "-ksp_type" name the same PETSc option: the override replaces either.
    const std::string name = parts.back()[0] == '-' ? parts.back().substr(1) : parts.back();
    cur.remove(name);
    cur.remove("-" + name);
  }
  cur[parts.back()] = value;
  ctx.add_override(path, text);
}

}  // namespace

Document parse_document(const std::string& yaml_text, const std::string& label,
                        const std::vector<std::string>& overrides, const KeyIndex& keys) {
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
  Document doc;
  doc.root = docs.empty() ? YAML::Node() : docs[0];
  if (!doc.root.IsNull() && !doc.root.IsMap())
    throw ConfigError(where(doc.root.Mark()) + "the top level must be a mapping of sections (" +
                      join_list(keys.children_of("")) + "), got " + describe(doc.root));

  doc.context = std::make_unique<Context>(label);
  for (const std::string& o : overrides) apply_override(*doc.context, keys, doc.root, o);
  check_structure(*doc.context, keys, doc.root, "", "");
  return doc;
}

std::string read_config_text(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw IoError(path + ": cannot read config file (it is a directory)");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(path + ": cannot read config file (" + std::strerror(errno) + ")");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw IoError(path + ": cannot read config file (read error)");
  return text.str();
}

}  // namespace tod2map::io::config_table
