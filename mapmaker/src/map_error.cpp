#include "tod2map/mapmaker/map_error.hpp"

#include <cmath>

#include "tod2map/core/mpi.hpp"
#include "tod2map/mapmaker/kernels/pixel_block.hpp"

namespace tod2map::mapmaker {

namespace {

// Per Stokes s: {sum d^2/v, sum d/v, sum 1/v, sum d}, then the pixel count: 13 values.
struct Sums {
  double v[13];
  KOKKOS_INLINE_FUNCTION Sums() {
    for (int i = 0; i < 13; ++i) v[i] = 0;
  }
  KOKKOS_INLINE_FUNCTION Sums& operator+=(const Sums& o) {
    for (int i = 0; i < 13; ++i) v[i] += o.v[i];
    return *this;
  }
};

}  // namespace
}  // namespace tod2map::mapmaker

namespace Kokkos {
template <>
struct reduction_identity<tod2map::mapmaker::Sums> {
  KOKKOS_FORCEINLINE_FUNCTION static tod2map::mapmaker::Sums sum() { return {}; }
};
}  // namespace Kokkos

namespace tod2map::mapmaker {

NoiseNormalizedRms noise_normalized_rms(const PixelSystem& system, const Vector& diff,
                                        bool remove_i_mean) {
  const int ns = system.nstokes(), nc = system.ncov();
  const auto inverse = system.inverse();
  const auto hits = system.hits();
  const auto mask = system.mask();
  Sums sums;
  Kokkos::parallel_reduce(
      "tod2map::mapmaker::noise_normalized_rms",
      Kokkos::RangePolicy<ExecSpace>(0, system.n_owned()),
      KOKKOS_LAMBDA(const std::int64_t p, Sums& acc) {
        if (mask(p) || !(hits(p) > 0)) return;
        int diag = 0;  // packed index of (s, s): 0, 3, 5 for IQU
        for (int s = 0; s < ns; ++s) {
          const double v = inverse(p * nc + diag);
          diag += ns - s;
          if (!(v > 0)) continue;
          const double d = diff(p * ns + s);
          acc.v[4 * s] += d * d / v;
          acc.v[4 * s + 1] += d / v;
          acc.v[4 * s + 2] += 1.0 / v;
          acc.v[4 * s + 3] += d;
        }
        acc.v[12] += 1;
      },
      Kokkos::Sum<Sums>(sums));
  TOD2MAP_CHECK_MPI(
      MPI_Allreduce(MPI_IN_PLACE, sums.v, 13, MPI_DOUBLE, MPI_SUM, system.distribution().comm()));
  NoiseNormalizedRms out;
  const double n = sums.v[12];
  out.pixels = static_cast<std::int64_t>(n);
  if (!(n > 0)) return out;
  double total = 0;
  for (int s = 0; s < ns; ++s) {
    const double* v = &sums.v[4 * s];
    // sum (d - mu)^2 / var = S2 - 2 mu S1 + mu^2 S0
    const double mu = (s == 0 && remove_i_mean) ? v[3] / n : 0.0;
    const double ss = std::max(0.0, v[0] - 2 * mu * v[1] + mu * mu * v[2]);
    out.stokes[s] = std::sqrt(ss / n);
    total += ss;
  }
  out.all = std::sqrt(total / (n * ns));
  return out;
}

}  // namespace tod2map::mapmaker
