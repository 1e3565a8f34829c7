#pragma once
// Timeline FITS files (DESIGN.md section 3): indexing, distribution over ranks, reading and
// writing. Reading is by whole columns in chunks of CFITSIO's optimal row count.
#include <mpi.h>

#include <ostream>
#include <string>
#include <vector>

#include "tod2map/io/config.hpp"
#include "tod2map/io/timeline.hpp"

namespace tod2map::io {

/// Lists every detector BINTABLE of the given files (filtered by input.detectors), sorted by
/// file path then HDU number, so the result never depends on file-system order. Reads headers
/// only. Collective over comm: ranks share the files and exchange the result; a bad file on
/// any rank makes every rank throw the same IoError.
std::vector<TimelineRef> index_timelines(const std::vector<std::string>& files,
                                         const InputConfig& input, MPI_Comm comm);

/// Assigns timelines to ranks, balanced by sample count (largest first, to the least loaded
/// rank, ties to the lower rank). Deterministic: depends only on the list and nranks.
/// Returns, for each rank, the indices into refs it owns (in increasing order).
std::vector<std::vector<std::size_t>> assign_timelines(const std::vector<TimelineRef>& refs,
                                                       int nranks);

/// Reads one observation x detector. need_sigma: a missing SIGMA header is an error.
/// Throws IoError naming file, HDU, detector and column.
/// psi is the PSI column as stored: consumers add det.polang (POLANG) themselves. Without a
/// TIME column, time[i] = i / SAMPRATE; without a FLAG column, flag is all 0.
Timeline read_timeline(const TimelineRef& ref, const InputConfig& input, bool need_sigma);

/// The whole input step of a run: expand input.files, index, assign, read this rank's share.
/// Collective; errors are agreed over comm.
std::vector<Timeline> read_timelines(const Config& config, MPI_Comm comm, bool need_sigma);

/// How write_timeline_file stores floating-point columns.
struct TimelineWriteOptions {
  bool float32 = false;   ///< E columns instead of D for THETA, PHI, PSI, SIGNAL
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
