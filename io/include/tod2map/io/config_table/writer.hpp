#pragma once
// The config writer: to_yaml's emitter, writing values so that the reader reads them back as
// the same value (doubles exactly, strings quoted where they would read as something else).
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <string>
#include <vector>

#include "tod2map/io/config_table/text.hpp"

namespace tod2map::io::config_table {

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
  /// An empty list is left out: reading refuses an explicit empty list, and absent is empty.
  void put(const std::string& key, const std::vector<std::string>& items) {
    if (!items.empty()) put_list(key, items);
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

}  // namespace tod2map::io::config_table
