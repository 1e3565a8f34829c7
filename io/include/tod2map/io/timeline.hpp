#pragma once
// In-memory form of the timeline FITS files of DESIGN.md section 3. One Timeline is one
// observation x one detector: the unit that is distributed over ranks.
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace tod2map::io {

/// Detector properties from a BINTABLE extension header.
struct DetectorInfo {
  std::string name;                                          ///< EXTNAME
  double sigma = std::numeric_limits<double>::quiet_NaN();   ///< SIGMA, NaN when absent
  double fknee = 0.0;                                        ///< FKNEE [Hz], 0 = white
  double alpha = 1.0;                                        ///< ALPHA
  double polang = 0.0;                                       ///< POLANG [rad]
  double poleff = 1.0;                                       ///< POLEFF
  std::string coordsys;                                      ///< COORDSYS (G, E, C) or ""
  bool has_sigma() const { return sigma == sigma; }
};

/// Observation-level header (primary HDU).
struct ObservationInfo {
  std::string obsid;     ///< OBSID, as text even when stored as an integer
  double samprate = 0;   ///< SAMPRATE [Hz]
};

/// Where one observation x detector lives on disk and how long it is; cheap to build for every
/// file (headers only) and the unit of work distribution.
struct TimelineRef {
  std::string file;          ///< path as given (after glob expansion)
  int hdu = 0;               ///< 1-based CFITSIO HDU number of the detector's BINTABLE
  std::string detector;      ///< EXTNAME
  std::int64_t nsamples = 0; ///< NAXIS2
};

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
  std::vector<std::int64_t> pixel;       ///< empty unless the file gives PIXEL
  std::int64_t pixel_nside = 0;          ///< NSIDE header when PIXEL is given
  std::string pixel_ordering;            ///< ORDERING header (RING/NEST) when PIXEL is given
  std::vector<std::int32_t> flag;        ///< raw FLAG column (0 when the file has none)
  std::vector<std::uint8_t> good;        ///< 1 = sample used
  std::int64_t n_flagged = 0;            ///< samples rejected by flag_mask
  std::int64_t n_nonfinite = 0;          ///< samples rejected for a non-finite value
  bool signal_float32 = false;           ///< SIGNAL is stored as E (float32) in the file

  std::int64_t size() const { return static_cast<std::int64_t>(signal.size()); }
  bool has_pixels() const { return !pixel.empty(); }
};

}  // namespace tod2map::io
