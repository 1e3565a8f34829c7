// The config key table, key by key: every value key round-trips a non-default value through
// to_yaml and parse_config, and every key is written by to_yaml. The list of keys is the
// table's, so a new key is tested without editing this file.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>

#include "tod2map/config/config.hpp"
#include "tod2map/config/config_keys.hpp"

namespace {

using namespace tod2map;
using namespace tod2map::io;

// All defaults, with a simulation section so that its keys are read and written too.
Config defaults() { return parse_config("simulation: {}\n"); }

TEST(ConfigKeys, TableListsEveryKeyOnce) {
  const auto keys = config_value_keys();
  EXPECT_GT(keys.size(), 60u);
  for (std::size_t i = 0; i < keys.size(); ++i)
    for (std::size_t j = 0; j < i; ++j) EXPECT_NE(keys[i], keys[j]);
}

TEST(ConfigKeys, EveryKeyRoundTripsANonDefaultValue) {
  const Config base = defaults();
  const std::string base_yaml = to_yaml(base);
  for (const std::string& key : config_value_keys()) {
    SCOPED_TRACE(key);
    Config changed = base;
    bool has_example = false;
    ASSERT_NO_THROW(has_example = set_config_example(changed, key));
    if (!has_example) {
      // Only keys that accept a single value have none.
      EXPECT_EQ(key, "pixelization.scheme");
      continue;
    }
    EXPECT_FALSE(same_config_value(changed, base, key)) << "the example is the default";
    const std::string yaml = to_yaml(changed);
    EXPECT_NE(yaml, base_yaml) << "to_yaml does not write the key";
    Config back;
    ASSERT_NO_THROW(back = parse_config(yaml)) << yaml;
    for (const std::string& other : config_value_keys())
      EXPECT_TRUE(same_config_value(back, changed, other)) << "after the round trip: " << other;
    EXPECT_EQ(to_yaml(back), yaml);
  }
}

TEST(ConfigKeys, ShortcutsAreValueKeysWithUniqueLastNames) {
  const auto shortcuts = config_shortcut_keys();
  const auto keys = config_value_keys();
  EXPECT_EQ(shortcuts.size(), 18u);
  std::set<std::string> names;
  for (const std::string& key : shortcuts) {
    EXPECT_NE(std::find(keys.begin(), keys.end(), key), keys.end()) << key;
    EXPECT_TRUE(names.insert(key.substr(key.rfind('.') + 1)).second) << key;
  }
  EXPECT_EQ(shortcuts.front(), "input.max_rejected_fraction");
  EXPECT_TRUE(names.count("nside") && names.count("tol") && names.count("baselines"));
}

TEST(ConfigKeys, UnknownKeyIsRefused) {
  Config c = defaults();
  EXPECT_ANY_THROW(set_config_example(c, "solver.tolerance"));
  EXPECT_ANY_THROW(same_config_value(c, c, "solver"));
}

TEST(ConfigKeys, DocsGenerationKeepsProseAndNeedsEndMarkers) {
  const std::string md =
      "# Title\nprose\n<!-- keys: pixelization -->\nold table\n<!-- end keys -->\nmore prose\n";
  const std::string out = generate_config_docs(md);
  EXPECT_EQ(out.substr(0, 42), "# Title\nprose\n<!-- keys: pixelization -->\n");
  EXPECT_NE(out.find("| `nside` | integer | `256` |"), std::string::npos) << out;
  EXPECT_EQ(out.find("old table"), std::string::npos);
  EXPECT_EQ(out.substr(out.size() - 29), "<!-- end keys -->\nmore prose\n");
  EXPECT_EQ(generate_config_docs(out), out);
  EXPECT_ANY_THROW(generate_config_docs("<!-- keys: input -->\nno end\n"));
  EXPECT_ANY_THROW(generate_config_docs("<!-- keys: nosuch -->\n<!-- end keys -->\n"));
}

}  // namespace
