// Pointing expansion from borrowed arrays (timeline_view.hpp). The steps mirror
// build_local_data for io::Timeline (local_data.cpp) one for one, so both inputs give the same
// LocalData bit for bit; tests/python/test_python_mapmaker.py holds them to that.
#include "tod2map/mapmaker/timeline_view.hpp"

#include <Kokkos_Sort.hpp>
#include <algorithm>
#include <cmath>
#include <limits>

#include "tod2map/core/error.hpp"
#include "tod2map/mapmaker/kernels/pointing.hpp"

namespace tod2map::mapmaker {

namespace {

template <class T>
using HostUnmanaged =
    Kokkos::View<const T*, Kokkos::HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>;

// A borrowed host array as a view in MemSpace: the array itself where MemSpace can read host
// memory (no copy), else a device copy.
template <class T>
auto device_view(const T* data, std::int64_t n) {
  return Kokkos::create_mirror_view_and_copy(MemSpace(),
                                             HostUnmanaged<T>(data, static_cast<size_t>(n)));
}

template <class T>
Kokkos::View<T*, MemSpace> upload(const std::vector<T>& host, const char* label) {
  Kokkos::View<T*, MemSpace> dev(
      Kokkos::view_alloc(Kokkos::WithoutInitializing, std::string(label)), host.size());
  Kokkos::deep_copy(dev, HostUnmanaged<T>(host.data(), host.size()));
  return dev;
}

// Sorted unique non-negative values of gpix, computed in MemSpace (the sparse-coverage route).
std::vector<std::int64_t> unique_pixels(const Kokkos::View<const std::int64_t*, MemSpace>& gpix) {
  const std::int64_t n = static_cast<std::int64_t>(gpix.extent(0));
  Kokkos::View<std::int64_t*, MemSpace> sorted(
      Kokkos::view_alloc(Kokkos::WithoutInitializing, "tod2map::unique_pixels"), n);
  Kokkos::deep_copy(sorted, gpix);
  Kokkos::sort(sorted);
  std::int64_t count = 0;
  Kokkos::parallel_reduce(
      "tod2map::mapmaker::count_unique_views", Kokkos::RangePolicy<ExecSpace>(0, n),
      KOKKOS_LAMBDA(const std::int64_t i, std::int64_t& c) {
        if (sorted(i) >= 0 && (i == 0 || sorted(i) != sorted(i - 1))) ++c;
      },
      count);
  Kokkos::View<std::int64_t*, MemSpace> unique("tod2map::touched", count);
  Kokkos::parallel_scan(
      "tod2map::mapmaker::compact_unique_views", Kokkos::RangePolicy<ExecSpace>(0, n),
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

void check_arrays(const TimelineView& v) {
  const char* missing = nullptr;
  if (v.size < 0) throw InvalidArgument("mapmaker: " + v.where() + ": negative sample count");
  if (v.size > 0) {
    if (!v.signal)
      missing = "signal";
    else if (!v.psi)
      missing = "psi";
    else if (!v.has_pixels() && (!v.theta || !v.phi))
      missing = "theta/phi (or pixel)";
  }
  if (missing)
    throw InvalidArgument("mapmaker: " + v.where() + ": no " + std::string(missing) + " array");
}

}  // namespace

std::string TimelineView::where() const {
  if (!file.empty()) return file + "[detector '" + det.name + "']";
  return "timeline of detector '" + det.name + "' (obsid '" + obsid + "')";
}

TimelineView view_of(const io::Timeline& t) {
  TimelineView v;
  v.file = t.ref.file;
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
  v.good = t.good.data();
  v.n_flagged = t.n_flagged;
  v.n_nonfinite = t.n_nonfinite;
  return v;
}

void mark_good_samples(TimelineView& v, const std::int64_t* flag, std::int64_t flag_mask,
                       std::uint8_t* good) {
  check_arrays(v);
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
    const bool finite = std::isfinite(v.signal[i]) && std::isfinite(v.psi[i]) &&
                        (v.has_pixels() || (std::isfinite(v.theta[i]) && std::isfinite(v.phi[i])));
    good[i] = finite ? 1 : 0;
    if (!finite) ++v.n_nonfinite;
  }
  v.good = good;
}

LocalData build_local_data(const std::vector<TimelineView>& timelines,
                           const PointingOptions& options) {
  LocalData d;
  d.nstokes = options.nstokes;
  d.nside = options.nside;
  d.ordering = options.ordering;
  if (!(options.chunk_seconds > 0))
    throw InvalidArgument("mapmaker::build_local_data: chunk length must be positive");

  // Layout: spans and chunks, on the host.
  std::int64_t total = 0;
  std::vector<std::int64_t> chunk_begin{0};
  std::vector<double> chunk_weight;
  for (const auto& tl : timelines) {
    check_arrays(tl);
    if (tl.size > 0 && !tl.good)
      throw InvalidArgument("mapmaker: " + tl.where() + ": no good-sample mask");
    if (!(tl.det.sigma > 0) || !std::isfinite(tl.det.sigma))
      throw InvalidArgument("mapmaker: " + tl.where() +
                            ": SIGMA must be a finite positive "
                            "number (the detector's noise weight)");
    if (tl.has_pixels() && tl.pixel_nside != options.nside)
      throw InvalidArgument("mapmaker: " + tl.where() + ": PIXEL column is at NSIDE " +
                            std::to_string(tl.pixel_nside) + " but pixelization.nside is " +
                            std::to_string(options.nside));
    TimelineSpan s;
    s.begin = total;
    s.size = tl.size;
    s.file = tl.file;
    s.detector = tl.det.name;
    s.obsid = tl.obsid;
    s.samprate = tl.samprate;
    s.sigma = tl.det.sigma;
    s.fknee = tl.det.fknee;
    s.alpha = tl.det.alpha;
    const double rate = tl.samprate > 0 ? tl.samprate : 1.0;
    const std::int64_t len = std::max<std::int64_t>(1, std::llround(options.chunk_seconds * rate));
    s.first_chunk = static_cast<std::int64_t>(chunk_weight.size());
    for (std::int64_t b = 0; b < s.size; b += len) {
      chunk_begin.push_back(s.begin + std::min(s.size, b + len));
      chunk_weight.push_back(1.0 / (tl.det.sigma * tl.det.sigma));
    }
    s.n_chunks = static_cast<std::int64_t>(chunk_weight.size()) - s.first_chunk;
    d.spans.push_back(s);
    total += s.size;
    d.n_flagged += tl.n_flagged;
    d.n_nonfinite += tl.n_nonfinite;
  }
  d.n_samples = total;
  d.chunk_begin = upload(chunk_begin, "tod2map::chunk_begin");
  d.chunk_weight = upload(chunk_weight, "tod2map::chunk_weight");

  const std::int64_t npix = healpix::nside2npix(options.nside);
  // Per-timeline pointing expansion into global pixels; the signal is copied alongside (the
  // one copy: LocalData owns the signal, which destriping reads many times).
  ExecSpace exec;
  Kokkos::View<std::int64_t*, MemSpace> gpix(
      Kokkos::view_alloc(Kokkos::WithoutInitializing, "tod2map::global_pixel"), total);
  d.wq = Kokkos::View<double*, MemSpace>(
      Kokkos::view_alloc(Kokkos::WithoutInitializing, "tod2map::wq"), total);
  d.wu = Kokkos::View<double*, MemSpace>(
      Kokkos::view_alloc(Kokkos::WithoutInitializing, "tod2map::wu"), total);
  d.signal = Kokkos::View<double*, MemSpace>(
      Kokkos::view_alloc(Kokkos::WithoutInitializing, "tod2map::signal"), total);
  for (size_t i = 0; i < timelines.size(); ++i) {
    const TimelineView& tl = timelines[i];
    const auto& s = d.spans[i];
    if (s.size == 0) continue;
    const std::pair<std::int64_t, std::int64_t> range(s.begin, s.begin + s.size);
    auto gp = Kokkos::subview(gpix, range);
    auto q = Kokkos::subview(d.wq, range);
    auto u = Kokkos::subview(d.wu, range);
    Kokkos::deep_copy(Kokkos::subview(d.signal, range), HostUnmanaged<double>(tl.signal, s.size));
    auto psi = device_view(tl.psi, s.size);
    auto good = device_view(tl.good, s.size);
    if (tl.has_pixels()) {
      // An index outside the map would be written outside the touched-pixel bitmap: checked
      // here too, since views need not come through mark_good_samples or the FITS reader.
      for (std::int64_t t = 0; t < s.size; ++t)
        if (tl.good[t] && (tl.pixel[t] < 0 || tl.pixel[t] >= npix))
          throw InvalidArgument("mapmaker: " + tl.where() + ": pixel " +
                                std::to_string(tl.pixel[t]) + " at sample " + std::to_string(t) +
                                " outside 0.." + std::to_string(npix - 1));
      const auto file_order = healpix::parse_ordering(tl.pixel_ordering);
      kernels::expand_pointing_pixels<ExecSpace>(
          exec, options.nside, file_order != options.ordering, options.ordering, tl.det.polang,
          tl.det.poleff, device_view(tl.pixel, s.size), psi, good, gp, q, u);
    } else {
      kernels::expand_pointing_angles<ExecSpace>(
          exec, options.nside, options.ordering, tl.det.polang, tl.det.poleff,
          device_view(tl.theta, s.size), device_view(tl.phi, s.size), psi, good, gp, q, u);
    }
    exec.fence();
  }

  d.pixel = Kokkos::View<std::int32_t*, MemSpace>(
      Kokkos::view_alloc(Kokkos::WithoutInitializing, "tod2map::pixel"), total);
  if (npix <= 16 * std::max<std::int64_t>(total, 1)) {
    // Bitmap of touched pixels: O(n) marking and O(1) localisation (as local_data.cpp).
    const std::int64_t nwords = (npix + 31) / 32;
    Kokkos::View<std::uint32_t*, MemSpace> bits("tod2map::touched_bits", nwords);
    Kokkos::View<std::int64_t*, MemSpace> prefix(
        Kokkos::view_alloc(Kokkos::WithoutInitializing, std::string("tod2map::touched_prefix")),
        nwords);
    kernels::mark_pixels<ExecSpace>(exec, gpix, bits);
    const std::int64_t count = kernels::count_marked<ExecSpace>(exec, bits, prefix);
    Kokkos::View<std::int64_t*, MemSpace> touched_dev(
        Kokkos::view_alloc(Kokkos::WithoutInitializing, std::string("tod2map::touched")), count);
    kernels::list_marked<ExecSpace>(exec, bits, prefix, touched_dev);
    kernels::localize_marked<ExecSpace>(exec, bits, prefix, gpix, d.pixel);
    d.touched.resize(static_cast<size_t>(count));
    Kokkos::deep_copy(
        Kokkos::View<std::int64_t*, Kokkos::HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>(
            d.touched.data(), d.touched.size()),
        touched_dev);
  } else {
    // Sparse coverage of a large map: sort instead of a bitmap.
    d.touched = unique_pixels(gpix);
    Kokkos::View<const std::int64_t*, MemSpace> touched_dev = upload(d.touched, "tod2map::touched");
    kernels::localize_pixels<ExecSpace>(exec, touched_dev, gpix, d.pixel);
  }
  if (d.touched.size() > static_cast<size_t>(std::numeric_limits<std::int32_t>::max()))
    throw InvalidArgument("mapmaker: more than 2^31 distinct pixels on one rank");
  std::int64_t used = 0;
  auto pixel = d.pixel;
  Kokkos::parallel_reduce(
      "tod2map::mapmaker::count_used_views", Kokkos::RangePolicy<ExecSpace>(0, total),
      KOKKOS_LAMBDA(const std::int64_t t, std::int64_t& c) { c += pixel(t) >= 0 ? 1 : 0; }, used);
  d.n_used = used;
  return d;
}

}  // namespace tod2map::mapmaker
