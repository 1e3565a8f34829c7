#pragma once
// In-memory form of the timelines of docs/formats.md, whatever file format they come from.
// One Timeline is one observation x one detector: the unit that is distributed over ranks.
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace tod2map::io {

/// Detector properties from a BINTABLE extension header.
struct DetectorInfo {
  std::string name;                                         ///< EXTNAME
  double sigma = std::numeric_limits<double>::quiet_NaN();  ///< SIGMA, NaN when absent
  double fknee = 0.0;                                       ///< FKNEE [Hz], 0 = white
  double alpha = 1.0;                                       ///< ALPHA
  double polang = 0.0;                                      ///< POLANG [rad]
  double poleff = 1.0;                                      ///< POLEFF
  std::string coordsys;                                     ///< COORDSYS (G, E, C) or ""
  /// SIGNAL's unit (FITS: its TUNITn; HDF5: the SIGNAL dataset's attribute 'units'), "" if
  /// none; it becomes the map's units.
  std::string units;
  bool has_sigma() const { return sigma == sigma; }
};

/// Observation-level header (primary HDU).
struct ObservationInfo {
  std::string obsid;    ///< OBSID, as text even when stored as an integer
  double samprate = 0;  ///< SAMPRATE [Hz]
};

/// Where one observation x detector lives on disk and how long it is; cheap to build for every
/// file (headers only) and the unit of work distribution. Format-neutral: `format` names the
/// TimelineFormat that indexed it and `location` says where in the file, in that format's terms.
struct TimelineRef {
  std::string file;      ///< path as given (after glob expansion)
  std::string format;    ///< TimelineFormat name ("fits"), chosen by the file's content
  std::string location;  ///< opaque to all but the format (FITS: the HDU number, "2")
  std::string detector;  ///< detector name (FITS: EXTNAME)
  std::string obsid;     ///< the file's OBSID (output.splits select by it before reading)
  double samprate = 0;   ///< the file's SAMPRATE (the memory plan counts baselines by it)
  /// SIGNAL stored as float32 (kept so in memory); set, like units, for selected timelines.
  bool signal_float32 = false;
  std::int64_t nsamples = 0;  ///< samples (FITS: NAXIS2)
  /// COORDSYS and SIGNAL's unit as DetectorInfo holds them; set by indexing for the timelines
  /// input.detectors selects, so that inputs that disagree stop the run before any read.
  std::string coordsys, units;
  /// FITS HDU number, 0 for other formats. Duplicates `location` for the readers of messages
  /// outside io (mapmaker::TimelineView::where); new code uses the format's label instead.
  int hdu = 0;
};

/// Largest |PHI| and |PSI| of a usable sample, in radians. Unwrapped angles are fine (a year of
/// scanning at 1 rpm reaches 3e6 rad), but beyond 1e8 rad a double no longer holds the angle to
/// 1e-8 rad, and 1e308 overflows 2 PSI: such values are corrupt, not pointing.
inline constexpr double kMaxSampleAngle = 1e8;

/// The largest THETA of a usable sample: healpix::pi, the bound ang2pix checks.
inline constexpr double kMaxTheta = 3.141592653589793238462643383279502884197;

/// Why a sample that passed the flag test is left out of the map (docs/formats.md).
enum class SampleFault : std::uint8_t {
  none = 0,   ///< used
  nonfinite,  ///< SIGNAL, PSI, THETA or PHI is NaN or infinite
  pointing,   ///< THETA outside [0, pi] or |PHI| > kMaxSampleAngle
  weight,     ///< |PSI| > kMaxSampleAngle: no polarization weight can be formed
};

/// The fault of one unflagged sample; theta and phi are ignored when has_angles is false
/// (PIXEL pointing, whose range the reader checks as an error).
inline SampleFault sample_fault(double signal, double psi, bool has_angles, double theta,
                                double phi) {
  if (!(std::isfinite(signal) && std::isfinite(psi)) ||
      (has_angles && !(std::isfinite(theta) && std::isfinite(phi))))
    return SampleFault::nonfinite;
  if (has_angles && !(theta >= 0.0 && theta <= kMaxTheta && std::fabs(phi) <= kMaxSampleAngle))
    return SampleFault::pointing;
  if (std::fabs(psi) > kMaxSampleAngle) return SampleFault::weight;
  return SampleFault::none;
}

/// True when a timeline that lost `lost` of its `unflagged` samples to faults lost more than
/// input.max_rejected_fraction allows (the run then stops, naming it).
inline bool too_many_rejected(std::int64_t lost, std::int64_t unflagged, double max_fraction) {
  return static_cast<double>(lost) > max_fraction * static_cast<double>(unflagged);
}

/// One detector's samples for one observation, as read (or as simulated before writing).
/// Pointing is given either as theta/phi (radians) or as pixel (with pixel_nside and
/// pixel_ordering); psi is always given. `good[i]` is 1 where the sample is used: its flag
/// passes flag_mask and signal and pointing are finite.
struct Timeline {
  TimelineRef ref;
  ObservationInfo obs;
  DetectorInfo det;
  std::vector<double> time;
  std::vector<double> theta;
  std::vector<double> phi;
  std::vector<double> psi;
  std::vector<double> signal;
  /// The columns of input.columns.signal after the first, in its order (one more map each).
  std::vector<std::vector<double>> more_signals;
  std::vector<std::int64_t> pixel;  ///< empty unless the file gives PIXEL
  std::int64_t pixel_nside = 0;     ///< NSIDE header when PIXEL is given
  std::string pixel_ordering;       ///< ORDERING header (RING/NEST) when PIXEL is given
  std::vector<std::int32_t> flag;   ///< raw FLAG column (0 when the file has none)
  std::vector<std::uint8_t> good;   ///< 1 = sample used
  std::int64_t n_flagged = 0;       ///< samples rejected by flag_mask
  std::int64_t n_nonfinite = 0;     ///< samples rejected for a non-finite value
  std::int64_t n_bad_pointing = 0;  ///< unflagged, finite, pointing out of range
  std::int64_t n_bad_weight = 0;    ///< unflagged, finite, PSI out of range
  bool has_flag_column = true;      ///< false: the file had no FLAG column (all good)
  /// Where the non-flag rejections come from and their likely cause, for messages
  /// ("THETA values up to 179.9: degrees?"); empty when none.
  std::string rejection_note;
  bool signal_float32 = false;  ///< SIGNAL is stored as E (float32) in the file

  std::int64_t size() const { return static_cast<std::int64_t>(signal.size()); }
  bool has_pixels() const { return !pixel.empty(); }
  /// Unflagged samples left out: non-finite, pointing or weight out of range.
  std::int64_t n_unusable() const { return n_nonfinite + n_bad_pointing + n_bad_weight; }
};

}  // namespace tod2map::io
