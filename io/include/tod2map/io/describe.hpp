#pragma once
// `tod2map info FILE` and Python's tod2map.describe: what a timeline or map file holds.
#include <ostream>
#include <string>

namespace tod2map::io {

/// Describes any file tod2map reads or writes, choosing how by its content (its first bytes),
/// never by its extension: timeline formats first, then HDF5 maps. Not collective. Throws
/// IoError with a one-line message naming the file when it is missing or of no known format.
void describe_file(const std::string& path, std::ostream& out);

}  // namespace tod2map::io
