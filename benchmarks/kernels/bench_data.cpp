#include "bench_data.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <memory>
#include <string>

#include "tod2map/mapmaker/healpix.hpp"

namespace tod2map::bench {
namespace {

std::int64_t env_int(const char* name, std::int64_t fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  return static_cast<std::int64_t>(std::strtod(v, nullptr));  // accepts 2e7
}

BenchData build() {
  constexpr int kDetectors = 4;
  constexpr double kRate = 50.0;          // Hz
  constexpr double kChunkSeconds = 1.0;   // destriping baseline
  constexpr double kPi = 3.14159265358979323846;
  BenchData d;
  d.nside = env_int("TOD2MAP_BENCH_NSIDE", 512);
  const std::int64_t per_det = std::max<std::int64_t>(env_int("TOD2MAP_BENCH_SAMPLES", 20000000) / kDetectors, 50);
  d.n_samples = per_det * kDetectors;

  // Boresight of one detector: spin (60 s) at 85 deg from an axis that precesses (3000 s) at
  // 65 deg from the pole, so that consecutive samples move ~one nside-512 pixel apart, as in
  // the reference simulation; every detector sees the same sky with its own angle.
  std::vector<std::int64_t> gpix(static_cast<size_t>(per_det));
  std::vector<double> psi(static_cast<size_t>(per_det));
  const double ws = 2 * kPi / 60.0, wp = 2 * kPi / 3000.0;
  const double sa = std::sin(85 * kPi / 180), ca = std::cos(85 * kPi / 180);
  const double sp = std::sin(65 * kPi / 180), cp = std::cos(65 * kPi / 180);
  for (std::int64_t t = 0; t < per_det; ++t) {
    const double time = static_cast<double>(t) / kRate;
    const double cphi = std::cos(wp * time), sphi = std::sin(wp * time);
    const double ax[3] = {sp * cphi, sp * sphi, cp};            // spin axis
    const double e1[3] = {cp * cphi, cp * sphi, -sp};            // orthonormal to ax
    const double e2[3] = {-sphi, cphi, 0.0};
    const double cs = std::cos(ws * time), ss = std::sin(ws * time);
    double v[3];
    for (int k = 0; k < 3; ++k) v[k] = ca * ax[k] + sa * (cs * e1[k] + ss * e2[k]);
    const double theta = std::acos(std::clamp(v[2], -1.0, 1.0));
    const double phi = std::atan2(v[1], v[0]);
    gpix[static_cast<size_t>(t)] = healpix::ang2pix(d.nside, healpix::Ordering::ring, theta, phi);
    psi[static_cast<size_t>(t)] = ws * time;
  }
  std::vector<std::int64_t> touched(gpix);
  std::sort(touched.begin(), touched.end());
  touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
  d.n_pixels = static_cast<std::int64_t>(touched.size());

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
      const auto local = std::lower_bound(touched.begin(), touched.end(), gpix[static_cast<size_t>(t)]);
      pixel(i) = static_cast<std::int32_t>(local - touched.begin());
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
