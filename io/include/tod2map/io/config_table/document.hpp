#pragma once
// Passes 1 and 2 of reading a config (io/src/config/document.cpp), for any key table: YAML
// syntax, `--set key.path=value` overrides, and the structure of the whole document (unknown
// keys with a "did you mean", duplicate keys, sections that are not mappings). The key table
// then reads the values (Table::read on Document::top()).
#include <yaml-cpp/yaml.h>

#include <memory>
#include <string>
#include <vector>

#include "tod2map/io/config_table/reader.hpp"
#include "tod2map/io/config_table/table.hpp"

namespace tod2map::io::config_table {

/// A checked document and where each of its keys came from.
struct Document {
  std::unique_ptr<Context> context;  // on the heap: the Sections of top() point to it
  YAML::Node root;
  Section top() const { return Section(*context, root, ""); }
};

/// Throws ConfigError "<label>:<line>:<column>: not valid YAML: ...", "<label>: key <path>:
/// ..." or "--set <override>: ..." for the first problem found. `label` names the text (the
/// file, or "(config text)").
Document parse_document(const std::string& yaml_text, const std::string& label,
                        const std::vector<std::string>& overrides, const KeyIndex& keys);

/// The text of a config file; IoError "<path>: cannot read config file (...)".
std::string read_config_text(const std::string& path);

}  // namespace tod2map::io::config_table
