#pragma once
// What every timeline file writer (FITS, HDF5) does before it writes: refuse an observation
// without detectors and create the missing folders of the path. Not installed.
#include <cstddef>
#include <string>

namespace tod2map::io::detail {

/// Throws InvalidArgument (no detectors) or IoError (a folder that cannot be created), both
/// starting with `where`. Returns the temporary name to write, `<path>.partial`, which the
/// writer renames to path when the file is complete.
std::string prepare_timeline_file(const std::string& where, const std::string& path,
                                  std::size_t n_detectors);

}  // namespace tod2map::io::detail
