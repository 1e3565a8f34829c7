#include "timeline_write_common.hpp"

#include <filesystem>
#include <system_error>

#include "tod2map/core/error.hpp"

namespace tod2map::io::detail {

std::string prepare_timeline_file(const std::string& where, const std::string& path,
                                  std::size_t n_detectors) {
  namespace fs = std::filesystem;
  if (n_detectors == 0)
    throw InvalidArgument(where + ": no detectors (a timeline file holds at least one)");
  std::error_code ec;
  const fs::path parent = fs::path(path).parent_path();
  if (!parent.empty()) {
    fs::create_directories(parent, ec);
    if (ec)
      throw IoError(where + ": cannot create folder '" + parent.string() + "' (" + ec.message() +
                    ")");
  }
  return path + ".partial";
}

}  // namespace tod2map::io::detail
