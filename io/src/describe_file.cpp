// `tod2map info` and Python's describe (describe.hpp): the file's first bytes choose the
// describer, so a misnamed file is still described, and an unknown one is named in one line.
#include <filesystem>
#include <system_error>

#include "timeline_format.hpp"
#include "tod2map/core/error.hpp"
#include "tod2map/io/describe.hpp"
#include "tod2map/io/map_output.hpp"

namespace tod2map::io {

namespace {

constexpr const char* kDescribeFunc = "io::describe_file";

}  // namespace

void describe_file(const std::string& path, std::ostream& out) {
  std::error_code ec;
  const auto st = std::filesystem::status(path, ec);
  if (st.type() == std::filesystem::file_type::not_found)
    throw IoError(std::string(kDescribeFunc) + ": " + path + ": file not found");
  if (ec)
    throw IoError(std::string(kDescribeFunc) + ": " + path + ": cannot access the file (" +
                  ec.message() + ")");
  if (std::filesystem::is_directory(st))
    throw IoError(std::string(kDescribeFunc) + ": " + path + ": is a folder, expected a file");
  // Every timeline format describes the other files of its kind too: FITS its maps, HDF5
  // (timeline_hdf5_format.cpp) hands maps and other files without an OBSID to the map describer.
  if (const detail::TimelineFormat* format = detail::sniff_timeline_format(path)) {
    format->describe(path, out);
    return;
  }
  throw IoError(std::string(kDescribeFunc) + ": " + path +
                ": not a file tod2map reads (it starts neither with a FITS header 'SIMPLE  =' "
                "nor with the HDF5 signature)");
}

}  // namespace tod2map::io
