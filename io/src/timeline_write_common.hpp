#pragma once
// What every timeline file writer (FITS, HDF5) does around and before writing: refuse an
// observation without detectors, create the missing folders of the path, write through a
// temporary file, check each detector. Not installed.
#include <cstddef>
#include <functional>
#include <optional>
#include <string>

#include "tod2map/io/timeline.hpp"

namespace tod2map::io::detail {

/// Throws InvalidArgument (no detectors) or IoError (a folder that cannot be created), both
/// starting with `where`, then has write(partial) write the file under the temporary name
/// `<path>.partial` (a stale one from a killed run removed first) and renames it to path once
/// write returns, so that a failed or interrupted write never leaves a file that looks
/// finished and never clobbers an earlier good one. When write throws the partial file is
/// removed; a signal that ends the command-line tool removes it too (core/interrupt.hpp).
void write_timeline_via_partial(const std::string& where, const std::string& path,
                                std::size_t n_detectors,
                                const std::function<void(const std::string& partial)>& write);

/// OBSID as every format stores it: an integer when it reads back as the same text ("0003"
/// stays a string), else nullopt.
std::optional<long long> obsid_as_integer(const std::string& obsid);

/// Checks one detector before a writer writes it: every array as long as SIGNAL (TIME and FLAG
/// may be empty), PIXEL with a valid nside, ordering and range, or THETA and PHI, finite header
/// values and COORDSYS G, E or C, so that what is written reads back. bad(what) throws, naming
/// the place. Returns PIXEL's ordering as RING or NEST ("" without PIXEL).
std::string check_timeline_to_write(const Timeline& t,
                                    const std::function<void(const std::string&)>& bad);

}  // namespace tod2map::io::detail
