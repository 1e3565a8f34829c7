#include "tod2map/mapmaker/pixel_system.hpp"

#include <algorithm>

#include "tod2map/core/error.hpp"
#include "tod2map/core/mpi.hpp"
#include "tod2map/mapmaker/kernels/baselines.hpp"

namespace tod2map::mapmaker {

namespace {

// Pixels with hits, and those of them masked. A free function: nvcc refuses device lambdas
// inside constructors.
std::pair<std::int64_t, std::int64_t> count_observed_masked(
    const Vector& hits, const Kokkos::View<std::uint8_t*, MemSpace>& mask) {
  std::int64_t observed = 0, masked = 0;
  Kokkos::parallel_reduce(
      "tod2map::mapmaker::count_masked", Kokkos::RangePolicy<ExecSpace>(0, hits.extent(0)),
      KOKKOS_LAMBDA(const std::int64_t p, std::int64_t& obs, std::int64_t& msk) {
        if (hits(p) > 0) {
          ++obs;
          if (mask(p)) ++msk;
        }
      },
      observed, masked);
  return {observed, masked};
}

// The distribution must list the local pixels in the local order: overlapped vectors pass to
// it as they are. Checked once, on the host, since a mismatch would silently scramble maps.
void check_local_order(const LocalData& data, const solvers::PixelDistribution& dist) {
  const auto pixels =
      Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), dist.overlapped_pixels());
  const bool same = std::int64_t(pixels.extent(0)) == std::int64_t(data.touched.size()) &&
                    std::equal(data.touched.begin(), data.touched.end(), pixels.data());
  collective(dist.comm(), [&] {
    if (!same)
      throw InvalidArgument("mapmaker::PixelSystem on rank " +
                            std::to_string(comm_rank(dist.comm())) +
                            ": the pixel distribution's overlapped pixels are not the local "
                            "pixels (LocalData::touched) in their order");
  });
}

}  // namespace

PixelSystem::PixelSystem(const LocalData& data,
                         std::shared_ptr<const solvers::PixelDistribution> dist,
                         std::int64_t min_hits, double min_rcond)
    : data_(data), dist_(std::move(dist)), nstokes_(data.nstokes) {
  check_local_order(data_, *dist_);
  const std::int64_t n_ovl = dist_->n_overlapped();
  const std::int64_t n_own = dist_->n_owned();
  const int nc = ncov();
  ExecSpace exec;
  Vector blocks_ovl("tod2map::blocks_overlapped", n_ovl * nc);
  Vector hits_ovl("tod2map::hits_overlapped", n_ovl);
  kernels::accumulate_blocks<ExecSpace>(exec, data_.views(), blocks_ovl, hits_ovl);
  blocks_ = Vector("tod2map::blocks", n_own * nc);
  hits_ = Vector("tod2map::hits", n_own);
  dist_->reduce(blocks_ovl, blocks_, nc);
  dist_->reduce(hits_ovl, hits_, 1);
  inverse_ = Vector("tod2map::inverse_blocks", n_own * nc);
  rcond_ = Vector("tod2map::rcond", n_own);
  mask_ = Kokkos::View<std::uint8_t*, MemSpace>("tod2map::mask", n_own);
  kernels::invert_blocks<ExecSpace>(exec, nstokes_, blocks_, hits_, min_hits, min_rcond, inverse_,
                                    rcond_, mask_);
  overlapped_map_ = Vector("tod2map::overlapped_map", n_ovl * nstokes_);

  const auto [observed, masked] = count_observed_masked(hits_, mask_);
  n_observed_ = allreduce_sum(dist_->comm(), observed);
  n_masked_ = allreduce_sum(dist_->comm(), masked);
}

std::vector<double> PixelSystem::host_values(const Vector& owned) const {
  const auto values = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), owned);
  return std::vector<double>(values.data(), values.data() + values.extent(0));
}

std::vector<std::int64_t> PixelSystem::stored_pixels() const {
  const auto pixels =
      Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), dist_->owned_pixels());
  return std::vector<std::int64_t>(pixels.data(), pixels.data() + pixels.extent(0));
}

std::int64_t PixelSystem::bytes() const {
  const std::int64_t doubles = static_cast<std::int64_t>(
      blocks_.span() + inverse_.span() + hits_.span() + rcond_.span() + overlapped_map_.span());
  return doubles * static_cast<std::int64_t>(sizeof(double)) +
         static_cast<std::int64_t>(mask_.span());
}

Vector PixelSystem::make_owned_map(const char* label) const {
  return Vector(std::string(label), dist_->n_owned() * nstokes_);
}

void PixelSystem::project(const Vector& tod, const Vector& owned_rhs) const {
  SampleSignal as_signal;
  as_signal.f64 = tod;  // a shallow view: the same kernels as for the samples' own signal
  project(as_signal, owned_rhs);
}

