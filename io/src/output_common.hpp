#pragma once
// What every output file (map, checkpoint) does alike: check its folder before a library
// reports a bad one in its own words, and stamp its creation time. Not installed.
#include <string>

namespace tod2map::io::detail {

/// Creates the missing folders of path's parent (as `mkdir -p`; "." when it has none) and
/// throws IoError starting with `where` when that fails or the folder is not writable.
void prepare_parent_folder(const std::string& where, const std::string& path);

/// The current UTC time as "YYYY-MM-DDTHH:MM:SSZ" (ISO 8601).
std::string utc_now_iso8601();

}  // namespace tod2map::io::detail
