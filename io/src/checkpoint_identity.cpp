// The identity of a run for CG checkpoints: the resolved config without the keys that leave
// the iterates alone, the input files with their sizes, the rank count and the version.
#include "tod2map/io/checkpoint_identity.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <system_error>
#include <vector>

#include "fnv_hash.hpp"
#include "tod2map/core/error.hpp"
#include "tod2map/core/mpi.hpp"
#include "tod2map/core/version.hpp"

namespace tod2map::io {
namespace {

std::string bcast_text(std::string text, MPI_Comm comm) {
  long long n = static_cast<long long>(text.size());
  TOD2MAP_CHECK_MPI(MPI_Bcast(&n, 1, MPI_LONG_LONG, 0, comm));
  text.resize(static_cast<std::size_t>(n));
  // A file list or a config is far below 2 GiB; a bigger one would not fit one int count.
  if (n > 0) TOD2MAP_CHECK_MPI(MPI_Bcast(text.data(), static_cast<int>(n), MPI_CHAR, 0, comm));
  return text;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::size_t indent_of(const std::string& line) {
  const auto first = line.find_first_not_of(' ');
  return first == std::string::npos ? line.size() : first;
}

// The key path of line i of a block-style YAML text (to_yaml's): the keys of the lines above
// it with less indentation, then its own key (none for a list item "- ..."); the value is
// what follows ": ".
std::pair<std::string, std::string> key_and_value(const std::vector<std::string>& lines,
                                                  std::size_t i) {
  const std::string& line = lines[i];
  const std::size_t indent = indent_of(line);
  const bool item = line.compare(indent, 2, "- ") == 0;
  const auto colon = item ? std::string::npos : line.find(": ", indent);
  std::string path;
  if (colon != std::string::npos)
    path = line.substr(indent, colon - indent);
  else if (!item && !line.empty() && line.back() == ':')
    path = line.substr(indent, line.size() - indent - 1);
  std::size_t limit = indent;
  for (std::size_t j = i; j-- > 0 && limit > 0;) {
    const std::size_t ind = indent_of(lines[j]);
    if (ind >= limit || lines[j].empty() || lines[j].back() != ':') continue;
    path = lines[j].substr(ind, lines[j].size() - ind - 1) + (path.empty() ? "" : "." + path);
    limit = ind;
  }
  const std::string value =
      colon == std::string::npos ? line.substr(indent) : line.substr(colon + 2);
  return {path, value};
}

std::string input_list(const ConfigOrigin& origin, const InputConfig& input) {
  namespace fs = std::filesystem;
  std::string list;
  for (const std::string& file : expand_input_files(origin, input)) {
    std::error_code ec;
    const fs::path abs = fs::absolute(file, ec).lexically_normal();
    const auto size = fs::file_size(file, ec);
    if (ec) throw IoError(file + ": cannot read the file size (" + ec.message() + ")");
    list += abs.string() + "\t" + std::to_string(size) + "\n";
  }
  return list;
}

std::string config_difference(const std::string& saved, const std::string& now) {
  const auto a = lines_of(saved), b = lines_of(now);
  std::vector<std::string> found;
  std::size_t i = 0;
  // Line by line while the two texts keep the same shape (to_yaml writes every key), so that
  // every changed key is named; the first line that does not pair up ends the comparison.
  for (; i < a.size() && i < b.size(); ++i) {
    if (a[i] == b[i]) continue;
    const auto [key_a, value_a] = key_and_value(a, i);
    const auto [key_b, value_b] = key_and_value(b, i);
    if (key_a.empty() || key_a != key_b) {
      found.push_back("'" + a[i] + "' in the checkpoint, '" + b[i] + "' now");
      break;
    }
    found.push_back(key_a + ": " + value_a + " in the checkpoint, " + value_b + " now");
  }
  if (found.empty() && i < a.size()) found.push_back("'" + a[i] + "' in the checkpoint only");
  if (found.empty() && i < b.size()) found.push_back("'" + b[i] + "' now only");
  if (found.empty()) return "the same text with another hash";
  constexpr std::size_t kShown = 3;
  std::string text;
  for (std::size_t k = 0; k < found.size() && k < kShown; ++k) text += (k ? "; " : "") + found[k];
  if (found.size() > kShown) text += "; and " + std::to_string(found.size() - kShown) + " more";
  return text;
}

std::string files_difference(const std::string& saved, const std::string& now) {
  const auto a = lines_of(saved), b = lines_of(now);
  const auto show = [](std::string line) {
    const auto tab = line.find('\t');
    if (tab != std::string::npos)
      line = line.substr(0, tab) + " (" + line.substr(tab + 1) + " bytes)";
    return line;
  };
  std::size_t i = 0;
  while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
  std::string detail =
      std::to_string(a.size()) + " files in the checkpoint, " + std::to_string(b.size()) + " now";
  if (i < a.size() && i < b.size())
    detail += "; first difference: " + show(a[i]) + " in the checkpoint, " + show(b[i]) + " now";
  else if (i < a.size())
    detail += "; " + show(a[i]) + " is missing now";
  else if (i < b.size())
    detail += "; " + show(b[i]) + " is new";
  return detail;
}

}  // namespace

std::string without_keys(const std::string& yaml, const std::vector<std::string>& keys) {
  const auto lines = lines_of(yaml);
  std::string kept;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string path = key_and_value(lines, i).first;
    bool drop = false;
    for (const std::string& key : keys) {
      const std::size_t n = key.size();
      drop = drop || (path.compare(0, n, key) == 0 && (path.size() == n || path[n] == '.'));
    }
    if (!drop) kept += lines[i] + "\n";
  }
  return kept;
}

RunIdentity run_identity(std::string iterate_config, const ConfigOrigin& origin,
                         const InputConfig& input, MPI_Comm comm) {
  RunIdentity id;
  id.ranks = comm_size(comm);
  id.version = tod2map::version();
  id.config = std::move(iterate_config);
  std::string files;
  collective(comm, [&] {
    if (comm_rank(comm) == 0) files = input_list(origin, input);
  });
  id.input_files = bcast_text(files, comm);
  return id;
}

std::string text_hash(const std::string& text) {
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx",
                static_cast<unsigned long long>(fnv::bytes(text.data(), text.size())));
  return hex;
}

std::string describe_difference(const RunIdentity& saved, const RunIdentity& now) {
  std::vector<std::string> parts;
  if (saved.version != now.version)
    parts.push_back("tod2map version " + saved.version + " in the checkpoint, " + now.version +
                    " now");
  if (saved.ranks != now.ranks)
    parts.push_back("rank count " + std::to_string(saved.ranks) + " in the checkpoint, " +
                    std::to_string(now.ranks) + " now");
  if (saved.config != now.config)
    parts.push_back("config differs (" + config_difference(saved.config, now.config) + ")");
  if (saved.input_files != now.input_files)
    parts.push_back("input files differ (" + files_difference(saved.input_files, now.input_files) +
                    ")");
  std::string text;
  for (const auto& p : parts) text += (text.empty() ? "" : "; ") + p;
  return text;
}

}  // namespace tod2map::io
