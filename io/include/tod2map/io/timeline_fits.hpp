#pragma once
// Timeline FITS files (docs/formats.md): writing, describing, naming an HDU. Reading goes
// through the format-neutral input step (timeline_input.hpp, included here for the callers
// that used to find it in this header).
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "tod2map/io/timeline.hpp"
#include "tod2map/io/timeline_input.hpp"

namespace tod2map::io {

/// A reference to the detector BINTABLE at HDU `hdu` (1-based) of a timeline FITS file, as
/// index_timelines makes it; for tests and tools that name an HDU directly.
TimelineRef fits_timeline_ref(const std::string& file, int hdu, const std::string& detector,
                              std::int64_t nsamples);

/// How write_timeline_file stores floating-point columns.
struct TimelineWriteOptions {
  bool float32 = false;  ///< E columns instead of D for THETA, PHI, PSI, SIGNAL
};

/// Writes one observation file: primary HDU (OBSID, SAMPRATE) and one BINTABLE per detector
/// with the standard column names (PIXEL + NSIDE/ORDERING instead of THETA/PHI when the
/// timeline has pixels). Written to <path>.partial and renamed, so a failure never leaves a
/// file that looks complete. No timestamps: the same timelines give byte-identical files.
/// OBSID is written as an integer when it is the decimal text of one ("12"), else as a string
/// ("0012"); TIME is omitted when time is empty, FLAG is written as zeros when flag is empty.
/// Parent folders are created. Throws InvalidArgument for inconsistent timelines (sizes,
/// names, NSIDE), IoError when the file cannot be written.
void write_timeline_file(const std::string& path, const ObservationInfo& obs,
                         const std::vector<Timeline>& detectors,
                         const TimelineWriteOptions& options = {});

/// Human-readable description of a FITS file (timeline or map) for `tod2map info`.
/// Throws IoError when it is not a readable FITS file.
void describe_fits_file(const std::string& path, std::ostream& out);

}  // namespace tod2map::io
