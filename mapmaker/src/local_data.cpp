#include "tod2map/mapmaker/local_data.hpp"

#include <Kokkos_Sort.hpp>
#include <algorithm>
#include <cmath>

#include "tod2map/core/error.hpp"
#include "tod2map/mapmaker/kernels/pointing.hpp"

namespace tod2map::mapmaker {

kernels::SampleViews<MemSpace> LocalData::views() const {
  kernels::SampleViews<MemSpace> v;
  v.nstokes = nstokes;
  v.pixel = pixel;
  v.wq = wq;
  v.wu = wu;
  v.chunk_begin = chunk_begin;
  v.chunk_weight = chunk_weight;
  return v;
}

namespace {

std::string where(const io::Timeline& tl) {
  return tl.ref.file + "[HDU " + std::to_string(tl.ref.hdu) + " '" + tl.det.name + "']";
}

template <class T>
Kokkos::View<T*, MemSpace> upload(const std::vector<T>& host, const char* label) {
  Kokkos::View<T*, MemSpace> dev(Kokkos::view_alloc(Kokkos::WithoutInitializing, std::string(label)),
                                 host.size());
  Kokkos::View<const T*, Kokkos::HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>> h(
      host.data(), host.size());
  Kokkos::deep_copy(dev, h);
  return dev;
}

// A host vector as a view in MemSpace: the vector itself where the memory space can read host
// memory (no copy), else a device copy.
template <class T>
auto device_view(const std::vector<T>& host) {
  Kokkos::View<const T*, Kokkos::HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>> h(
      host.data(), host.size());
  return Kokkos::create_mirror_view_and_copy(MemSpace(), h);
}

// Sorted unique non-negative values of gpix, computed on the device.
std::vector<std::int64_t> unique_pixels(const Kokkos::View<const std::int64_t*, MemSpace>& gpix) {
  const std::int64_t n = static_cast<std::int64_t>(gpix.extent(0));
  Kokkos::View<std::int64_t*, MemSpace> sorted(
      Kokkos::view_alloc(Kokkos::WithoutInitializing, "tod2map::unique_pixels"), n);
  Kokkos::deep_copy(sorted, gpix);
  Kokkos::sort(sorted);
  std::int64_t count = 0;
  Kokkos::parallel_reduce(
      "tod2map::mapmaker::count_unique", Kokkos::RangePolicy<ExecSpace>(0, n),
      KOKKOS_LAMBDA(const std::int64_t i, std::int64_t& c) {
        if (sorted(i) >= 0 && (i == 0 || sorted(i) != sorted(i - 1))) ++c;
      },
      count);
  Kokkos::View<std::int64_t*, MemSpace> unique("tod2map::touched", count);
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
  Kokkos::View<std::int64_t*, Kokkos::HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>> h(
      out.data(), out.size());
  Kokkos::deep_copy(h, unique);
  return out;
}

}  // namespace

LocalData build_local_data(std::vector<io::Timeline>&& timelines, const PointingOptions& options) {
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
    if (!(tl.det.sigma > 0) || !std::isfinite(tl.det.sigma))
      throw InvalidArgument("mapmaker: " + where(tl) + ": SIGMA must be a finite positive "
                            "number (the detector's noise weight)");
    if (tl.has_pixels() && tl.pixel_nside != options.nside)
      throw InvalidArgument("mapmaker: " + where(tl) + ": PIXEL column is at NSIDE " +
                            std::to_string(tl.pixel_nside) + " but pixelization.nside is " +
                            std::to_string(options.nside));
    TimelineSpan s;
    s.begin = total;
    s.size = tl.size();
    s.file = tl.ref.file;
    s.detector = tl.det.name;
    s.obsid = tl.obs.obsid;
    s.samprate = tl.obs.samprate;
    s.sigma = tl.det.sigma;
    s.fknee = tl.det.fknee;
    s.alpha = tl.det.alpha;
    const double rate = tl.obs.samprate > 0 ? tl.obs.samprate : 1.0;
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

  // Per-timeline pointing expansion into global pixels; the signal is uploaded alongside.
  ExecSpace exec;
  Kokkos::View<std::int64_t*, MemSpace> gpix(
      Kokkos::view_alloc(Kokkos::WithoutInitializing, "tod2map::global_pixel"), total);
  d.wq = Kokkos::View<double*, MemSpace>(Kokkos::view_alloc(Kokkos::WithoutInitializing, "tod2map::wq"), total);
  d.wu = Kokkos::View<double*, MemSpace>(Kokkos::view_alloc(Kokkos::WithoutInitializing, "tod2map::wu"), total);
  d.signal = Kokkos::View<double*, MemSpace>(
      Kokkos::view_alloc(Kokkos::WithoutInitializing, "tod2map::signal"), total);
  for (size_t i = 0; i < timelines.size(); ++i) {
    io::Timeline& tl = timelines[i];
    const auto& s = d.spans[i];
    const std::pair<std::int64_t, std::int64_t> range(s.begin, s.begin + s.size);
    auto gp = Kokkos::subview(gpix, range);
    auto q = Kokkos::subview(d.wq, range);
    auto u = Kokkos::subview(d.wu, range);
    Kokkos::deep_copy(Kokkos::subview(d.signal, range),
                      Kokkos::View<const double*, Kokkos::HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>(
                          tl.signal.data(), tl.signal.size()));
    auto psi = device_view(tl.psi);
    auto good = device_view(tl.good);
    if (tl.has_pixels()) {
      const auto file_order = healpix::parse_ordering(tl.pixel_ordering);
      kernels::expand_pointing_pixels<ExecSpace>(exec, options.nside, file_order != options.ordering,
                                                 options.ordering, tl.det.polang, tl.det.poleff,
                                                 device_view(tl.pixel), psi, good, gp, q, u);
    } else {
      kernels::expand_pointing_angles<ExecSpace>(exec, options.nside, options.ordering,
                                                 tl.det.polang, tl.det.poleff,
                                                 device_view(tl.theta), device_view(tl.phi),
                                                 psi, good, gp, q, u);
    }
    exec.fence();
    tl = io::Timeline{};  // free the host copy as soon as it is on the device
  }
  timelines.clear();

  d.pixel = Kokkos::View<std::int32_t*, MemSpace>(
      Kokkos::view_alloc(Kokkos::WithoutInitializing, "tod2map::pixel"), total);
  const std::int64_t npix = healpix::nside2npix(options.nside);
  if (npix <= 16 * std::max<std::int64_t>(total, 1)) {
    // Bitmap of touched pixels (npix/8 bytes + a prefix count per 32 pixels, no larger than
    // the global-pixel array itself): O(n) marking and O(1) localisation.
    const std::int64_t nwords = (npix + 31) / 32;
    Kokkos::View<std::uint32_t*, MemSpace> bits("tod2map::touched_bits", nwords);
    Kokkos::View<std::int64_t*, MemSpace> prefix(
        Kokkos::view_alloc(Kokkos::WithoutInitializing, std::string("tod2map::touched_prefix")), nwords);
    kernels::mark_pixels<ExecSpace>(exec, gpix, bits);
    const std::int64_t count = kernels::count_marked<ExecSpace>(exec, bits, prefix);
    Kokkos::View<std::int64_t*, MemSpace> touched_dev(
        Kokkos::view_alloc(Kokkos::WithoutInitializing, std::string("tod2map::touched")), count);
    kernels::list_marked<ExecSpace>(exec, bits, prefix, touched_dev);
    kernels::localize_marked<ExecSpace>(exec, bits, prefix, gpix, d.pixel);
    d.touched.resize(static_cast<size_t>(count));
    Kokkos::deep_copy(Kokkos::View<std::int64_t*, Kokkos::HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>(
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
      "tod2map::mapmaker::count_used", Kokkos::RangePolicy<ExecSpace>(0, total),
      KOKKOS_LAMBDA(const std::int64_t t, std::int64_t& c) { c += pixel(t) >= 0 ? 1 : 0; }, used);
  d.n_used = used;
  return d;
}

}  // namespace tod2map::mapmaker
