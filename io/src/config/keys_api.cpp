// io/include/tod2map/io/config_keys.hpp: the key table's per-key operations, by path.
#include "config/schema.hpp"
#include "tod2map/core/error.hpp"
#include "tod2map/io/config_keys.hpp"

namespace tod2map::io {

using namespace config_detail;

namespace {

const Key* find(const std::string& path) {
  for (const Key& k : table().keys)
    if (k.path == path) return &k;
  return nullptr;
}

const ItemKey* find_item(const std::string& path) {
  for (const ItemKey& k : table().items)
    if (k.path == path) return &k;
  return nullptr;
}

[[noreturn]] void unknown(const std::string& key) {
  throw InvalidArgument("config key table: no value key '" + key + "'");
}

}  // namespace

std::vector<std::string> config_value_keys() {
  std::vector<std::string> keys;
  for (const Key& k : table().keys)
    if (k.kind != Kind::section) keys.push_back(k.path);
  for (const ItemKey& k : table().items) keys.push_back(k.path);
  return keys;
}

bool set_config_example(Config& config, const std::string& key) {
  if (const Key* k = find(key); k && k->kind != Kind::section) {
    if (k->single_value) return false;
    if (!k->set_example) throw InvalidArgument("config key table: no example for " + key);
    k->set_example(config);
  } else if (const ItemKey* item = find_item(key)) {
    if (!item->set_example) throw InvalidArgument("config key table: no example for " + key);
    if (config.simulation.focal_plane.empty()) config.simulation.focal_plane.emplace_back();
    item->set_example(config.simulation.focal_plane.front());
  } else {
    unknown(key);
  }
  return true;
}

bool same_config_value(const Config& a, const Config& b, const std::string& key) {
  if (const Key* k = find(key); k && k->kind != Kind::section) return k->same(a, b);
  if (const ItemKey* item = find_item(key)) {
    const auto& x = a.simulation.focal_plane;
    const auto& y = b.simulation.focal_plane;
    if (x.size() != y.size()) return false;
    for (std::size_t i = 0; i < x.size(); ++i)
      if (!item->same(x[i], y[i])) return false;
    return true;
  }
  unknown(key);
}

}  // namespace tod2map::io
