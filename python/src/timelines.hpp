#pragma once
// The Python Timeline (bind_timelines.cpp), shared with bind_mapmaker.cpp, which reads it.
#include <cstdint>
#include <string>

#include "bindings.hpp"
#include "tod2map/io/timeline.hpp"
#include "tod2map/mapmaker/timeline_view.hpp"

namespace tod2map::python {

/// One observation x detector whose arrays are numpy arrays (None where absent): the user's
/// own arrays, or views of an io::Timeline read from FITS.
struct Timeline {
  std::string file, obsid;
  double samprate = 0;
  io::DetectorInfo det;
  std::int64_t size = 0;
  py::object signal = py::none(), psi = py::none(), theta = py::none(), phi = py::none(),
             pixel = py::none(), time = py::none(), flags = py::none(), good = py::none();
  std::int64_t pixel_nside = 0;
  std::string pixel_ordering;
  std::int64_t n_flagged = 0, n_nonfinite = 0, n_bad_pointing = 0, n_bad_weight = 0;

  /// Borrowed pointers into the arrays (the GIL must be held while making it; the Timeline
  /// must outlive the view).
  mapmaker::TimelineView view() const;

  /// From user arrays: kept when contiguous float64 (int64 for pixel), converted otherwise;
  /// computes the good-sample mask (mapmaker::mark_good_samples). With `validate`, an
  /// unflagged sample whose theta, phi or psi is out of range or not finite raises ValueError
  /// naming the first one; without, such samples are counted and dropped as the reader does.
  static Timeline from_arrays(const py::object& signal, const py::object& psi,
                              const py::object& theta, const py::object& phi,
                              const py::object& pixel, std::int64_t nside,
                              const std::string& ordering, const py::object& flags,
                              std::int64_t flag_mask, const py::object& time, bool validate = true);
  /// From the reader: the arrays are views of the (moved) vectors.
  static Timeline from_io(io::Timeline&& read);
};

}  // namespace tod2map::python
