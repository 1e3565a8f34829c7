#include "tod2map/mapmaker/binned.hpp"

#include <cmath>

#include "tod2map/core/mpi.hpp"
#include "tod2map/core/resources.hpp"
#include "tod2map/io/map_output.hpp"

namespace tod2map::mapmaker {

namespace {
// x with masked pixels set to zero (so UNSEEN values never enter an operator).
Vector masked_copy(const PixelSystem& system, const Vector& x) {
  Vector out(Kokkos::view_alloc(Kokkos::WithoutInitializing, "tod2map::masked_copy"), x.extent(0));
  const auto mask = system.mask();
  const int ns = system.nstokes();
  Kokkos::parallel_for(
      "tod2map::mapmaker::masked_copy", Kokkos::RangePolicy<ExecSpace>(0, x.extent(0)),
      KOKKOS_LAMBDA(const std::int64_t i) { out(i) = mask(i / ns) ? 0.0 : x(i); });
  return out;
}
}  // namespace

double masked_dot(const PixelSystem& system, const Vector& a, const Vector& b) {
  const auto mask = system.mask();
  const int ns = system.nstokes();
  double local = 0;
  Kokkos::parallel_reduce(
      "tod2map::mapmaker::masked_dot", Kokkos::RangePolicy<ExecSpace>(0, a.extent(0)),
      KOKKOS_LAMBDA(const std::int64_t i, double& s) {
        if (!mask(i / ns)) s += a(i) * b(i);
      },
      local);
  return allreduce_sum(system.distribution().comm(), local);
}

void apply_pixel_matrix(const PixelSystem& system, const Vector& x, const Vector& y,
                        const Vector& tod_workspace) {
  system.expand(masked_copy(system, x), tod_workspace);
  system.project(tod_workspace, y);
  const auto mask = system.mask();
  const int ns = system.nstokes();
  Kokkos::parallel_for(
      "tod2map::mapmaker::zero_masked", Kokkos::RangePolicy<ExecSpace>(0, y.extent(0)),
      KOKKOS_LAMBDA(const std::int64_t i) {
        if (mask(i / ns)) y(i) = 0.0;
      });
}

solvers::CgResult binned_map(const PixelSystem& system, const SampleSignal& tod,
                             const Vector& owned_map) {
  Stopwatch clock;
  Vector rhs = system.make_owned_map("tod2map::rhs");
  system.project(tod, rhs);
  system.solve_blocks(rhs, owned_map, io::kUnseen);

  // One application of A to check the block solution: r = b - A m on unmasked pixels.
  Vector work(Kokkos::view_alloc(Kokkos::WithoutInitializing, "tod2map::tod_work"), tod.size());
  Vector am = system.make_owned_map("tod2map::A_m");
  apply_pixel_matrix(system, owned_map, am, work);
  Kokkos::parallel_for(
      "tod2map::mapmaker::residual", Kokkos::RangePolicy<ExecSpace>(0, am.extent(0)),
      KOKKOS_LAMBDA(const std::int64_t i) { am(i) = rhs(i) - am(i); });
  const double bnorm = std::sqrt(masked_dot(system, rhs, rhs));
  const double rnorm = std::sqrt(masked_dot(system, am, am));
  solvers::CgResult result;
  result.iterations = 1;
  result.converged = true;
  result.residuals = {1.0, bnorm > 0 ? rnorm / bnorm : 0.0};
  result.seconds = clock.seconds();
  return result;
}

}  // namespace tod2map::mapmaker
