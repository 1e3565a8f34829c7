// The run configuration: YAML text -> checked, typed Config (io's document passes, then the
// key table), and back to YAML (to_yaml).
#include <filesystem>

#include "config_table.hpp"
#include "tod2map/io/config_table/document.hpp"
#include "tod2map/io/config_table/writer.hpp"

namespace tod2map {
namespace {

using namespace io::config_table;

Config parse(const std::string& yaml_text, const std::string& source, const std::string& base_dir,
             const std::vector<std::string>& overrides) {
  static const KeyIndex keys = config_key_table().index();
  Config config;
  config.source = source;
  config.base_dir = base_dir.empty() ? "." : base_dir;
  const Document doc = parse_document(yaml_text, config.label(), overrides, keys);
  config_key_table().read(doc.top(), config);
  return config;
}

/// `path` as the folder `base_dir` sees it, absolute and normalised; globs stay globs.
std::string absolute_from(const std::string& base_dir, const std::string& path) {
  namespace fs = std::filesystem;
  if (path.empty() || fs::path(path).is_absolute()) return path;
  std::error_code ec;
  const fs::path base = fs::absolute(base_dir.empty() ? "." : base_dir, ec);
  if (ec) return path;
  return (base / path).lexically_normal().string();
}

}  // namespace

Config load_config(const std::string& path, const std::vector<std::string>& overrides) {
  const std::string text = read_config_text(path);
  std::string base = std::filesystem::path(path).parent_path().string();
  return parse(text, path, base.empty() ? "." : base, overrides);
}

Config parse_config(const std::string& yaml_text, const std::string& base_dir,
                    const std::vector<std::string>& overrides) {
  return parse(yaml_text, "", base_dir, overrides);
}

std::string to_yaml(const Config& c) {
  Writer w;
  config_key_table().write(w, c);
  return "# tod2map configuration, every key resolved" +
         (c.source.empty() ? std::string() : " (from " + c.source + ")") + "\n" + w.text();
}

Config with_absolute_input_paths(const Config& config) {
  Config c = config;
  for (std::string& entry : c.input.files) entry = absolute_from(config.base_dir, entry);
  c.simulation.output_dir = absolute_from(config.base_dir, c.simulation.output_dir);
  c.simulation.sky.path = absolute_from(config.base_dir, c.simulation.sky.path);
  return c;
}

}  // namespace tod2map
