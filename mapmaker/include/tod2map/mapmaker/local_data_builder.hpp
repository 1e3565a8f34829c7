#pragma once
// LocalData built one timeline at a time: the caller reads a timeline, adds it and frees it
// before reading the next, so host memory holds one timeline while the device arrays fill up.
// Every route to LocalData (FITS files streamed by `tod2map run`, io::Timeline vectors, borrowed
// arrays from Python) goes through this class, so they give the same LocalData bit for bit.
#include <cstdint>
#include <utility>
#include <vector>

#include "tod2map/mapmaker/local_data.hpp"
#include "tod2map/mapmaker/timeline_view.hpp"

namespace tod2map::mapmaker {

class LocalDataBuilder {
 public:
  /// total_samples: the sum of the sizes of every timeline that will be added (the sample
  /// arrays are allocated once, up front). Throws InvalidArgument for a chunk length <= 0.
  LocalDataBuilder(const PointingOptions& options, std::int64_t total_samples);

  /// Expands one timeline's pointing into the device arrays and copies its signal; the view's
  /// arrays may be freed when this returns. Throws InvalidArgument naming the timeline for a
  /// missing array, a SIGMA that is not finite and positive, a PIXEL nside other than
  /// options.nside, a pixel outside the map, or more samples than announced. Not collective.
  void add(const TimelineView& timeline);

  /// Localises the pixels (global -> index among this rank's touched pixels) and returns the
  /// data. Throws InvalidArgument when fewer samples were added than announced.
  LocalData finish();

 private:
  void store_signal(SampleSignal& sig, const double* signal,
                    std::pair<std::int64_t, std::int64_t> range);

  PointingOptions options_;
  LocalData data_;
  std::int64_t filled_ = 0;
  std::vector<std::int64_t> chunk_begin_{0};
  std::vector<double> chunk_weight_;
  // Global pixels are kept in data_.pixel (int32) while timelines arrive whenever the map has
  // fewer than 2^31 pixels (nside <= 8192): no 8-byte temporary per sample. Larger maps use
  // wide_pixel_.
  Kokkos::View<std::int64_t*, MemSpace> wide_pixel_;
};

}  // namespace tod2map::mapmaker
