#include "tod2map/mapmaker/local_data_builder.hpp"

#include <Kokkos_Sort.hpp>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "device_copies.hpp"
#include "tod2map/core/error.hpp"
#include "tod2map/mapmaker/kernels/pointing.hpp"

namespace tod2map::mapmaker {

namespace {

// Largest |SIGNAL| / SIGMA^2 of a used sample (see LocalDataBuilder::add).
constexpr double kMaxWeightedSignal = 1e100;

using detail::HostUnmanaged;
using detail::upload;

// A borrowed host array as a view in MemSpace: the array itself where MemSpace can read host
// memory (no copy), else a device copy.
template <class T>
auto device_view(const T* data, std::int64_t n) {
  return Kokkos::create_mirror_view_and_copy(MemSpace(),
                                             HostUnmanaged<T>(data, static_cast<size_t>(n)));
}

template <class T>
Kokkos::View<T*, MemSpace> uninitialized(const std::string& label, std::int64_t n) {
  return Kokkos::View<T*, MemSpace>(Kokkos::view_alloc(Kokkos::WithoutInitializing, label), n);
}

// True when every value is exactly a float32 (NaN included: such samples are never used).
bool float32_exact(const double* x, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i)
    if (static_cast<double>(static_cast<float>(x[i])) != x[i] && !std::isnan(x[i])) return false;
  return true;
}

// The signal as doubles: the first `filled` samples converted from float32 (exact).
Kokkos::View<double*, MemSpace> widen(const Kokkos::View<float*, MemSpace>& f32,
                                      std::int64_t filled) {
  auto f64 = uninitialized<double>("tod2map::signal", static_cast<std::int64_t>(f32.extent(0)));
  Kokkos::parallel_for(
      "tod2map::mapmaker::widen_signal", Kokkos::RangePolicy<ExecSpace>(0, filled),
      KOKKOS_LAMBDA(const std::int64_t t) { f64(t) = static_cast<double>(f32(t)); });
  return f64;
}

// Sorted unique non-negative values of gpix, computed in MemSpace (the sparse-coverage route:
// the map is much larger than the samples, so a bitmap over it would be the larger array).
template <class PixelView>
std::vector<std::int64_t> unique_pixels(const PixelView& gpix) {
  using T = typename PixelView::non_const_value_type;
  const std::int64_t n = static_cast<std::int64_t>(gpix.extent(0));
  auto sorted = uninitialized<T>("tod2map::unique_pixels", n);
  Kokkos::deep_copy(sorted, gpix);
  Kokkos::sort(sorted);
  std::int64_t count = 0;
  Kokkos::parallel_reduce(
      "tod2map::mapmaker::count_unique", Kokkos::RangePolicy<ExecSpace>(0, n),
      KOKKOS_LAMBDA(const std::int64_t i, std::int64_t& c) {
        if (sorted(i) >= 0 && (i == 0 || sorted(i) != sorted(i - 1))) ++c;
      },
      count);
  auto unique = uninitialized<std::int64_t>("tod2map::touched", count);
  Kokkos::parallel_scan(
      "tod2map::mapmaker::compact_unique", Kokkos::RangePolicy<ExecSpace>(0, n),
      KOKKOS_LAMBDA(const std::int64_t i, std::int64_t& offset, const bool final) {
        const bool first = sorted(i) >= 0 && (i == 0 || sorted(i) != sorted(i - 1));
        if (first) {
          if (final) unique(offset) = sorted(i);
          ++offset;
        }
      });
  std::vector<std::int64_t> out(static_cast<size_t>(count));
  Kokkos::deep_copy(
      Kokkos::View<std::int64_t*, Kokkos::HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>(
          out.data(), out.size()),
      unique);
  return out;
}

// Global pixels (gpix, -1 unused) -> indices among the sorted touched pixels, into local
// (which may be gpix itself). Returns the touched pixels.
template <class PixelView>
std::vector<std::int64_t> localize(const PixelView& gpix, std::int64_t npix,
                                   const Kokkos::View<std::int32_t*, MemSpace>& local) {
  ExecSpace exec;
  const std::int64_t total = static_cast<std::int64_t>(gpix.extent(0));
  std::vector<std::int64_t> touched;
  if (npix <= 16 * std::max<std::int64_t>(total, 1)) {
    // Bitmap of touched pixels (npix/8 bytes + a prefix count per 32 pixels, no larger than
    // the pixel array itself): O(n) marking and O(1) localisation.
    const std::int64_t nwords = (npix + 31) / 32;
    Kokkos::View<std::uint32_t*, MemSpace> bits("tod2map::touched_bits", nwords);
    auto prefix = uninitialized<std::int64_t>("tod2map::touched_prefix", nwords);
    kernels::mark_pixels<ExecSpace>(exec, gpix, bits);
    const std::int64_t count = kernels::count_marked<ExecSpace>(exec, bits, prefix);
    auto touched_dev = uninitialized<std::int64_t>("tod2map::touched", count);
    kernels::list_marked<ExecSpace>(exec, bits, prefix, touched_dev);
    kernels::localize_marked<ExecSpace>(exec, bits, prefix, gpix, local);
    touched.resize(static_cast<size_t>(count));
    Kokkos::deep_copy(
        Kokkos::View<std::int64_t*, Kokkos::HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>(
            touched.data(), touched.size()),
        touched_dev);
  } else {
    touched = unique_pixels(gpix);
    Kokkos::View<const std::int64_t*, MemSpace> touched_dev = upload(touched, "tod2map::touched");
    kernels::localize_pixels<ExecSpace>(exec, touched_dev, gpix, local);
  }
  exec.fence();
  return touched;
}

// Renumbers the local pixels (positions in the sorted RING list `touched`) in the NESTED order
// of their pixels, in place in `pixel`; returns the RING pixel of each new local index.
std::vector<std::int64_t> nested_local_order(const std::vector<std::int64_t>& touched,
                                             std::int64_t nside,
                                             const Kokkos::View<std::int32_t*, MemSpace>& pixel) {
  const std::size_t n = touched.size();
  std::vector<std::pair<std::int64_t, std::int32_t>> by_nest(n);
  for (std::size_t k = 0; k < n; ++k)
    by_nest[k] = {healpix::ring2nest(nside, touched[k]), static_cast<std::int32_t>(k)};
  std::sort(by_nest.begin(), by_nest.end());
  std::vector<std::int32_t> local(n);
  std::vector<std::int64_t> reordered(n);
  for (std::size_t j = 0; j < n; ++j) {
    local[static_cast<size_t>(by_nest[j].second)] = static_cast<std::int32_t>(j);
    reordered[j] = touched[static_cast<size_t>(by_nest[j].second)];
  }
  const Kokkos::View<const std::int32_t*, MemSpace> map = upload(local, "tod2map::nested_local");
  Kokkos::parallel_for(
      "tod2map::mapmaker::nested_local_order", Kokkos::RangePolicy<ExecSpace>(0, pixel.extent(0)),
      KOKKOS_LAMBDA(const std::int64_t t) {
        if (pixel(t) >= 0) pixel(t) = map(pixel(t));
      });
  return reordered;
}

}  // namespace

