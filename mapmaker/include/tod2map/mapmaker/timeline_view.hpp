#pragma once
// Timelines given as borrowed arrays, and map-making from them: the zero-copy input path of
// the Python module (numpy arrays are read where they are, never copied into io::Timeline
// vectors), usable from C++ for any samples already in host memory.
//
// build_local_data below produces exactly what its io::Timeline counterpart (local_data.hpp)
// produces for the same samples in the same order, and make_map below ends in the same
// make_map as `tod2map run` (pipeline.hpp): same chunk layout, same kernels, same reductions,
// so the maps agree bit for bit.
#include <mpi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "tod2map/config/config.hpp"
#include "tod2map/io/timeline.hpp"
#include "tod2map/mapmaker/local_data.hpp"
#include "tod2map/mapmaker/pipeline.hpp"

namespace tod2map::mapmaker {

/// One observation x detector as borrowed host arrays of `size` samples each. Pointing is
/// theta/phi (radians) or pixel (with pixel_nside and pixel_ordering), the other pair null.
/// Nothing here owns memory: the arrays must outlive every call that reads the view.
struct TimelineView {
  std::string file;       ///< source file for messages and baseline names ("" for arrays)
  std::string label;      ///< how messages name it (io::timeline_label); "" for arrays
  std::string obsid;      ///< OBSID (names the timeline's baselines)
  double samprate = 0;    ///< Hz; chunks are baseline_length * samprate samples
  io::DetectorInfo det;   ///< name, SIGMA (required), POLANG, POLEFF, COORDSYS, ...
  std::int64_t size = 0;  ///< samples
  const double* theta = nullptr;
  const double* phi = nullptr;
  const std::int64_t* pixel = nullptr;
  std::int64_t pixel_nside = 0;
  std::string pixel_ordering;   ///< RING | NEST, for pixel
  const double* psi = nullptr;  ///< radians, without POLANG (added by the expansion)
  const double* signal = nullptr;
  /// Other signal columns (input.columns.signal as a list), each `size` values; one map each.
  std::vector<const double*> more_signals;
  const std::uint8_t* good = nullptr;  ///< 1 = sample used (see mark_good_samples)
  std::int64_t n_flagged = 0;          ///< samples rejected by the flag mask
  std::int64_t n_nonfinite = 0;        ///< samples rejected for a non-finite value
  std::int64_t n_bad_pointing = 0;     ///< theta outside [0, pi] or |phi| > io::kMaxSampleAngle
  std::int64_t n_bad_weight = 0;       ///< |psi| > io::kMaxSampleAngle

  bool has_pixels() const { return pixel != nullptr; }
  /// Throws InvalidArgument naming the timeline when an array that size > 0 needs is null
  /// (the good mask only when need_good).
  void check_arrays(bool need_good) const;
  /// "file[HDU n 'x']", "file[detector 'x']" or "timeline of detector 'x' (obsid 'y')".
  std::string where() const;
};

/// A view of a timeline read by io::read_timeline (its vectors must outlive the view).
TimelineView view_of(const io::Timeline& timeline);

/// Fills good[0..size) with the rule of io::read_timeline and sets view.good and the counts:
/// a sample is flagged where (flag & flag_mask) != 0 (flag may be null: no flags), else
/// rejected by io::sample_fault (non-finite, pointing or psi out of range). Checks
/// that the pointing arrays are present and that pixels lie in 0 .. 12 nside^2 - 1; throws
/// InvalidArgument naming the timeline otherwise. Not collective.
void mark_good_samples(TimelineView& view, const std::int64_t* flag, std::int64_t flag_mask,
                       std::uint8_t* good);

/// As build_local_data(std::vector<io::Timeline>&&, ...), reading the views in place
/// (both go through LocalDataBuilder, local_data_builder.hpp).
/// Throws InvalidArgument naming the timeline for a missing array, a SIGMA that is not finite
/// and positive, or a PIXEL nside other than options.nside. Not collective.
LocalData build_local_data(const std::vector<TimelineView>& timelines,
                           const PointingOptions& options);

/// Makes the map from this rank's share of the timelines as views (config.input is used only
/// for max_rejected_fraction), with output.coordsys agreed over the ranks from the detectors'
/// COORDSYS. The views are only read. Collective.
MapMakingResult make_map(const Config& config, const std::vector<TimelineView>& timelines,
                         MPI_Comm comm);

}  // namespace tod2map::mapmaker
