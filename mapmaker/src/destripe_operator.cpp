#include "destripe_operator.hpp"

#include "tod2map/core/mpi.hpp"
#include "tod2map/mapmaker/kernels/baselines.hpp"

namespace tod2map::mapmaker::detail {

namespace {

// {sum of y, count} over the active entries. A free function: CUDA does not allow device
// lambdas inside member functions of some classes, nor inside lambdas.
void active_sums(const Vector& active, const Vector& y, double& sum, double& count) {
  Kokkos::parallel_reduce(
      "tod2map::mapmaker::gauge_sums", Kokkos::RangePolicy<ExecSpace>(0, y.extent(0)),
      KOKKOS_LAMBDA(const std::int64_t c, double& s, double& n) {
        if (active(c) > 0) {
          s += y(c);
          n += 1;
        }
      },
      sum, count);
}

void subtract_on_active(const Vector& active, const Vector& y, double value) {
  Kokkos::parallel_for(
      "tod2map::mapmaker::gauge_subtract", Kokkos::RangePolicy<ExecSpace>(0, y.extent(0)),
      KOKKOS_LAMBDA(const std::int64_t c) {
        if (active(c) > 0) y(c) -= value;
      });
}

}  // namespace

GaugeProjection::GaugeProjection(MPI_Comm comm, Vector active)
    : comm_(comm), active_(std::move(active)) {}

void GaugeProjection::apply(const Vector& y) const {
  double s[2] = {0, 0};
  active_sums(active_, y, s[0], s[1]);
  TOD2MAP_CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, s, 2, MPI_DOUBLE, MPI_SUM, comm_));
  if (s[1] > 0) subtract_on_active(active_, y, s[0] / s[1]);
}

DestripeOperator::DestripeOperator(const PixelSystem& system, const LocalData& data,
                                   const NoisePrior* prior, const GaugeProjection& gauge)
    : system_(system),
      data_(data),
      prior_(prior),
      gauge_(gauge),
      rhs_(system.make_owned_map("tod2map::destripe_rhs")),
      map_(system.make_owned_map("tod2map::destripe_map")) {}

void DestripeOperator::apply(const solvers::Vector& a, const solvers::Vector& y) const {
  system_.project_amplitudes(a, rhs_);
  system_.solve_blocks(rhs_, map_, 0.0);
  const Vector& overlapped = system_.broadcast_map(map_);
  kernels::baseline_residuals<ExecSpace>(ExecSpace(), data_.views(), overlapped, a, y);
  if (prior_) prior_->apply_add(a, y);
  gauge_.apply(y);
}

void fix_gauge(MPI_Comm comm, const Vector& w, const Vector& active, const Vector& a) {
  const std::int64_t nc = static_cast<std::int64_t>(a.extent(0));
  double wa = 0, ww = 0;
  Kokkos::parallel_reduce(
      "tod2map::mapmaker::baseline_mean", Kokkos::RangePolicy<ExecSpace>(0, nc),
      KOKKOS_LAMBDA(const std::int64_t c, double& s1, double& s2) {
        s1 += w(c) * a(c);
        s2 += w(c);
      },
      wa, ww);
  double sums[2] = {wa, ww};
  TOD2MAP_CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, sums, 2, MPI_DOUBLE, MPI_SUM, comm));
  if (sums[1] > 0) subtract_on_active(active, a, sums[0] / sums[1]);
}

}  // namespace tod2map::mapmaker::detail