void PixelSystem::project(const SampleSignal& signal, const Vector& owned_rhs) const {
  Kokkos::deep_copy(overlapped_map_, 0.0);
  signal.visit([&](const auto& tod) {
    kernels::accumulate_rhs<ExecSpace>(ExecSpace(), data_.views(), tod, overlapped_map_);
  });
  dist_->reduce(overlapped_map_, owned_rhs, nstokes_);
}

void PixelSystem::project_unweighted(const Vector& weighted_tod, const Vector& owned_rhs) const {
  Kokkos::deep_copy(overlapped_map_, 0.0);
  kernels::accumulate_unweighted<ExecSpace>(ExecSpace(), data_.views(), weighted_tod,
                                            overlapped_map_);
  dist_->reduce(overlapped_map_, owned_rhs, nstokes_);
}

void PixelSystem::expand(const Vector& owned_map, const Vector& tod) const {
  dist_->broadcast(owned_map, overlapped_map_, nstokes_);
  kernels::gather<ExecSpace>(ExecSpace(), data_.views(), overlapped_map_, tod);
}

void PixelSystem::project_amplitudes(const Vector& a, const Vector& owned_rhs) const {
  Kokkos::deep_copy(overlapped_map_, 0.0);
  kernels::project_baselines<ExecSpace>(ExecSpace(), data_.views(), a, overlapped_map_);
  dist_->reduce(overlapped_map_, owned_rhs, nstokes_);
}

const Vector& PixelSystem::broadcast_map(const Vector& owned_map) const {
  dist_->broadcast(owned_map, overlapped_map_, nstokes_);
  return overlapped_map_;
}

void PixelSystem::drop_masked_samples(LocalData& data) const {
  Vector owned_mask("tod2map::owned_mask", dist_->n_owned());
  const auto mask = mask_;
  Kokkos::parallel_for(
      "tod2map::mapmaker::mask_to_double", Kokkos::RangePolicy<ExecSpace>(0, owned_mask.extent(0)),
      KOKKOS_LAMBDA(const std::int64_t p) { owned_mask(p) = mask(p) ? 1.0 : 0.0; });
  Vector overlapped_mask("tod2map::overlapped_mask", dist_->n_overlapped());
  dist_->broadcast(owned_mask, overlapped_mask, 1);
  kernels::drop_masked_samples<ExecSpace>(ExecSpace(), overlapped_mask, data.pixel);
}

void PixelSystem::solve_blocks(const Vector& owned_rhs, const Vector& owned_map,
                               double masked_value) const {
  solve_blocks(inverse_, owned_rhs, owned_map, masked_value);
}

void PixelSystem::solve_blocks(const Vector& inverse, const Vector& owned_rhs,
                               const Vector& owned_map, double masked_value) const {
  kernels::apply_inverse_blocks<ExecSpace>(ExecSpace(), nstokes_, inverse, mask_, owned_rhs,
                                           owned_map, masked_value);
}

Vector PixelSystem::reweighted_inverse(
    const Kokkos::View<const double*, MemSpace>& chunk_weights) const {
  if (chunk_weights.extent(0) != data_.chunk_weight.extent(0))
    throw InvalidArgument(
        "mapmaker::PixelSystem::reweighted_inverse: " + std::to_string(chunk_weights.extent(0)) +
        " weights for " + std::to_string(data_.chunk_weight.extent(0)) + " chunks");
  const std::int64_t n_ovl = dist_->n_overlapped();
  const std::int64_t n_own = dist_->n_owned();
  const int nc = ncov();
  ExecSpace exec;
  kernels::SampleViews<MemSpace> views = data_.views();
  views.chunk_weight = chunk_weights;
  Vector blocks_ovl("tod2map::reweighted_blocks_overlapped", n_ovl * nc);
  Vector hits_ovl("tod2map::reweighted_hits_overlapped", n_ovl);
  kernels::accumulate_blocks<ExecSpace>(exec, views, blocks_ovl, hits_ovl);
  Vector blocks("tod2map::reweighted_blocks", n_own * nc);
  Vector hits("tod2map::reweighted_hits", n_own);
  dist_->reduce(blocks_ovl, blocks, nc);
  dist_->reduce(hits_ovl, hits, 1);
  Vector inverse("tod2map::reweighted_inverse", n_own * nc);
  Vector rcond("tod2map::reweighted_rcond", n_own);
  Kokkos::View<std::uint8_t*, MemSpace> singular("tod2map::reweighted_singular", n_own);
  kernels::invert_blocks<ExecSpace>(exec, nstokes_, blocks, hits, 1, 0.0, inverse, rcond, singular);
  const auto mask = mask_;
  const auto white = inverse_;
  Kokkos::parallel_for(
      "tod2map::mapmaker::reweighted_inverse", Kokkos::RangePolicy<ExecSpace>(exec, 0, n_own),
      KOKKOS_LAMBDA(const std::int64_t p) {
        for (int k = 0; k < nc; ++k) {
          const std::int64_t i = p * nc + k;
          inverse(i) = mask(p) ? 0.0 : singular(p) ? white(i) : inverse(i);
        }
      });
  return inverse;
}

}  // namespace tod2map::mapmaker