LocalDataBuilder::LocalDataBuilder(const PointingOptions& options, std::int64_t total_samples)
    : options_(options) {
  if (!(options.chunk_seconds > 0))
    throw InvalidArgument("mapmaker::build_local_data: chunk length must be positive");
  if (total_samples < 0) throw InvalidArgument("mapmaker::build_local_data: negative sample count");
  data_.nstokes = options.nstokes;
  data_.nside = options.nside;
  data_.ordering = options.ordering;
  data_.n_samples = total_samples;
  data_.pixel = uninitialized<std::int32_t>("tod2map::pixel", total_samples);
  data_.wq = uninitialized<double>("tod2map::wq", total_samples);
  data_.wu = uninitialized<double>("tod2map::wu", total_samples);
  if (healpix::nside2npix(options.nside) > std::numeric_limits<std::int32_t>::max())
    wide_pixel_ = uninitialized<std::int64_t>("tod2map::global_pixel", total_samples);
}

void LocalDataBuilder::add(const TimelineView& tl) {
  tl.check_arrays(/*need_good=*/true);
  if (!(tl.det.sigma > 0) || !std::isfinite(tl.det.sigma))
    throw InvalidArgument("mapmaker: " + tl.where() +
                          ": SIGMA must be a finite positive number (the detector's noise weight)");
  if (tl.has_pixels() && tl.pixel_nside != options_.nside)
    throw InvalidArgument("mapmaker: " + tl.where() + ": PIXEL column is at NSIDE " +
                          std::to_string(tl.pixel_nside) + " but pixelization.nside is " +
                          std::to_string(options_.nside));
  // Every timeline carries the same signal columns: the first sets how many.
  if (data_.spans.empty() && data_.more_signals.empty())
    data_.more_signals.resize(tl.more_signals.size());
  if (tl.more_signals.size() != data_.more_signals.size())
    throw InvalidArgument("mapmaker: " + tl.where() + " has " +
                          std::to_string(1 + tl.more_signals.size()) +
                          " signal columns, the timelines before it " +
                          std::to_string(1 + data_.more_signals.size()));
  if (tl.size > data_.n_samples - filled_)
    throw InvalidArgument("mapmaker::build_local_data: " + tl.where() + " adds " +
                          std::to_string(tl.size) + " samples to " + std::to_string(filled_) +
                          ", more than the " + std::to_string(data_.n_samples) + " announced");

  TimelineSpan s;
  s.begin = filled_;
  s.size = tl.size;
  s.file = tl.file;
  s.detector = tl.det.name;
  s.obsid = tl.obsid;
  s.samprate = tl.samprate;
  s.sigma = tl.det.sigma;
  s.fknee = tl.det.fknee;
  s.alpha = tl.det.alpha;
  const double rate = tl.samprate > 0 ? tl.samprate : 1.0;
  const std::int64_t len = chunk_samples(options_.chunk_seconds, rate);
  s.first_chunk = static_cast<std::int64_t>(chunk_weight_.size());
  for (std::int64_t b = 0; b < s.size; b += len) {
    chunk_begin_.push_back(s.begin + std::min(s.size, b + len));
    chunk_weight_.push_back(1.0 / (tl.det.sigma * tl.det.sigma));
  }
  s.n_chunks = static_cast<std::int64_t>(chunk_weight_.size()) - s.first_chunk;
  data_.spans.push_back(s);
  data_.n_flagged += tl.n_flagged;
  data_.n_nonfinite += tl.n_nonfinite;
  data_.n_bad_pointing += tl.n_bad_pointing;
  data_.n_bad_weight += tl.n_bad_weight;
  filled_ += s.size;
  if (s.size == 0) return;

  const std::int64_t npix = healpix::nside2npix(options_.nside);
  if (tl.has_pixels()) {
    // An index outside the map would be written outside the touched-pixel bitmap: checked
    // here, since views need not come through the FITS reader or mark_good_samples.
    for (std::int64_t t = 0; t < s.size; ++t)
      if (tl.good[t] && (tl.pixel[t] < 0 || tl.pixel[t] >= npix))
        throw InvalidArgument("mapmaker: " + tl.where() + ": pixel " + std::to_string(tl.pixel[t]) +
                              " at sample " + std::to_string(t) + " outside 0.." +
                              std::to_string(npix - 1));
  }

  // The map-maker sums SIGNAL / SIGMA^2 over samples and squares those sums in its norms: a
  // finite but enormous product would overflow there, far from the timeline that caused it.
  double peak = 0;
  for (std::int64_t t = 0; t < s.size; ++t)
    if (tl.good[t]) peak = std::max(peak, std::fabs(tl.signal[t]));
  for (const double* more : tl.more_signals)
    for (std::int64_t t = 0; t < s.size; ++t)
      if (tl.good[t]) peak = std::max(peak, std::fabs(more[t]));
  const double weight = 1.0 / (tl.det.sigma * tl.det.sigma);
  if (peak * weight > kMaxWeightedSignal) {
    char values[96];
    std::snprintf(values, sizeof values, "SIGNAL values up to %.6g with SIGMA %.6g", peak,
                  tl.det.sigma);
    throw InvalidArgument("mapmaker: " + tl.where() + ": " + values +
                          " give noise-weighted values SIGNAL / SIGMA^2 above 1e100, which "
                          "would overflow the map-maker's sums (wrong units in SIGNAL or SIGMA?)");
  }

  ExecSpace exec;
  const std::pair<std::int64_t, std::int64_t> range(s.begin, s.begin + s.size);
  auto q = Kokkos::subview(data_.wq, range);
  auto u = Kokkos::subview(data_.wu, range);
  store_signal(data_.signal, tl.signal, range);
  for (std::size_t c = 0; c < tl.more_signals.size(); ++c)
    store_signal(data_.more_signals[c], tl.more_signals[c], range);
  auto psi = device_view(tl.psi, s.size);
  auto good = device_view(tl.good, s.size);
  auto expand = [&](const auto& gpix) {
    if (tl.has_pixels()) {
      const auto file_order = healpix::parse_ordering(tl.pixel_ordering);
      kernels::expand_pointing_pixels<ExecSpace>(
          exec, options_.nside, file_order != options_.ordering, options_.ordering, tl.det.polang,
          tl.det.poleff, device_view(tl.pixel, s.size), psi, good, gpix, q, u);
    } else {
      kernels::expand_pointing_angles<ExecSpace>(
          exec, healpix::Grid{options_.nside, options_.ordering}, tl.det.polang, tl.det.poleff,
          device_view(tl.theta, s.size), device_view(tl.phi, s.size), psi, good, gpix, q, u);
    }
  };
  if (wide_pixel_.extent(0) > 0)
    expand(Kokkos::subview(wide_pixel_, range));
  else
    expand(Kokkos::subview(data_.pixel, range));
  // The host arrays (and any device copies of them) may go once this returns.
  exec.fence();
}

