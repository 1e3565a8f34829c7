#pragma once
// Timeline HDF5 files (docs/formats.md, "HDF5 timeline files"): writing. Reading goes through the
// format-neutral input step (timeline_input.hpp), which chooses the format by content.
#include <string>
#include <vector>

#include "tod2map/io/timeline.hpp"
#include "tod2map/io/timeline_fits.hpp"  // TimelineWriteOptions

namespace tod2map::io {

/// Writes one observation as an HDF5 timeline file: root attributes OBSID, SAMPRATE, NEXTEND and
/// a group per detector (in the given order, which the file records) with the attributes and
/// datasets of the FITS layout, so that reading it gives exactly what the FITS file gives.
/// Written to <path>.partial and renamed, without timestamps (the same timelines give
/// byte-identical files). Throws InvalidArgument for inconsistent timelines, IoError when the
/// file cannot be written.
void write_timeline_hdf5_file(const std::string& path, const ObservationInfo& obs,
                              const std::vector<Timeline>& detectors,
                              const TimelineWriteOptions& options = {});

}  // namespace tod2map::io
