#include "output_common.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <system_error>

#include "tod2map/core/error.hpp"

namespace tod2map::io::detail {

void prepare_parent_folder(const std::string& where, const std::string& path) {
  namespace fs = std::filesystem;
  fs::path folder = fs::path(path).parent_path();
  if (folder.empty()) folder = ".";
  std::error_code ec;
  fs::create_directories(folder, ec);
  if (ec)
    throw IoError(where + ": cannot create folder '" + folder.string() + "' (" + ec.message() +
                  ")");
  if (!fs::is_directory(folder, ec))
    throw IoError(where + ": '" + folder.string() + "' is not a folder");
  if (::access(folder.c_str(), W_OK | X_OK) != 0)
    throw IoError(where + ": folder '" + folder.string() + "' is not writable (" +
                  std::strerror(errno) + ")");
}

std::string utc_now_iso8601() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

}  // namespace tod2map::io::detail
