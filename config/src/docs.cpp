// docs/config.md's key tables, generated from the key table (generate_config_docs); the prose
// between them stays hand-written.
#include "config_table.hpp"
#include "tod2map/config/config_keys.hpp"
#include "tod2map/core/error.hpp"

namespace tod2map {

using namespace io::config_table;

namespace {

constexpr const char* kBegin = "<!-- keys: ";
constexpr const char* kBeginClose = " -->\n";
constexpr const char* kEnd = "<!-- end keys -->";

void add_row(std::string& out, const ConfigKey& k, const std::string& section) {
  if (k.doc.empty()) return;
  const std::string name = k.path.substr(section.size() + 1);
  out += "| `" + name + "` | " + k.type + " | " + k.default_text + " | " + k.doc + " |\n";
}

/// The table of the keys below `section` ("input", or "simulation.focal_plane[]" for the
/// detectors' keys).
std::string key_table(const std::string& section) {
  std::string out = "| key | type | default | meaning |\n| --- | --- | --- | --- |\n";
  const bool items = section.back() == ']';  // a list's item keys have their own table
  const std::string prefix = section + (items ? "" : ".");
  std::size_t rows = 0;
  for (const ConfigKey& k : config_key_table().keys) {
    const bool in_section = items ? parent_of(k.path) == section
                                  : k.path.compare(0, prefix.size(), prefix) == 0 &&
                                        k.path.find("[]") == std::string::npos;
    if (in_section) {
      add_row(out, k, section);
      ++rows;
    }
  }
  if (rows == 0) throw InvalidArgument("config docs: no keys under '" + section + "'");
  return out;
}

}  // namespace

std::string generate_config_docs(const std::string& markdown) {
  std::string out;
  std::size_t pos = 0;
  while (true) {
    const std::size_t begin = markdown.find(kBegin, pos);
    if (begin == std::string::npos) break;
    const std::size_t name_start = begin + std::string(kBegin).size();
    const std::size_t name_end = markdown.find(kBeginClose, name_start);
    const std::size_t end = markdown.find(kEnd, name_start);
    if (name_end == std::string::npos || end == std::string::npos || end < name_end)
      throw InvalidArgument("config docs: marker at offset " + std::to_string(begin) + " has no '" +
                            kEnd + "' after it");
    const std::string section = markdown.substr(name_start, name_end - name_start);
    const std::size_t body = name_end + std::string(kBeginClose).size();
    out += markdown.substr(pos, body - pos) + key_table(section);
    pos = end;
  }
  return out + markdown.substr(pos);
}

}  // namespace tod2map
