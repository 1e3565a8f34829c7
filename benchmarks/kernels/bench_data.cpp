#include "bench_data.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "tod2map/pixelization/healpix.hpp"
#include "tod2map/sim/scan.hpp"

namespace tod2map::bench {
namespace {

std::int64_t env_int(const char* name, std::int64_t fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  return static_cast<std::int64_t>(std::strtod(v, nullptr));  // accepts 2e7
}

BenchData build() {
  constexpr int kDetectors = 4;
  constexpr double kRate = 50.0;         // Hz
  constexpr double kChunkSeconds = 1.0;  // destriping baseline
  constexpr double kPi = 3.14159265358979323846;
  BenchData d;
  d.nside = env_int("TOD2MAP_BENCH_NSIDE", 512);
  const std::int64_t per_det =
      std::max<std::int64_t>(env_int("TOD2MAP_BENCH_SAMPLES", 20000000) / kDetectors, 50);
  d.n_samples = per_det * kDetectors;

  // Boresight of every detector: the simulator's own satellite scan with the parameters of
  // benchmarks/configs/destripe_2e7.yaml (spin 60 s at 85 deg, precession 3000 s at 65 deg,
  // time from 0 at 50 Hz), so that the sky coverage, and with it the size of the local map the
  // kernels scatter into, is the run's (743k pixels at nside 512 for 2e7 samples).
  sim::SatelliteScan scan;
  scan.spin_period = 60.0;
  scan.spin_angle = 85 * kPi / 180;
  scan.precession_period = 3000.0;
  scan.precession_angle = 65 * kPi / 180;
  std::vector<std::int64_t> gpix(static_cast<size_t>(per_det));
  std::vector<double> psi(static_cast<size_t>(per_det));
  for (std::int64_t t = 0; t < per_det; ++t) {
    sim::Vec3 b, r;
    sim::satellite_axes(scan, static_cast<double>(t) / kRate, b, r);
    double theta = 0, phi = 0;
    sim::vectors_to_angles(b, r, theta, phi, psi[static_cast<size_t>(t)]);
    gpix[static_cast<size_t>(t)] = healpix::ang2pix(d.nside, healpix::Ordering::ring, theta, phi);
  }
  std::vector<std::int64_t> touched(gpix);
  std::sort(touched.begin(), touched.end());
  touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
  d.n_pixels = static_cast<std::int64_t>(touched.size());
  // Local indices in the NESTED order of the pixels, as LocalData numbers them for a RING map
  // (LocalData::touched): the kernels see the run's memory access pattern.
  std::sort(touched.begin(), touched.end(), [&](std::int64_t a, std::int64_t b) {
    return healpix::ring2nest(d.nside, a) < healpix::ring2nest(d.nside, b);
  });
  std::vector<std::int32_t> slot(static_cast<size_t>(healpix::nside2npix(d.nside)), -1);
  for (size_t k = 0; k < touched.size(); ++k)
    slot[static_cast<size_t>(touched[k])] = static_cast<std::int32_t>(k);

  const std::int64_t chunk = static_cast<std::int64_t>(kChunkSeconds * kRate);
  const std::int64_t chunks_per_det = (per_det + chunk - 1) / chunk;
  d.n_chunks = chunks_per_det * kDetectors;
  d.pixel = Kokkos::View<std::int32_t*, Mem>("bench::pixel", d.n_samples);
  d.wq = DView("bench::wq", d.n_samples);
  d.wu = DView("bench::wu", d.n_samples);
  d.tod = DView("bench::tod", d.n_samples);
  d.chunk_begin = Kokkos::View<std::int64_t*, Mem>("bench::chunk_begin", d.n_chunks + 1);
  d.chunk_weight = DView("bench::chunk_weight", d.n_chunks);
  auto pixel = Kokkos::create_mirror_view(d.pixel);
  auto wq = Kokkos::create_mirror_view(d.wq);
  auto wu = Kokkos::create_mirror_view(d.wu);
  auto tod = Kokkos::create_mirror_view(d.tod);
  auto begin = Kokkos::create_mirror_view(d.chunk_begin);
  auto weight = Kokkos::create_mirror_view(d.chunk_weight);
  std::uint64_t rng = 0x9e3779b97f4a7c15ull;  // splitmix-style, for a reproducible timeline
  for (int det = 0; det < kDetectors; ++det) {
    const double polang = det * kPi / 4;
    for (std::int64_t t = 0; t < per_det; ++t) {
      const std::int64_t i = det * per_det + t;
      pixel(i) = slot[static_cast<size_t>(gpix[static_cast<size_t>(t)])];
      wq(i) = std::cos(2 * (psi[static_cast<size_t>(t)] + polang));
      wu(i) = std::sin(2 * (psi[static_cast<size_t>(t)] + polang));
      rng = rng * 6364136223846793005ull + 1442695040888963407ull;
      tod(i) = static_cast<double>(rng >> 11) * 0x1.0p-53 - 0.5;
    }
    for (std::int64_t c = 0; c < chunks_per_det; ++c) {
      begin(det * chunks_per_det + c) = det * per_det + c * chunk;
      weight(det * chunks_per_det + c) = 1.0e4;
    }
  }
  begin(d.n_chunks) = d.n_samples;
  Kokkos::deep_copy(d.pixel, pixel);
  Kokkos::deep_copy(d.wq, wq);
  Kokkos::deep_copy(d.wu, wu);
  Kokkos::deep_copy(d.tod, tod);
  Kokkos::deep_copy(d.chunk_begin, begin);
  Kokkos::deep_copy(d.chunk_weight, weight);

  // Real inverse blocks and mask from the library kernels, so the destriping iteration applies
  // the same block solve and pixel mask as a run does.
  const auto s = d.views();
  DView blocks("bench::blocks", d.n_pixels * 6), hits("bench::hits", d.n_pixels);
  mapmaker::kernels::accumulate_blocks(Exec(), s, blocks, hits);
  d.inverse = DView("bench::inverse", d.n_pixels * 6);
  DView rcond("bench::rcond", d.n_pixels);
  d.mask = Kokkos::View<std::uint8_t*, Mem>("bench::mask", d.n_pixels);
  mapmaker::kernels::invert_blocks(Exec(), 3, blocks, hits, 3, 1.0e-3, d.inverse, rcond, d.mask);
  Kokkos::fence();
  std::fprintf(stderr, "bench data: %lld samples, %lld chunks, nside %lld, %lld local pixels\n",
               static_cast<long long>(d.n_samples), static_cast<long long>(d.n_chunks),
               static_cast<long long>(d.nside), static_cast<long long>(d.n_pixels));
  return d;
}

}  // namespace

mapmaker::kernels::SampleViews<Mem> BenchData::views() const {
  mapmaker::kernels::SampleViews<Mem> s;
  s.nstokes = 3;
  s.pixel = pixel;
  s.wq = wq;
  s.wu = wu;
  s.chunk_begin = chunk_begin;
  s.chunk_weight = chunk_weight;
  return s;
}

namespace {
// Held by pointer so that its views are freed by release_bench_data() before Kokkos::finalize.
std::unique_ptr<BenchData> g_data;
}  // namespace

const BenchData& bench_data() {
  if (!g_data) g_data = std::make_unique<BenchData>(build());
  return *g_data;
}

void release_bench_data() { g_data.reset(); }

}  // namespace tod2map::bench
