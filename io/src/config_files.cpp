// input.files -> the list of timeline files: globs expanded, paths resolved against the config
// file's folder, missing files reported before any work starts.
#include <glob.h>

#include <algorithm>
#include <filesystem>
#include <new>
#include <string>
#include <system_error>
#include <vector>

#include "tod2map/core/error.hpp"
#include "tod2map/io/options.hpp"

namespace tod2map::io {
namespace {

namespace fs = std::filesystem;

bool is_glob(const std::string& entry) { return entry.find_first_of("*?[") != std::string::npos; }

bool is_regular_file(const std::string& path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec);  // follows symbolic links
}

/// The folder relative entries start from, absolute, for messages.
std::string describe_base(const std::string& base_dir) {
  std::error_code ec;
  fs::path abs = fs::absolute(base_dir.empty() ? "." : base_dir, ec).lexically_normal();
  std::string s = abs.string();
  if (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

/// Regular files matching `pattern`, in glob(3)'s order.
std::vector<std::string> glob_files(const std::string& pattern, const std::string& where) {
  glob_t g{};
  const int rc = ::glob(pattern.c_str(), 0, nullptr, &g);
  std::vector<std::string> out;
  if (rc == 0) {
    for (std::size_t i = 0; i < g.gl_pathc; ++i)
      if (is_regular_file(g.gl_pathv[i])) out.emplace_back(g.gl_pathv[i]);
  }
  globfree(&g);
  if (rc == GLOB_NOSPACE) throw std::bad_alloc();
  if (rc == GLOB_ABORTED)
    throw IoError(where + "cannot read the folders of '" + pattern + "' (read error)");
  return out;
}

}  // namespace

std::vector<std::string> expand_input_files(const ConfigOrigin& origin, const InputConfig& input) {
  const std::string where = origin.label() + ": key input.files: ";
  if (input.files.empty()) throw ConfigError(where + "no input files given");
  std::vector<std::string> files;
  for (const std::string& entry : input.files) {
    if (entry.empty()) throw ConfigError(where + "empty path");
    const fs::path p(entry);
    const bool relative = !p.is_absolute();
    // lexically_normal turns "./data/x.fits" into "data/x.fits", so one file named two ways
    // is still de-duplicated below.
    const std::string full =
        (relative ? fs::path(origin.base_dir.empty() ? "." : origin.base_dir) / p : p)
            .lexically_normal()
            .string();
    const std::string rel = relative ? " (relative to " + describe_base(origin.base_dir) + ")" : "";
    if (is_glob(entry)) {
      std::vector<std::string> matched = glob_files(full, where);
      if (matched.empty()) throw ConfigError(where + "'" + entry + "' matches no file" + rel);
      files.insert(files.end(), matched.begin(), matched.end());
    } else {
      std::error_code ec;
      const fs::file_status st = fs::status(full, ec);
      if (!fs::exists(st)) throw ConfigError(where + "'" + entry + "' does not exist" + rel);
      if (!fs::is_regular_file(st))
        throw ConfigError(where + "'" + entry + "' is not a regular file" + rel);
      files.push_back(full);
    }
  }
  std::sort(files.begin(), files.end());
  files.erase(std::unique(files.begin(), files.end()), files.end());
  return files;
}

}  // namespace tod2map::io
