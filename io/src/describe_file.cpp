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

// The 8-byte signature that starts an HDF5 file written without a user block (all of ours).
bool is_hdf5(const std::string& head) {
  static const char kSignature[8] = {'\x89', 'H', 'D', 'F', '\r', '\n', '\x1a', '\n'};
  return head.compare(0, sizeof kSignature, std::string(kSignature, sizeof kSignature)) == 0;
}

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
  // Timeline formats first: FITS describes its maps too. HDF5 maps are not a timeline format.
  if (const detail::TimelineFormat* format = detail::sniff_timeline_format(path)) {
    format->describe(path, out);
    return;
  }
  if (is_hdf5(detail::file_head(path))) {
    describe_hdf5_file(path, out);
    return;
  }
  throw IoError(std::string(kDescribeFunc) + ": " + path +
                ": not a file tod2map reads (it starts neither with a FITS header 'SIMPLE  =' "
                "nor with the HDF5 signature)");
}

}  // namespace tod2map::io
