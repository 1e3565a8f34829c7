#include "cross_level.hpp"

#include <algorithm>

#include "device_copies.hpp"
#include "tod2map/core/error.hpp"
#include "tod2map/core/mpi.hpp"

namespace tod2map::mapmaker::detail {

namespace {

void remap_pixels(const Kokkos::View<const std::int32_t*, MemSpace>& from,
                  const Kokkos::View<const std::int32_t*, MemSpace>& cross_of_local,
                  const Kokkos::View<std::int32_t*, MemSpace>& to) {
  Kokkos::parallel_for(
      "tod2map::mapmaker::cross_pixels", Kokkos::RangePolicy<ExecSpace>(0, from.extent(0)),
      KOKKOS_LAMBDA(const std::int64_t t) {
        const std::int32_t p = from(t);
        to(t) = p >= 0 ? cross_of_local(p) : -1;
      });
}

}  // namespace

std::unique_ptr<CrossLevel> make_cross_level(const LocalData& data,
                                             const solvers::PixelDistribution& map_distribution,
                                             std::int64_t nside_cross, std::int64_t min_hits,
                                             double min_rcond) {
  if (!(nside_cross >= 1 && nside_cross < data.nside && data.nside % nside_cross == 0))
    throw InvalidArgument("mapmaker.nside_cross: " + std::to_string(nside_cross) +
                          " must be a power of two below pixelization.nside (" +
                          std::to_string(data.nside) + ")");
  const std::vector<std::int64_t> parent = nest_parents(data, nside_cross);
  const std::vector<std::int64_t>& global = data.touched;
  auto cross = std::make_unique<CrossLevel>();
  LocalData& c = cross->data;
  c.touched = parent;
  std::sort(c.touched.begin(), c.touched.end());
  c.touched.erase(std::unique(c.touched.begin(), c.touched.end()), c.touched.end());
  std::vector<std::int32_t> cross_of_local(global.size());
  for (std::size_t k = 0; k < global.size(); ++k)
    cross_of_local[k] = static_cast<std::int32_t>(
        std::lower_bound(c.touched.begin(), c.touched.end(), parent[k]) - c.touched.begin());
  c.nstokes = data.nstokes;
  c.nside = nside_cross;
  c.ordering = healpix::Ordering::nest;
  c.spans = data.spans;
  c.pixel = Kokkos::View<std::int32_t*, MemSpace>(
      Kokkos::view_alloc("tod2map::cross_pixel", Kokkos::WithoutInitializing),
      data.pixel.extent(0));
  remap_pixels(data.pixel, upload(cross_of_local, "tod2map::cross_of_local"), c.pixel);
  c.wq = data.wq;
  c.wu = data.wu;
  c.signal = data.signal;
  c.chunk_begin = data.chunk_begin;
  c.chunk_weight = data.chunk_weight;
  c.n_samples = data.n_samples;
  c.n_used = data.n_used;
  c.n_flagged = data.n_flagged;
  c.n_nonfinite = data.n_nonfinite;
  c.n_bad_pointing = data.n_bad_pointing;
  c.n_bad_weight = data.n_bad_weight;
  auto dist = solvers::make_pixel_distribution(map_distribution.backend(), map_distribution.comm(),
                                               healpix::nside2npix(nside_cross), c.touched);
  cross->system = std::make_unique<PixelSystem>(c, std::move(dist), min_hits, min_rcond);
  return cross;
}

}  // namespace tod2map::mapmaker::detail