void LocalDataBuilder::store_signal(SampleSignal& sig, const double* signal,
                                    std::pair<std::int64_t, std::int64_t> range) {
  const std::int64_t n = range.second - range.first;
  const bool exact = float32_exact(signal, n);
  if (!sig.is_float32() && sig.f64.data() == nullptr) {
    // The first samples decide; a later timeline that is not float32 widens what came before.
    if (exact)
      sig.f32 = uninitialized<float>("tod2map::signal_f32", data_.n_samples);
    else
      sig.f64 = uninitialized<double>("tod2map::signal", data_.n_samples);
  } else if (sig.is_float32() && !exact) {
    sig.f64 = widen(sig.f32, range.first);
    sig.f32 = {};
  }
  if (sig.is_float32()) {
    std::vector<float> narrow(signal, signal + n);
    Kokkos::deep_copy(Kokkos::subview(sig.f32, range), HostUnmanaged<float>(narrow.data(), n));
  } else {
    Kokkos::deep_copy(Kokkos::subview(sig.f64, range), HostUnmanaged<double>(signal, n));
  }
}

LocalData LocalDataBuilder::finish() {
  if (filled_ != data_.n_samples)
    throw InvalidArgument("mapmaker::build_local_data: " + std::to_string(filled_) +
                          " samples added, " + std::to_string(data_.n_samples) + " announced");
  if (!data_.signal.is_float32() && data_.signal.f64.data() == nullptr)
    data_.signal.f64 = uninitialized<double>("tod2map::signal", data_.n_samples);
  for (SampleSignal& more : data_.more_signals)
    if (!more.is_float32() && more.f64.data() == nullptr)
      more.f64 = uninitialized<double>("tod2map::signal", data_.n_samples);
  data_.chunk_begin = upload(chunk_begin_, "tod2map::chunk_begin");
  data_.chunk_weight = upload(chunk_weight_, "tod2map::chunk_weight");
  const std::int64_t npix = healpix::nside2npix(options_.nside);
  if (wide_pixel_.extent(0) > 0) {
    data_.touched = localize(wide_pixel_, npix, data_.pixel);
    wide_pixel_ = {};
  } else {
    data_.touched = localize(data_.pixel, npix, data_.pixel);
  }
  if (data_.touched.size() > static_cast<size_t>(std::numeric_limits<std::int32_t>::max()))
    throw InvalidArgument("mapmaker: more than 2^31 distinct pixels on one rank");
  if (options_.ordering == healpix::Ordering::ring)
    data_.touched = nested_local_order(data_.touched, options_.nside, data_.pixel);
  std::int64_t used = 0;
  const auto pixel = data_.pixel;
  Kokkos::parallel_reduce(
      "tod2map::mapmaker::count_used", Kokkos::RangePolicy<ExecSpace>(0, data_.n_samples),
      KOKKOS_LAMBDA(const std::int64_t t, std::int64_t& c) { c += pixel(t) >= 0 ? 1 : 0; }, used);
  data_.n_used = used;
  return std::move(data_);
}

}  // namespace tod2map::mapmaker
