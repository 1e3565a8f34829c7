#pragma once
// This rank's samples after pointing expansion: the data every map-making operator reads.
// Built once from the timelines read from disk (or given from Python); lives in the memory of
// the default Kokkos execution space.
#include <Kokkos_Core.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "tod2map/io/timeline.hpp"
#include "tod2map/mapmaker/kernels/binning.hpp"
#include "tod2map/pixelization/healpix.hpp"

namespace tod2map::mapmaker {

using ExecSpace = Kokkos::DefaultExecutionSpace;
using MemSpace = ExecSpace::memory_space;

/// Where one timeline (observation x detector) lies in the concatenated local arrays.
struct TimelineSpan {
  std::int64_t begin = 0;        ///< first sample
  std::int64_t size = 0;         ///< samples
  std::int64_t first_chunk = 0;  ///< first chunk (baseline) of this timeline
  std::int64_t n_chunks = 0;
  std::string file, detector, obsid;
  double samprate = 0, sigma = 0, fknee = 0, alpha = 1;
};

/// Samples per chunk (baseline) of `seconds` at `rate` Hz: at least 1, and at most 2^62 so
/// that a length beyond any timeline (baseline_length 1e308) gives one chunk per timeline.
/// llround of such a product is out of range (it gave LLONG_MIN, hence 1-sample baselines).
inline std::int64_t chunk_samples(double seconds, double rate) {
  const double n = seconds * rate;
  if (!(n < 4.6e18)) return std::int64_t{1} << 62;  // also +inf and NaN
  return n < 1.5 ? 1 : static_cast<std::int64_t>(n + 0.5);
}

/// What build_local_data needs besides the timelines.
struct PointingOptions {
  std::int64_t nside = 0;
  healpix::Ordering ordering = healpix::Ordering::ring;
  int nstokes = 3;
  double chunk_seconds = 1.0;  ///< chunk (baseline) length; the last of a timeline may be shorter
};

/// The local samples' signal. Kept as float32 when every value added was exactly a float32
/// (float32 input files): half the memory and no loss, since the kernels sum in double.
/// Exactly one of the two views is allocated (f64 when there are no samples).
struct SampleSignal {
  Kokkos::View<double*, MemSpace> f64;
  Kokkos::View<float*, MemSpace> f32;

  bool is_float32() const { return f32.data() != nullptr; }
  std::int64_t size() const {
    return static_cast<std::int64_t>(is_float32() ? f32.extent(0) : f64.extent(0));
  }
  /// Calls f with the allocated view (a kernel templated on the view type).
  template <class F>
  decltype(auto) visit(F&& f) const {
    if (is_float32()) return f(Kokkos::View<const float*, MemSpace>(f32));
    return f(Kokkos::View<const double*, MemSpace>(f64));
  }
  /// The signal as doubles in host memory (for output and tests).
  std::vector<double> to_host() const;
};

/// Local samples: pixel (overlapped index, -1 unused), weights, signal, chunks.
struct LocalData {
  int nstokes = 3;
  std::int64_t nside = 0;
  healpix::Ordering ordering = healpix::Ordering::ring;
  std::vector<TimelineSpan> spans;
  /// Global pixel of each local pixel index: the distinct pixels with at least one used
  /// sample, in the NESTED order of the pixels whatever the map's ordering (sorted for a
  /// NESTED map), so that pixels close on the sky are close in every overlapped vector (with a
  /// RING map in ring order, a scan crossing rings would jump thousands of pixels per sample,
  /// missing cache and TLB). The pixel distribution takes this list as its overlapped order,
  /// so overlapped vectors go to and from it as they are.
  std::vector<std::int64_t> touched;
  Kokkos::View<std::int32_t*, MemSpace> pixel;
  Kokkos::View<double*, MemSpace> wq, wu;
  SampleSignal signal;
  /// The signals of input.columns.signal's other columns, same samples (one map each).
  std::vector<SampleSignal> more_signals;
  Kokkos::View<std::int64_t*, MemSpace> chunk_begin;
  Kokkos::View<double*, MemSpace> chunk_weight;
  std::int64_t n_samples = 0, n_used = 0, n_flagged = 0, n_nonfinite = 0;
  std::int64_t n_bad_pointing = 0, n_bad_weight = 0;  ///< see TimelineView

  kernels::SampleViews<MemSpace> views() const;
  /// Bytes of the per-sample arrays (pixel, weights, signal); the per-chunk arrays, like the
  /// CG vectors over baselines, are not counted (16 bytes per chunk).
  std::int64_t sample_bytes() const;
  std::int64_t n_chunks() const { return static_cast<std::int64_t>(chunk_weight.extent(0)); }
};

/// Expands pointing and uploads the samples; consumes (frees) the timelines' arrays.
/// Every timeline needs a finite SIGMA > 0 (its noise weight). Throws InvalidArgument naming
/// the file and detector for a PIXEL nside that differs from options.nside. Not collective.
LocalData build_local_data(std::vector<io::Timeline>&& timelines, const PointingOptions& options);

/// The NESTED index, at `coarse_nside` (a power of two at or below data.nside), of the parent of
/// every local pixel (parent[k] for the pixel of local index k): the coarse grids of the
/// destriper (nside_cross) and of the two-level preconditioner.
std::vector<std::int64_t> nest_parents(const LocalData& data, std::int64_t coarse_nside);

}  // namespace tod2map::mapmaker
