// Timelines as borrowed arrays (timeline_view.hpp): the good-sample rule of the reader and
// pointing expansion through LocalDataBuilder, the same route as io::Timeline, so both inputs
// give the same LocalData bit for bit (tests/python/test_python_mapmaker.py holds them to it).
#include "tod2map/mapmaker/timeline_view.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "tod2map/core/error.hpp"
#include "tod2map/io/timeline_input.hpp"
#include "tod2map/mapmaker/local_data_builder.hpp"

namespace tod2map::mapmaker {

void TimelineView::check_arrays(bool need_good) const {
  const char* missing = nullptr;
  if (size < 0) throw InvalidArgument("mapmaker: " + where() + ": negative sample count");
  if (size > 0) {
    if (!signal)
      missing = "signal array";
    else if (!psi)
      missing = "psi array";
    else if (!has_pixels() && (!theta || !phi))
      missing = "theta/phi (or pixel) array";
    else if (need_good && !good)
      missing = "good-sample mask";
  }
  if (missing) throw InvalidArgument("mapmaker: " + where() + ": no " + std::string(missing));
}

std::string TimelineView::where() const {
  if (!label.empty()) return label;
  if (!file.empty()) return file + "[detector '" + det.name + "']";
  return "timeline of detector '" + det.name + "' (obsid '" + obsid + "')";
}

TimelineView view_of(const io::Timeline& t) {
  TimelineView v;
  v.file = t.ref.file;
  v.label = io::timeline_label(t.ref);
  v.obsid = t.obs.obsid;
  v.samprate = t.obs.samprate;
  v.det = t.det;
  v.size = t.size();
  if (t.has_pixels()) {
    v.pixel = t.pixel.data();
    v.pixel_nside = t.pixel_nside;
    v.pixel_ordering = t.pixel_ordering;
  } else {
    v.theta = t.theta.data();
    v.phi = t.phi.data();
  }
  v.psi = t.psi.data();
  v.signal = t.signal.data();
  for (const auto& more : t.more_signals) v.more_signals.push_back(more.data());
  v.good = t.good.data();
  v.n_flagged = t.n_flagged;
  v.n_nonfinite = t.n_nonfinite;
  v.n_bad_pointing = t.n_bad_pointing;
  v.n_bad_weight = t.n_bad_weight;
  return v;
}

void mark_good_samples(TimelineView& v, const std::int64_t* flag, std::int64_t flag_mask,
                       std::uint8_t* good) {
  v.check_arrays(/*need_good=*/false);
  std::int64_t npix = 0;
  if (v.has_pixels()) {
    if (!healpix::is_valid_nside(v.pixel_nside))
      throw InvalidArgument("mapmaker: " + v.where() + ": pixel nside " +
                            std::to_string(v.pixel_nside) + " is not a power of two in 1..2^29");
    healpix::parse_ordering(v.pixel_ordering);  // throws InvalidArgument for a bad name
    npix = healpix::nside2npix(v.pixel_nside);
  }
  v.n_flagged = 0;
  v.n_nonfinite = 0;
  v.n_bad_pointing = 0;
  v.n_bad_weight = 0;
  for (std::int64_t i = 0; i < v.size; ++i) {
    if (v.has_pixels() && (v.pixel[i] < 0 || v.pixel[i] >= npix))
      throw InvalidArgument("mapmaker: " + v.where() + ": pixel " + std::to_string(v.pixel[i]) +
                            " at sample " + std::to_string(i) + " outside 0.." +
                            std::to_string(npix - 1) + " (nside " + std::to_string(v.pixel_nside) +
                            ")");
    // A flagged sample counts as flagged even when it is also non-finite (as the reader).
    if (flag && (flag[i] & flag_mask) != 0) {
      good[i] = 0;
      ++v.n_flagged;
      continue;
    }
    const bool angles = !v.has_pixels();
    const io::SampleFault fault = io::sample_fault(
        v.signal[i], v.psi[i], angles, angles ? v.theta[i] : 0.0, angles ? v.phi[i] : 0.0);
    good[i] = fault == io::SampleFault::none ? 1 : 0;
    v.n_nonfinite += fault == io::SampleFault::nonfinite ? 1 : 0;
    v.n_bad_pointing += fault == io::SampleFault::pointing ? 1 : 0;
    v.n_bad_weight += fault == io::SampleFault::weight ? 1 : 0;
  }
  v.good = good;
}

LocalData build_local_data(const std::vector<TimelineView>& timelines,
                           const PointingOptions& options) {
  std::int64_t total = 0;
  for (const auto& tl : timelines) total += std::max<std::int64_t>(tl.size, 0);
  LocalDataBuilder builder(options, total);
  for (const auto& tl : timelines) builder.add(tl);
  return builder.finish();
}

}  // namespace tod2map::mapmaker
