// tod2map/config/config_keys.hpp: the key table's per-key operations, by path.
#include "config_table.hpp"
#include "tod2map/config/config_keys.hpp"
#include "tod2map/core/error.hpp"

namespace tod2map {

using namespace io::config_table;

namespace {

const ConfigKey* find(const std::string& path) { return config_key_table().find(path); }

[[noreturn]] void unknown(const std::string& key) {
  throw InvalidArgument("config key table: no value key '" + key + "'");
}

}  // namespace

std::vector<std::string> config_value_keys() {
  std::vector<std::string> keys;
  for (const ConfigKey& k : config_key_table().keys)
    if (k.kind != Kind::section) keys.push_back(k.path);
  return keys;
}

std::vector<std::string> config_shortcut_keys() {
  std::vector<std::string> keys;
  for (const ConfigKey& k : config_key_table().keys)
    if (k.shortcut) keys.push_back(k.path);
  return keys;
}

bool set_config_example(Config& config, const std::string& key) {
  const ConfigKey* k = find(key);
  if (!k || k->kind == Kind::section) unknown(key);
  if (k->single_value) return false;
  if (!k->set_example) throw InvalidArgument("config key table: no example for " + key);
  k->set_example(config);
  return true;
}

bool same_config_value(const Config& a, const Config& b, const std::string& key) {
  const ConfigKey* k = find(key);
  if (!k || k->kind == Kind::section) unknown(key);
  return k->same(a, b);
}

}  // namespace tod2map
